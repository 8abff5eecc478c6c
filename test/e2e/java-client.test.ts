/**
 * Apache Kafka's Java client (kafka-clients 4.4) against samsa, checked against kafkajs: the admin
 * client creates and describes a topic and lists its offsets; an idempotent acks=all producer's
 * records are read back by kafkajs where the Java client said they went; consumers in a group
 * read what kafkajs produced with both group protocols (classic, and KIP-848's consumer) and
 * commit it; a transactional producer commits one transaction and aborts another, and
 * read_committed consumers of both clients see exactly the committed one.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Admin, Kafka } from 'kafkajs'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaClient } from '../helpers/java-client.ts'

/** [partition, offset, value] as both clients report a record. */
type Seen = [number, number, string]

describe('the Java client', { skip: hasJavaClient ? false : JAVA_CLIENT_MISSING }, () => {
  let broker: TestBroker
  let kafka: Kafka
  let admin: Admin

  before(async () => {
    broker = await startBroker()
    kafka = kafkajsClient(broker.bootstrap)
    admin = kafka.admin()
    await admin.connect()
  })
  after(async () => {
    await admin?.disconnect()
    await broker?.close()
  })

  /** Every record of `topic` as a kafkajs consumer reads it (read_committed), sorted by partition and offset. */
  async function readWithKafkajs(topic: string, count: number): Promise<Seen[]> {
    const consumer = kafka.consumer({ groupId: uniqueName('kafkajs-reader'), maxWaitTimeInMs: 100 })
    const seen: Seen[] = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push([partition, Number(message.offset), String(message.value)])
        },
      })
      await waitUntil(`${count} records of ${topic}`, () => seen.length >= count)
    } finally {
      await consumer.disconnect()
    }
    return seen.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  }

  async function produceWithKafkajs(topic: string, count: number): Promise<string[]> {
    const producer = kafka.producer()
    await producer.connect()
    const values = Array.from({ length: count }, (_, i) => `kafkajs-${i}`)
    await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i % 5}`, value })) })
    await producer.disconnect()
    return values
  }

  test('admin: creates a topic, describes the cluster and the topic, lists end offsets', async () => {
    const topic = uniqueName('java-admin')
    const seen = await javaClient<{ clusterId: string; nodes: number[]; leaders: number[]; ends: number[] }>([
      'admin',
      broker.bootstrap,
      topic,
      '3',
    ])
    const kjs = await admin.describeCluster()
    assert.equal(seen.clusterId, kjs.clusterId)
    assert.deepEqual(
      seen.nodes,
      kjs.brokers.map((b) => b.nodeId),
    )
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    assert.deepEqual(
      seen.leaders,
      meta.topics[0]?.partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader),
    )
    assert.deepEqual(seen.ends, [0, 0, 0])
  })

  test('an idempotent acks=all producer: kafkajs reads each record where the Java client was told it went', async () => {
    const topic = uniqueName('java-produce')
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    const { acked } = await javaClient<{ acked: Seen[] }>(['produce', broker.bootstrap, topic, '300'])
    assert.equal(acked.length, 300)
    const sorted = [...acked].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    assert.deepEqual(await readWithKafkajs(topic, 300), sorted)
    // Keys k0..k7 hash to partitions; every partition got some.
    assert.equal(new Set(acked.map((a) => a[0])).size, 3)
  })

  for (const protocol of ['classic', 'consumer']) {
    test(`a consumer group (group.protocol=${protocol}) reads what kafkajs produced and commits it`, async () => {
      const topic = uniqueName(`java-${protocol}`)
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
      const values = await produceWithKafkajs(topic, 60)
      const groupId = uniqueName('java-group')
      const read = await javaClient<{ records: Seen[]; committed: number }>([
        'consume',
        broker.bootstrap,
        topic,
        groupId,
        '60',
        protocol,
      ])
      assert.deepEqual(read.records.map((r) => r[2]).sort(), [...values].sort())
      assert.equal(read.committed, 60)
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
      const total = offsets[0]?.partitions.reduce((n, p) => n + Number(p.offset), 0)
      assert.equal(total, 60, 'kafkajs sees the offsets the Java consumer committed')
    })
  }

  test('transactions: one committed, one aborted; read_committed consumers of both clients see the committed one', async () => {
    const topic = uniqueName('java-txn')
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    const id = uniqueName('java-txn-id')
    await javaClient(['txn', broker.bootstrap, topic, id, '10', 'commit'])
    await javaClient(['txn', broker.bootstrap, topic, id, '10', 'abort'])
    const committed = Array.from({ length: 10 }, (_, i) => `commit-${i}`).sort()
    const java = await javaClient<{ records: Seen[] }>([
      'consume',
      broker.bootstrap,
      topic,
      uniqueName('java-reader'),
      '10',
      'consumer',
    ])
    assert.deepEqual(java.records.map((r) => r[2]).sort(), committed)
    const kjs = await readWithKafkajs(topic, 10)
    assert.deepEqual(kjs.map((r) => r[2]).sort(), committed)
    // sendOffsetsToTransaction (TxnOffsetCommit, topics by id from v6): the offsets became the group's at commit.
    const [offsets] = await admin.fetchOffsets({ groupId: `${id}-group`, topics: [topic] })
    assert.equal(offsets?.partitions.find((p) => p.partition === 0)?.offset, '10')
  })
})

/**
 * @confluentinc/kafka-javascript (librdkafka in Node, with the KIP-848 consumer) against samsa,
 * through its KafkaJS-compatible API: keyed records with headers under every codec read back
 * byte-exact, consumer groups with the classic and the KIP-848 protocol, commits and where the
 * next member resumes, the admin client, the idempotent producer through a dropped response, and
 * transactions seen by read_committed and read_uncommitted consumers. Skipped with a message where
 * the package is not installed (it compiles librdkafka; CI installs it).
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import { decodeBatches } from '../../src/protocol/records/batch.ts'
import { COMPRESSION_NAMES, Compression } from '../../src/protocol/records/compression.ts'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { CONFLUENT_MISSING, confluentKafkaJS } from '../helpers/clients.ts'
import type { Client, Consumer, EachMessagePayload, Kafka, OutgoingMessage } from '../helpers/confluent-types.ts'

const confluent = confluentKafkaJS()

describe('@confluentinc/kafka-javascript against samsa', { skip: confluent ? false : CONFLUENT_MISSING }, () => {
  // node:test runs a suite's body only when it is not skipped, so the package is there.
  const { Kafka, logLevel, ConsumerGroupStates, ConsumerGroupTypes } = confluent!
  let broker: TestBroker
  let kafka: Kafka
  // librdkafka's threads keep the process alive: clients a test leaves open (a failing one too)
  // are disconnected after it, or the file would never end.
  const open: Client[] = []
  const tracked = <C extends Client>(client: C): C => {
    open.push(client)
    return client
  }

  before(async () => {
    // KIP-848 members heartbeat at the interval the broker gives them; 5 s would slow every rebalance.
    broker = await startBroker({ config: { 'group.consumer.heartbeat.interval.ms': '200' } })
    const client = new Kafka({
      kafkaJS: { brokers: broker.brokers, clientId: 'samsa-test', logLevel: logLevel.NOTHING },
    })
    kafka = {
      producer: (config) => tracked(client.producer(config)),
      consumer: (config) => tracked(client.consumer(config)),
      admin: () => tracked(client.admin()),
    }
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.disconnect()))
  })
  after(() => broker.close())

  /** Connects a consumer, subscribes it and records what it receives, in order. */
  async function start(consumer: Consumer, topic: string): Promise<EachMessagePayload[]> {
    const received: EachMessagePayload[] = []
    await consumer.connect()
    await consumer.subscribe({ topics: [topic] })
    await consumer.run({
      eachMessage: async (payload) => {
        received.push(payload)
      },
    })
    return received
  }

  async function untilReceived(received: EachMessagePayload[][], count: number): Promise<void> {
    await broker.waitFor(() => received.reduce((n, r) => n + r.length, 0) >= count, {
      message: `${count} records consumed`,
      timeoutMs: 20_000,
    })
  }

  async function send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages })
    await producer.disconnect()
  }

  /** The codec of every batch stored in a partition. */
  async function storedCodecs(topic: string, partition: number): Promise<number[]> {
    const read = await broker.core.storage.read(topic, partition, 0, 64 << 20, { minOneBatch: true })
    return (await decodeBatches(read.records)).map((b) => b.compression)
  }

  /** Binary values with every byte value, long enough that the codecs have something to do. */
  const binaryValue = (i: number): Buffer => Buffer.from(Array.from({ length: 300 + i }, (_, j) => (i + j) % 256))

  for (const codec of COMPRESSION_NAMES) {
    test(`produces keyed records with headers compressed with ${codec}, consumed back byte-exact`, async () => {
      const topic = uniqueName(`ckjs-${codec}`)
      await broker.createTopic({ name: topic, partitions: 1 })
      const messages = Array.from({ length: 30 }, (_, i) => ({
        key: i === 0 ? null : Buffer.from(`key-${i}`),
        value: i === 1 ? null : binaryValue(i),
        headers: { trace: `t${i}`, multi: [Buffer.from([0, 255, i]), 'second'] },
      }))
      const producer = kafka.producer({ 'compression.type': codec, 'linger.ms': 20 })
      await producer.connect()
      const [sent] = await producer.send({ topic, messages })
      await producer.disconnect()
      assert.equal(sent?.errorCode, 0)
      const codecs = await storedCodecs(topic, 0)
      assert.ok(codecs.length > 0)
      for (const stored of codecs) assert.equal(stored, Compression[codec.toUpperCase() as keyof typeof Compression])

      const received = await start(
        kafka.consumer({ kafkaJS: { groupId: uniqueName('ckjs'), fromBeginning: true } }),
        topic,
      )
      await untilReceived([received], messages.length)
      assert.deepEqual(
        received.map(({ message }) => ({
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers,
        })),
        messages.map((m, i) => ({
          offset: String(i),
          key: m.key,
          value: m.value,
          headers: { trace: Buffer.from(`t${i}`), multi: [Buffer.from([0, 255, i]), Buffer.from('second')] },
        })),
      )
    })
  }

  for (const protocol of ['classic', 'consumer'] as const) {
    const groupType = protocol === 'classic' ? ConsumerGroupTypes.CLASSIC : ConsumerGroupTypes.CONSUMER
    const member = (groupId: string, autoCommit = true): Consumer =>
      kafka.consumer({ 'group.protocol': protocol, kafkaJS: { groupId, fromBeginning: true, autoCommit } })

    test(`${protocol} group protocol: two members share the partitions, commit on leaving, a new member resumes`, async () => {
      const topic = uniqueName(`ckjs-${protocol}`)
      const groupId = uniqueName(`ckjs-${protocol}`)
      await broker.createTopic({ name: topic, partitions: 4 })
      const members = [member(groupId), member(groupId)]
      const received = await Promise.all(members.map((m) => start(m, topic)))
      await broker.waitForGroup(groupId, { members: 2 })
      // Each member owns two partitions once it has reconciled with the group's assignment.
      await broker.waitFor(() => members.every((m) => m.assignment().length === 2), {
        message: 'both members assigned two partitions',
      })
      const owned = members.map((m) => m.assignment().map((tp) => tp.partition))
      assert.deepEqual(owned.flat().sort(), [0, 1, 2, 3])
      const group = broker.group(groupId)
      assert.equal(group?.type, protocol)
      assert.deepEqual(group?.members.map((m) => m.assignment[topic]?.sort()).sort(), owned.map((p) => p.sort()).sort())

      await send(
        topic,
        Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      )
      await untilReceived(received, 40)
      for (const [i, records] of received.entries()) {
        for (const { partition } of records)
          assert.ok(owned[i]?.includes(partition), `member ${i} read partition ${partition}`)
      }
      const values = received.flat().map(({ message }) => message.value?.toString())
      assert.deepEqual(values.sort(), Array.from({ length: 40 }, (_, i) => `v${i}`).sort())

      const admin = kafka.admin()
      await admin.connect()
      const { groups } = await admin.describeGroups([groupId])
      assert.equal(groups[0]?.state, ConsumerGroupStates.STABLE)
      assert.equal(groups[0]?.type, groupType)
      assert.deepEqual(
        groups[0]?.members.flatMap((m) => m.assignment.topicPartitions.map((tp) => tp.partition)).sort(),
        [0, 1, 2, 3],
      )
      const listed = (await admin.listGroups()).groups.find((g) => g.groupId === groupId)
      assert.equal(listed?.type, groupType)

      await Promise.all(members.map((m) => m.disconnect()))
      await broker.waitForGroup(groupId, { state: 'Empty' })
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
      const highWatermarks = await admin.fetchTopicOffsets(topic)
      assert.deepEqual(
        committed[0]?.partitions.map((p) => [p.partition, p.offset]).sort(),
        highWatermarks.map((p) => [p.partition, p.high]).sort(),
      )
      await admin.disconnect()

      await send(
        topic,
        Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: `late${i}` })),
      )
      const next = member(groupId)
      const resumed = await start(next, topic)
      await untilReceived([resumed], 8)
      assert.deepEqual(
        resumed.map(({ message }) => message.value?.toString()).sort(),
        Array.from({ length: 8 }, (_, i) => `late${i}`).sort(),
      )
      await next.disconnect()
    })

    test(`${protocol} group protocol: commitOffsets decides where the next member starts`, async () => {
      const topic = uniqueName(`ckjs-commit-${protocol}`)
      const groupId = uniqueName(`ckjs-commit-${protocol}`)
      await broker.createTopic({
        name: topic,
        partitions: 1,
        records: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })),
      })
      const first = member(groupId, false)
      await untilReceived([await start(first, topic)], 10)
      // The promise resolves once the commit is queued (librdkafka's commitAsync), not when it is stored.
      await first.commitOffsets([{ topic, partition: 0, offset: '6' }])
      await broker.waitForCommittedOffset(groupId, topic, 0, 6)
      await first.disconnect()

      const second = member(groupId, false)
      const resumed = await start(second, topic)
      await untilReceived([resumed], 4)
      assert.deepEqual(
        resumed.map(({ message }) => message.offset),
        ['6', '7', '8', '9'],
      )
      await second.disconnect()
    })
  }

  test('admin: creates, describes and deletes topics, deletes records, finds offsets by time, deletes groups', async () => {
    const admin = kafka.admin()
    await admin.connect()
    const topic = uniqueName('ckjs-admin')
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    })
    assert.equal(created, true)
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false, 'already exists')
    assert.deepEqual(broker.core.topics.get(topic)?.configs, { 'retention.ms': '3600000' })
    assert.ok((await admin.listTopics()).includes(topic))
    const [metadata] = await admin.fetchTopicMetadata({ topics: [topic] })
    assert.deepEqual(
      metadata?.partitions.map((p) => p.partitionId),
      [0, 1, 2],
    )

    await broker.produce(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ partition: 1, value: `r${i}`, timestamp: 1_000 + i * 10 })),
    )
    const [deleted] = await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: '4' }] })
    assert.equal(deleted?.lowWatermark, 4)
    assert.equal((await broker.offsets(topic, 1)).logStartOffset, 4)
    const offsets = await admin.fetchTopicOffsets(topic)
    assert.deepEqual(
      offsets.find((o) => o.partition === 1),
      { partition: 1, offset: '10', high: '10', low: '4' },
    )
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 1_065)
    assert.equal(byTime.find((o) => o.partition === 1)?.offset, '7')

    const groupId = uniqueName('ckjs-admin')
    const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true } })
    await untilReceived([await start(consumer, topic)], 6)
    await consumer.disconnect()
    await broker.waitForGroup(groupId, { state: 'Empty' })
    const listed = (await admin.listGroups()).groups.find((g) => g.groupId === groupId)
    assert.equal(listed?.state, ConsumerGroupStates.EMPTY)
    // A group-level error would reject.
    assert.deepEqual(
      (await admin.deleteGroups([groupId])).map((r) => r.groupId),
      [groupId],
    )
    assert.equal(broker.group(groupId), undefined)
    assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === groupId))

    await admin.deleteTopics({ topics: [topic] })
    assert.equal(broker.core.topics.get(topic), undefined)
    assert.ok(!(await admin.listTopics()).includes(topic))
    await admin.disconnect()
  })

  test('idempotent producer: a response lost with its connection is retried, the records stored once', async () => {
    const topic = uniqueName('ckjs-idempotent')
    await broker.createTopic({ name: topic, partitions: 1 })
    const producer = kafka.producer({ kafkaJS: { idempotent: true } })
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'first' }] })
    const drop = broker.faults.dropResponse('Produce', { topic })
    const [retried] = await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
    await producer.disconnect()
    assert.equal(drop.hits, 1)
    assert.equal(retried?.baseOffset, '1', 'the retry is answered with the original offset')
    const stored = await broker.records(topic)
    assert.deepEqual(
      stored.map((r) => r.value?.toString()),
      ['first', 'a', 'b', 'c'],
    )
    assert.ok(stored.every((r) => r.producerId >= 0 && r.producerId === stored[0]?.producerId))
  })

  test('transactions: read_committed sees only committed records, read_uncommitted sees all', async () => {
    const topic = uniqueName('ckjs-txn')
    await broker.createTopic({ name: topic, partitions: 1 })
    const transactionalId = uniqueName('ckjs-txn')
    const producer = kafka.producer({ kafkaJS: { transactionalId, idempotent: true, maxInFlightRequests: 1 } })
    await producer.connect()
    const inTransaction = async (values: string[], outcome: 'commit' | 'abort'): Promise<void> => {
      const transaction = await producer.transaction()
      await transaction.send({ topic, messages: values.map((value) => ({ value })) })
      await transaction[outcome]()
    }
    await inTransaction(['c1', 'c2'], 'commit')
    await inTransaction(['a1', 'a2'], 'abort')
    await inTransaction(['c3'], 'commit')
    await producer.disconnect()
    assert.equal(broker.transaction(transactionalId)?.state, 'CompleteCommit')

    const readAs = async (isolation: string, count: number): Promise<string[]> => {
      const consumer = kafka.consumer({
        'isolation.level': isolation,
        kafkaJS: { groupId: uniqueName('ckjs-txn'), fromBeginning: true },
      })
      const received = await start(consumer, topic)
      await untilReceived([received], count)
      await consumer.disconnect()
      return received.map(({ message }) => message.value?.toString() ?? '')
    }
    // The aborted records lie before c3, so a consumer that has c3 has passed them.
    assert.deepEqual(await readAs('read_committed', 3), ['c1', 'c2', 'c3'])
    assert.deepEqual(await readAs('read_uncommitted', 5), ['c1', 'c2', 'a1', 'a2', 'c3'])
  })

  test('transactions: offsets sent in an aborted transaction are dropped, in a committed one kept', async () => {
    const source = uniqueName('ckjs-ctp-in')
    const sink = uniqueName('ckjs-ctp-out')
    await broker.createTopic({ name: source, partitions: 1, records: [{ value: 'x' }, { value: 'y' }] })
    await broker.createTopic({ name: sink, partitions: 1 })
    const groupId = uniqueName('ckjs-ctp')
    const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true, autoCommit: false } })
    await untilReceived([await start(consumer, source)], 2)
    const producer = kafka.producer({ kafkaJS: { transactionalId: uniqueName('ckjs-ctp'), idempotent: true } })
    await producer.connect()
    const processed = async (offset: string, outcome: 'commit' | 'abort'): Promise<void> => {
      const transaction = await producer.transaction()
      await transaction.send({ topic: sink, messages: [{ value: `upto-${offset}` }] })
      await transaction.sendOffsets({ consumer, topics: [{ topic: source, partitions: [{ partition: 0, offset }] }] })
      await transaction[outcome]()
    }
    await processed('1', 'abort')
    assert.equal(broker.committedOffset(groupId, source, 0), undefined)
    await processed('2', 'commit')
    assert.equal(broker.committedOffset(groupId, source, 0), 2)
    assert.deepEqual(
      (await broker.records(sink, { isolation: 'read_committed' })).map((r) => r.value?.toString()),
      ['upto-2'],
    )
    await producer.disconnect()
    await consumer.disconnect()
  })
})

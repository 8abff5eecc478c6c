/**
 * Replicas as clients see them on a three-broker view: a topic's replication factor is kept and
 * Metadata lists that many replicas per partition (not every broker); replica assignments named
 * in CreateTopics and CreatePartitions are kept and reported as given, the first replica leading.
 * Through kafkajs and @platformatic/kafka; kept across a restart of the local engine.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'
import { freshDirs } from '../storage/helpers.ts'

let broker: TestBroker
let pk: Platformatic
let dataDir: string
// Before freshDirs registers its own: after-hooks run in order, and the broker writes on close.
after(() => broker.close())
const freshDir = freshDirs('samsa-replicas-')

before(async () => {
  dataDir = await freshDir()
  broker = await startBroker({ brokers: 3, storage: 'local', dataDir })
  pk = await platformatic()
})

/** Replicas and leader of every partition, as kafkajs reads them from Metadata. */
async function kafkajsPlacement(b: TestBroker, topic: string): Promise<{ replicas: number[]; leader: number }[]> {
  const admin = kafkajsClient(b.bootstrap).admin()
  await admin.connect()
  try {
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    return [...(meta?.partitions ?? [])]
      .sort((a, b) => a.partitionId - b.partitionId)
      .map((p) => ({ replicas: p.replicas, leader: p.leader }))
  } finally {
    await admin.disconnect()
  }
}

test('kafkajs: a replication factor gives that many replicas; named assignments are reported as given', async () => {
  const admin = kafkajsClient(broker.bootstrap).admin()
  await admin.connect()
  const byFactor = uniqueName('rf2')
  const named = uniqueName('named')
  try {
    await admin.createTopics({
      topics: [
        { topic: byFactor, numPartitions: 3, replicationFactor: 2 },
        {
          topic: named,
          replicaAssignment: [
            { partition: 0, replicas: [3, 1] },
            { partition: 1, replicas: [2, 3] },
          ],
        },
      ],
    })
    await admin.createPartitions({ topicPartitions: [{ topic: named, count: 3, assignments: [[1, 2]] }] })
  } finally {
    await admin.disconnect()
  }
  const spread = await kafkajsPlacement(broker, byFactor)
  for (const p of spread) {
    assert.equal(p.replicas.length, 2)
    assert.equal(p.leader, p.replicas[0], 'the first replica leads')
  }
  assert.deepEqual(new Set(spread.map((p) => p.leader)).size, 3, 'leaders spread over the brokers')
  assert.deepEqual(await kafkajsPlacement(broker, named), [
    { replicas: [3, 1], leader: 3 },
    { replicas: [2, 3], leader: 2 },
    { replicas: [1, 2], leader: 1 },
  ])
})

test('@platformatic/kafka: default and named replicas, and a topic whose replicas are all down is led by a live broker', async () => {
  const admin = new pk.Admin({ clientId: 'replicas-pk', bootstrapBrokers: broker.brokers })
  const plain = uniqueName('pk-default')
  const named = uniqueName('pk-named')
  try {
    await admin.createTopics({ topics: [plain], partitions: 2 })
    await admin.createTopics({
      topics: [named],
      assignments: [
        { partition: 0, brokers: [2] },
        { partition: 1, brokers: [3] },
      ],
    })
    const meta = await admin.metadata({ topics: [plain, named] })
    const replicas = (t: string) => meta.topics.get(t)?.partitions.map((p) => p.replicas)
    assert.deepEqual(
      replicas(plain)?.map((r) => r.length),
      [1, 1],
      'default.replication.factor is 1',
    )
    assert.deepEqual(replicas(named), [[2], [3]])
  } finally {
    await admin.close()
  }
  await broker.setAvailable(false, { nodeId: 2 })
  try {
    const [first] = await kafkajsPlacement(broker, named)
    assert.deepEqual(first?.replicas, [2])
    assert.notEqual(first?.leader, 2, 'storage is shared: a live broker leads instead')
    assert.ok((first?.leader ?? -1) > 0)
  } finally {
    await broker.setAvailable(true, { nodeId: 2 })
  }
})

test('replication factors and assignments are kept across a restart', async () => {
  const topic = uniqueName('kept')
  const admin = kafkajsClient(broker.bootstrap).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [2, 1, 3] }] }] })
  await admin.disconnect()
  await broker.close()
  broker = await startBroker({ brokers: 3, storage: 'local', dataDir })
  assert.deepEqual(await kafkajsPlacement(broker, topic), [{ replicas: [2, 1, 3], leader: 2 }])
})

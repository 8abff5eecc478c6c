/**
 * samsa/testing's multi-broker view: `startBroker({ brokers: 3 })` answers as three brokers on
 * three ports. Real clients must route each partition to its leader and each group and
 * transaction to its coordinator; requests sent elsewhere are refused as Kafka refuses them; a
 * broker taken down hands its partitions to the others and gets them back when it returns.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { createFetchPartition, createFetchRequest, createFetchTopic } from '../../src/protocol/generated/fetch.ts'
import { createFindCoordinatorRequest } from '../../src/protocol/generated/find-coordinator.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createInitProducerIdRequest } from '../../src/protocol/generated/init-producer-id.ts'
import { createProduceRequest, createTopicProduceData } from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { ErrorCode, startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

let broker: TestBroker
let pk: Platformatic

before(async () => {
  broker = await startBroker({ brokers: 3 })
  pk = await platformatic()
})
after(() => broker.close())
afterEach(async () => {
  broker.faults.clear()
  await broker.setAvailable(true)
})

const FAST_RETRY = { initialRetryTime: 20, maxRetryTime: 200, retries: 10 }

function kafkajs() {
  return kafkajsClient(broker.bootstrap, { brokers: broker.brokers, retry: FAST_RETRY })
}

/** A group or transactional id that the first broker (the bootstrap) does not coordinate. */
function idCoordinatedElsewhere(prefix: string): string {
  for (;;) {
    const id = uniqueName(prefix)
    if (broker.coordinatorOf(id) !== broker.nodes[0]?.nodeId) return id
  }
}

interface Sighting {
  api: string
  nodeId: number
  clientId: string | null
  /** The request's transactional id, if it has one. */
  transactionalId?: string | null
  topic?: string
  partition?: number
}

/** Records which broker each request of these APIs reached, per partition it names. */
function watch(apis: string[]): Sighting[] {
  const seen: Sighting[] = []
  broker.faults.intercept('*', (req) => {
    if (!apis.includes(req.apiName)) return
    const { transactionalId } = req.request as { transactionalId?: string | null }
    const base = { api: req.apiName, nodeId: req.nodeId, clientId: req.clientId, transactionalId }
    if (req.targets.length === 0) seen.push(base)
    for (const t of req.targets) seen.push({ ...base, ...t })
  })
  return seen
}

function port(nodeId: number): number {
  const node = broker.nodes.find((n) => n.nodeId === nodeId)
  assert.ok(node, `no broker ${nodeId}`)
  return node.port
}

/** A node id other than the given one. */
function otherThan(nodeId: number): number {
  return broker.nodes.map((n) => n.nodeId).find((id) => id !== nodeId) as number
}

function stringProducer(clientId: string) {
  return new pk.Producer({
    clientId,
    bootstrapBrokers: broker.brokers,
    retries: 10,
    retryDelay: 20,
    serializers: pk.stringSerializers,
  })
}

const seeds = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))
const values = (records: { value: Buffer | null }[]): string[] => records.map((r) => String(r.value)).sort()

test('three brokers on three ports, node ids 1 to 3, partition leaders spread over all of them', async () => {
  assert.deepEqual(
    broker.nodes.map((n) => n.nodeId),
    [1, 2, 3],
  )
  assert.equal(new Set(broker.brokers).size, 3)
  assert.equal(broker.bootstrap, broker.brokers[0])
  const topic = uniqueName('mb-meta')
  await broker.createTopic({ name: topic, partitions: 3, replicationFactor: 3 })
  const admin = kafkajs().admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  assert.deepEqual(cluster.brokers.map((b) => b.nodeId).sort(), [1, 2, 3])
  assert.equal(cluster.controller, 1)
  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
  const leaders = meta?.partitions.map((p) => p.leader) ?? []
  assert.deepEqual([...leaders].sort(), [1, 2, 3])
  for (const p of meta?.partitions ?? []) {
    assert.equal(p.leader, broker.leaderOf(topic, p.partitionId))
    assert.deepEqual([...p.replicas].sort(), [1, 2, 3])
    assert.equal(p.replicas[0], p.leader)
  }
  await admin.disconnect()
})

test('kafkajs and @platformatic/kafka produce every partition to its leader', async () => {
  const topic = uniqueName('mb-produce')
  await broker.createTopic({ name: topic, partitions: 6 })
  const seen = watch(['Produce'])
  const producer = kafkajs().producer()
  await producer.connect()
  await producer.send({ topic, messages: seeds(30) })
  await producer.disconnect()
  const pkProducer = stringProducer('mb-pk')
  await pkProducer.send({ messages: seeds(30).map((m) => ({ topic, ...m })) })
  await pkProducer.close()
  assert.ok(seen.length >= 6)
  for (const s of seen) assert.equal(s.nodeId, broker.leaderOf(topic, s.partition ?? -1), JSON.stringify(s))
  assert.deepEqual([...new Set(seen.map((s) => s.nodeId))].sort(), [1, 2, 3])
  assert.equal((await broker.records(topic)).length, 60)
})

test('kafkajs consumer group: coordinator found on another broker, fetches from the leaders', async () => {
  const topic = uniqueName('mb-group-kjs')
  const groupId = idCoordinatedElsewhere('mb-group-kjs')
  await broker.createTopic({ name: topic, partitions: 3, records: seeds(30) })
  const seen = watch(['JoinGroup', 'SyncGroup', 'Heartbeat', 'OffsetCommit', 'OffsetFetch', 'Fetch'])
  const consumer = kafkajs().consumer({ groupId, heartbeatInterval: 100, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const consumed: string[] = []
  await consumer.run({ eachMessage: async ({ message }) => void consumed.push(String(message.value)) })
  for (const p of [0, 1, 2]) {
    await broker.waitForCommittedOffset(groupId, topic, p, (await broker.offsets(topic, p)).highWatermark)
  }
  await consumer.disconnect()
  assert.equal(consumed.length, 30)
  const coordinator = broker.coordinatorOf(groupId)
  const groupCalls = seen.filter((s) => s.api !== 'Fetch')
  assert.ok(groupCalls.some((s) => s.api === 'JoinGroup'))
  for (const s of groupCalls) assert.equal(s.nodeId, coordinator, JSON.stringify(s))
  for (const s of seen.filter((s) => s.api === 'Fetch' && s.topic === topic)) {
    assert.equal(s.nodeId, broker.leaderOf(topic, s.partition ?? -1), JSON.stringify(s))
  }
})

test('@platformatic/kafka consumers (classic and KIP-848) find their coordinator on another broker', async () => {
  for (const groupProtocol of ['classic', 'consumer'] as const) {
    const topic = uniqueName(`mb-group-pk-${groupProtocol}`)
    const groupId = idCoordinatedElsewhere(`mb-group-pk-${groupProtocol}`)
    await broker.createTopic({ name: topic, partitions: 3, records: seeds(12) })
    const seen = watch(['JoinGroup', 'SyncGroup', 'Heartbeat', 'ConsumerGroupHeartbeat', 'OffsetCommit'])
    const consumer = new pk.Consumer({
      clientId: 'mb-pk-member',
      bootstrapBrokers: broker.brokers,
      groupId,
      groupProtocol,
      heartbeatInterval: 100,
      maxWaitTime: 50,
      deserializers: pk.stringDeserializers,
    } as ConstructorParameters<Platformatic['Consumer']>[0])
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 50 })
    let count = 0
    stream.on('data', () => void count++)
    // The KIP-848 consumer's fetch loop may report the client closing under it.
    stream.on('error', () => {})
    for (const p of [0, 1, 2]) {
      await broker.waitForCommittedOffset(groupId, topic, p, (await broker.offsets(topic, p)).highWatermark)
    }
    assert.equal(count, 12)
    await stream.close()
    await consumer.close(true)
    broker.faults.clear()
    assert.ok(seen.length > 0)
    for (const s of seen) assert.equal(s.nodeId, broker.coordinatorOf(groupId), JSON.stringify(s))
  }
})

test('kafkajs transactions go to the transaction coordinator, sends to the leaders', async () => {
  const topic = uniqueName('mb-txn')
  const transactionalId = idCoordinatedElsewhere('mb-txn')
  await broker.createTopic({ name: topic, partitions: 3 })
  const seen = watch(['InitProducerId', 'AddPartitionsToTxn', 'EndTxn', 'Produce'])
  const producer = kafkajs().producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const txn = await producer.transaction()
  await txn.send({ topic, messages: seeds(9) })
  await txn.commit()
  await producer.disconnect()
  await broker.waitForTransaction(transactionalId, { state: 'CompleteCommit' })
  const coordinator = broker.coordinatorOf(transactionalId)
  // kafkajs asks any broker for a producer id at connect(), before it turns transactional.
  const routed = seen.filter((s) => s.api !== 'InitProducerId' || s.transactionalId !== null)
  assert.ok(routed.some((s) => s.api === 'InitProducerId'))
  for (const s of routed) {
    const expected = s.api === 'Produce' ? broker.leaderOf(topic, s.partition ?? -1) : coordinator
    assert.equal(s.nodeId, expected, JSON.stringify(s))
  }
  assert.ok(seen.some((s) => s.api === 'EndTxn'))
  assert.equal((await broker.records(topic, { isolation: 'read_committed' })).length, 9)
})

test('requests sent to the wrong broker: NOT_LEADER_OR_FOLLOWER naming the leader, NOT_COORDINATOR', async () => {
  const topic = uniqueName('mb-raw')
  await broker.createTopic({ name: topic, partitions: 1 })
  const leader = broker.leaderOf(topic, 0)
  const client = await RawClient.connect(port(otherThan(leader)))
  try {
    const records = encodeBatchSync({ records: [{ key: null, value: Buffer.from('x') }] })
    const produced = await client.send<{
      responses: { partitionResponses: { errorCode: number; currentLeader: { leaderId: number } }[] }[]
      nodeEndpoints: { nodeId: number; port: number }[]
    }>(
      ApiKey.Produce,
      11,
      createProduceRequest({
        acks: -1,
        topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 0, records }] })],
      }),
    )
    const p = produced.responses[0]?.partitionResponses[0]
    assert.equal(p?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.equal(p?.currentLeader.leaderId, leader)
    assert.deepEqual(
      produced.nodeEndpoints.map((e) => [e.nodeId, e.port]),
      [[leader, port(leader)]],
    )
    assert.equal((await broker.offsets(topic)).highWatermark, 0)

    const topicId = broker.core.topics.get(topic)?.topicId ?? ''
    const fetched = await client.send<{
      responses: { partitions: { errorCode: number; currentLeader: { leaderId: number } }[] }[]
      nodeEndpoints: { nodeId: number }[]
    }>(
      ApiKey.Fetch,
      16,
      createFetchRequest({
        topics: [createFetchTopic({ topicId, partitions: [createFetchPartition({ partitionMaxBytes: 1 << 20 })] })],
      }),
    )
    assert.equal(fetched.responses[0]?.partitions[0]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.equal(fetched.responses[0]?.partitions[0]?.currentLeader.leaderId, leader)
    assert.deepEqual(
      fetched.nodeEndpoints.map((e) => e.nodeId),
      [leader],
    )
  } finally {
    await client.close()
  }

  const groupId = uniqueName('mb-raw-group')
  const coordinator = broker.coordinatorOf(groupId)
  const wrong = await RawClient.connect(port(otherThan(coordinator)))
  try {
    const found = await wrong.send<{ coordinators: { nodeId: number; port: number }[] }>(
      ApiKey.FindCoordinator,
      4,
      createFindCoordinatorRequest({ keyType: 0, coordinatorKeys: [groupId] }),
    )
    assert.deepEqual(
      found.coordinators.map((c) => [c.nodeId, c.port]),
      [[coordinator, port(coordinator)]],
    )
    const joined = await wrong.send<{ errorCode: number }>(ApiKey.JoinGroup, 9, {
      groupId,
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
    })
    assert.equal(joined.errorCode, ErrorCode.NOT_COORDINATOR)
    const described = await wrong.send<{ groups: { errorCode: number }[] }>(ApiKey.DescribeGroups, 5, {
      groups: [groupId],
      includeAuthorizedOperations: false,
    })
    assert.equal(described.groups[0]?.errorCode, ErrorCode.NOT_COORDINATOR)
    const init = await wrong.send<{ errorCode: number }>(
      ApiKey.InitProducerId,
      4,
      createInitProducerIdRequest({ transactionalId: groupId, transactionTimeoutMs: 60000 }),
    )
    assert.equal(init.errorCode, ErrorCode.NOT_COORDINATOR)
    assert.equal(broker.group(groupId), undefined)
  } finally {
    await wrong.close()
  }
})

test('CreateTopics accepts a replication factor up to the broker count', async () => {
  const admin = kafkajs().admin()
  await admin.connect()
  const topic = uniqueName('mb-rf')
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }] }), true)
  await assert.rejects(
    admin.createTopics({ topics: [{ topic: uniqueName('mb-rf'), replicationFactor: 4 }] }),
    (err: { errors?: { type: string }[] }) => err.errors?.[0]?.type === 'INVALID_REPLICATION_FACTOR',
  )
  await admin.disconnect()
})

test('a broker taken down hands its partitions to the others; producers keep going and come back to it', async () => {
  const topic = uniqueName('mb-down')
  await broker.createTopic({ name: topic, partitions: 3 })
  const down = 2
  const led = [0, 1, 2].filter((p) => broker.leaderOf(topic, p) === down)
  assert.ok(led.length > 0)
  const seen = watch(['Produce'])
  const producer = kafkajs().producer()
  await producer.connect()
  const sendAll = async (round: string, pkProducer?: ReturnType<typeof stringProducer>) => {
    for (const partition of [0, 1, 2]) {
      await producer.send({ topic, messages: [{ partition, value: `kjs-${round}-${partition}` }] })
      await pkProducer?.send({ messages: [{ topic, partition, value: `pk-${round}-${partition}` }] })
    }
  }
  await sendAll('before')

  await broker.setAvailable(false, { nodeId: down })
  assert.equal(broker.faults.available, false)
  for (const p of led) assert.notEqual(broker.leaderOf(topic, p), down)
  // @platformatic/kafka refreshes metadata on Kafka errors, not on a refused connection (it would
  // retry the dead leader until its metadata expires): a producer started now, though its
  // bootstrap list names the dead broker, finds the new leaders.
  const pkProducer = stringProducer('mb-pk-down')
  const duringFrom = seen.length
  await sendAll('during', pkProducer)
  const movedSends = seen.slice(duringFrom).filter((s) => led.includes(s.partition ?? -1))
  assert.ok(movedSends.length >= 2 * led.length)
  for (const s of movedSends) assert.equal(s.nodeId, broker.leaderOf(topic, s.partition ?? -1), JSON.stringify(s))
  const admin = kafkajs().admin()
  await admin.connect()
  assert.deepEqual((await admin.describeCluster()).brokers.map((b) => b.nodeId).sort(), [1, 3])
  await admin.disconnect()

  await broker.setAvailable(true, { nodeId: down })
  for (const p of led) assert.equal(broker.leaderOf(topic, p), down)
  const afterFrom = seen.length
  // Both clients still take the stand-in for the leader: it answers NOT_LEADER_OR_FOLLOWER and
  // they move back after a metadata refresh.
  await sendAll('after', pkProducer)
  const backSends = seen.slice(afterFrom).filter((s) => s.nodeId === down)
  assert.ok(backSends.some((s) => s.clientId === 'mb-pk-down'))
  await producer.disconnect()
  await pkProducer.close()
  const expected = ['before', 'during', 'after'].flatMap((r) =>
    [0, 1, 2].flatMap((p) => (r === 'before' ? [`kjs-${r}-${p}`] : [`kjs-${r}-${p}`, `pk-${r}-${p}`])),
  )
  assert.deepEqual(values(await broker.records(topic)), expected.sort())
})

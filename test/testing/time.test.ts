/**
 * Time control: the broker's clock moves forward on demand, so a 30 s session timeout, a 60 s
 * transaction timeout, an hour of retention or a day of tombstone retention pass in milliseconds
 * of a test, with kafkajs and @platformatic/kafka.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, type TestContext, test } from 'node:test'
import { createFetchPartition, createFetchRequest, type FetchResponse } from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import type { LocalStorage } from '../../src/storage/local/local-storage.ts'
import { startBroker, type TestBroker, type TestBrokerOptions, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

const SESSION_TIMEOUT_MS = 30_000
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

let broker: TestBroker
let pk: Platformatic

before(async () => {
  broker = await startBroker()
  pk = await platformatic()
})
after(() => broker.close())
afterEach(() => broker.faults.clear())

/** Holds a group's heartbeats until released: the member looks frozen to the coordinator. */
function freezeHeartbeats(groupId: string): () => void {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  broker.faults.intercept('Heartbeat', () => gate.then(() => undefined), { groupId })
  return release
}

test('kafkajs: a frozen member is expired by advancing the clock past its session timeout', async () => {
  const topic = uniqueName('time-kjs')
  const groupId = uniqueName('time-kjs')
  await broker.createTopic({ name: topic, partitions: 2 })
  const consumer = kafkajsClient(broker.bootstrap).consumer({
    groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: 100,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  await consumer.subscribe({ topic })
  await consumer.run({ eachMessage: async () => {} })
  const before = await broker.waitForGroup(groupId, { members: 1 })
  const release = freezeHeartbeats(groupId)
  await broker.advanceTime(SESSION_TIMEOUT_MS - 1000)
  assert.equal(broker.group(groupId)?.members.length, 1, 'still within its session')
  await broker.advanceTime(2000)
  // Empty, then deleted: an empty group without offsets goes at the next retention check.
  await broker.waitForGroup(groupId, { state: 'Dead', timeoutMs: 2000 })
  assert.ok(before.generation >= 1)
  release()
  await consumer.disconnect()
})

test('@platformatic/kafka: a frozen member is expired by advancing the clock', async () => {
  const topic = uniqueName('time-pk')
  const groupId = uniqueName('time-pk')
  await broker.createTopic({ name: topic, partitions: 2 })
  const consumer = new pk.Consumer({
    clientId: 'pk-frozen',
    bootstrapBrokers: broker.brokers,
    groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: 100,
    maxWaitTime: 50,
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'latest' })
  stream.on('error', () => {})
  await broker.waitForGroup(groupId, { members: 1 })
  const release = freezeHeartbeats(groupId)
  await broker.advanceTime(SESSION_TIMEOUT_MS + 1)
  await broker.waitForGroup(groupId, { state: 'Dead', timeoutMs: 2000 })
  release()
  await stream.close()
  await consumer.close(true)
})

test('LogAppendTime records and commit times follow the broker clock', async () => {
  const topic = uniqueName('time-append')
  await broker.createTopic({ name: topic, configs: { 'message.timestamp.type': 'LogAppendTime' } })
  await broker.advanceTime(24 * 3600_000)
  const producer = kafkajsClient(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'tomorrow' }] })
  await producer.disconnect()
  const [record] = await broker.records(topic)
  assert.ok(record)
  assert.ok(broker.clock.offsetMs >= 24 * 3600_000)
  const age = broker.clock.now() - record.timestamp
  assert.ok(age >= 0 && age < 5000, `record is stamped ${age} ms before the broker's now`)
  assert.ok(record.timestamp - Date.now() > 23 * 3600_000)
})

test('kafkajs: an open transaction is aborted when the clock passes its timeout', async () => {
  const topic = uniqueName('time-txn')
  const transactionalId = uniqueName('time-txn')
  await broker.createTopic(topic)
  const producer = kafkajsClient(broker.bootstrap).producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 60_000,
  })
  await producer.connect()
  const txn = await producer.transaction()
  const init = await broker.waitForProducerId(transactionalId)
  assert.ok(init.producerId >= 0)
  await txn.send({ topic, messages: [{ value: 'never committed' }] })
  assert.equal(broker.transaction(transactionalId)?.state, 'Ongoing')
  assert.deepEqual(broker.transaction(transactionalId)?.partitions, { [topic]: [0] })
  await broker.advanceTime(60_001)
  const done = await broker.waitForTransaction(transactionalId)
  assert.equal(done.state, 'CompleteAbort')
  assert.deepEqual(await broker.records(topic, { isolation: 'read_committed' }), [])
  assert.equal((await broker.records(topic)).length, 1)
  await producer.disconnect()
})

/** A broker of its own (its clock starts at real time), closed after the test; `local` puts it on disk. */
async function ownBroker(t: TestContext, options: TestBrokerOptions & { local?: boolean } = {}): Promise<TestBroker> {
  const { local, ...rest } = options
  const dir = local ? await mkdtemp(join(tmpdir(), 'samsa-testclock-')) : undefined
  const b = await startBroker(dir ? { ...rest, storage: 'local', dataDir: dir } : rest)
  t.after(async () => {
    await b.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })
  return b
}

/** Log start offset of partition 0 as ListOffsets EARLIEST answers it, through kafkajs and @platformatic/kafka. */
async function earliestOffsets(b: TestBroker, topic: string): Promise<{ kafkajs: number; platformatic: number }> {
  const admin = kafkajsClient(b.bootstrap).admin()
  await admin.connect()
  const [kjs] = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  const pkAdmin = new pk.Admin({ clientId: 'pk-earliest', bootstrapBrokers: b.brokers })
  const [listed] = await pkAdmin.listOffsets({
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
  })
  await pkAdmin.close()
  return { kafkajs: Number(kjs?.low), platformatic: Number(listed?.partitions[0]?.offset) }
}

async function send(b: TestBroker, topic: string, messages: { key?: string; value: string | null }[]): Promise<void> {
  const producer = kafkajsClient(b.bootstrap).producer()
  await producer.connect()
  // One request per message: a batch each, so small segments roll between them.
  for (const m of messages) await producer.send({ topic, messages: [m] })
  await producer.disconnect()
}

const keyed = (records: { key: Buffer | null; value: Buffer | null }[]): string[] =>
  records.map((r) => `${r.key}=${r.value === null ? 'null' : r.value}`)

test('memory engine: records older than retention.ms go once the clock passes it; ListOffsets earliest moves', async (t) => {
  const b = await ownBroker(t, { topics: [{ name: 'events', configs: { 'retention.ms': String(HOUR) } }] })
  await send(b, 'events', [{ value: 'old 1' }, { value: 'old 2' }])
  await b.advanceTime(HOUR - MINUTE)
  assert.equal((await b.offsets('events')).logStartOffset, 0, 'still within retention.ms')
  await b.advanceTime(2 * MINUTE)
  await send(b, 'events', [{ value: 'new' }])
  assert.deepEqual(await b.offsets('events'), { logStartOffset: 2, highWatermark: 3, lastStableOffset: 3 })
  assert.deepEqual(
    (await b.records('events')).map((r) => String(r.value)),
    ['new'],
  )
  assert.deepEqual(await earliestOffsets(b, 'events'), { kafkajs: 2, platformatic: 2 })
})

test('local engine: advanceTime deletes the segments past retention.ms, keeps the younger ones', async (t) => {
  // Stamped by the broker: a record a client stamps after advanceTime looks older by the advance.
  const configs = { 'retention.ms': String(HOUR), 'segment.bytes': '100', 'message.timestamp.type': 'LogAppendTime' }
  const b = await ownBroker(t, { local: true, topics: [{ name: 'logs', configs }] })
  const storage = b.core.storage as LocalStorage
  await send(b, 'logs', [{ value: 'old 1' }, { value: 'old 2' }])
  await b.advanceTime(30 * MINUTE)
  await send(b, 'logs', [{ value: 'young' }])
  assert.deepEqual(storage.segmentBaseOffsets('logs', 0), [0, 1, 2], 'a segment per batch')
  await b.advanceTime(31 * MINUTE)
  assert.deepEqual(storage.segmentBaseOffsets('logs', 0), [2])
  assert.equal((await b.offsets('logs')).logStartOffset, 2)
  assert.deepEqual(
    (await b.records('logs')).map((r) => String(r.value)),
    ['young'],
  )
  assert.deepEqual(await earliestOffsets(b, 'logs'), { kafkajs: 2, platformatic: 2 })
})

test('local engine: compaction waits for min.compaction.lag.ms, tombstones go after delete.retention.ms', async (t) => {
  const configs = {
    'cleanup.policy': 'compact',
    'segment.bytes': '100',
    'min.cleanable.dirty.ratio': '0.01',
    'min.compaction.lag.ms': String(HOUR),
    'delete.retention.ms': String(DAY),
  }
  const b = await ownBroker(t, { local: true, topics: [{ name: 'table', configs }] })
  await send(b, 'table', [
    { key: 'k1', value: 'v1' },
    { key: 'k2', value: 'v2' },
    { key: 'k1', value: null },
    { key: 'k3', value: 'v3' },
  ])
  await b.advanceTime(HOUR - MINUTE)
  assert.deepEqual(keyed(await b.records('table')), ['k1=v1', 'k2=v2', 'k1=null', 'k3=v3'], 'younger than the lag')
  await b.advanceTime(2 * MINUTE)
  assert.deepEqual(keyed(await b.records('table')), ['k2=v2', 'k1=null', 'k3=v3'], 'the tombstone stays a while')
  await b.advanceTime(DAY - HOUR)
  assert.deepEqual(keyed(await b.records('table')), ['k2=v2', 'k1=null', 'k3=v3'])
  await b.advanceTime(HOUR)
  assert.deepEqual(keyed(await b.records('table')), ['k2=v2', 'k3=v3'])
  // A consumer reading the topic from the start sees the compacted table.
  const consumer = new pk.Consumer({
    clientId: 'pk-compacted',
    groupId: uniqueName('compacted'),
    bootstrapBrokers: b.brokers,
    maxWaitTime: 50,
    deserializers: pk.stringDeserializers,
  })
  const stream = await consumer.consume({ topics: ['table'], mode: 'earliest' })
  const seen: string[] = []
  for await (const message of stream) {
    seen.push(`${message.key}=${message.value}`)
    if (message.offset === 3n) break
  }
  await stream.close()
  await consumer.close(true)
  assert.deepEqual(seen, ['k2=v2', 'k3=v3'])
})

test('a long poll ends when the clock passes its max_wait_ms, and still on real time', async () => {
  const topic = uniqueName('time-poll')
  await broker.createTopic(topic)
  const client = await RawClient.connect(broker.port)
  const fetch = (maxWaitMs: number) =>
    client.send<FetchResponse>(
      ApiKey.Fetch,
      11,
      createFetchRequest({
        maxWaitMs,
        minBytes: 1,
        topics: [
          { topic, topicId: '', partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 1 << 20 })] },
        ],
      }),
    )
  let arrived = 0
  broker.faults.intercept('Fetch', () => {
    arrived++
  })
  const started = Date.now()
  const polling = fetch(HOUR)
  await broker.waitFor(() => arrived === 1)
  await broker.advanceTime(HOUR)
  const res = await polling
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`)
  assert.equal(res.responses[0]?.partitions[0]?.errorCode, 0)
  const realStart = Date.now()
  await fetch(200)
  assert.ok(Date.now() - realStart >= 190, 'max_wait_ms also runs on real time')
  await client.close()
})

test('kafkajs: a consumer waiting in a long poll is answered when the clock passes max_wait_ms', async () => {
  const topic = uniqueName('time-poll-kjs')
  await broker.createTopic(topic)
  let polling = 0
  let answered = 0
  broker.faults.intercept('Fetch', async (req) => {
    polling++
    const response = await req.next()
    answered++
    return response
  })
  const consumer = kafkajsClient(broker.bootstrap).consumer({
    groupId: uniqueName('time-poll-kjs'),
    maxWaitTimeInMs: 20_000,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ eachMessage: async () => {} })
  await broker.waitFor(() => polling > 0, { message: 'a fetch' })
  assert.equal(answered, 0, 'the fetch waits for data')
  await broker.advanceTime(20_000)
  await broker.waitFor(() => answered > 0, { message: 'the fetch to be answered', timeoutMs: 5000 })
  await consumer.disconnect()
})

/**
 * Time control: the broker's clock moves forward on demand, so a 30 s session timeout or a 60 s
 * transaction timeout expires in milliseconds of a test, with kafkajs and @platformatic/kafka.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'

const SESSION_TIMEOUT_MS = 30_000

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

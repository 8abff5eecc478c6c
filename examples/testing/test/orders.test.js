import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { lastHeader, startBroker, uniqueName } from 'samsa/testing'
import { publishOrder, startTotals } from '../src/orders.js'

let broker
let kafka

before(async () => {
  // One in-memory broker for the file: a free port, ready in milliseconds.
  broker = await startBroker()
  kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20 } })
})
afterEach(() => broker.faults.clear())
after(() => broker.close())

test('orders are published keyed by customer, with their id in a header', async () => {
  const topic = uniqueName('orders')
  await broker.createTopic({ name: topic, partitions: 3 })
  const producer = kafka.producer()
  await producer.connect()
  await publishOrder(producer, topic, { id: 'o-1', customer: 'ada', amount: 30 })
  await publishOrder(producer, topic, { id: 'o-2', customer: 'ada', amount: 12 })
  await producer.disconnect()

  // Inspect what was written, without writing a consumer. Headers are [key, value] pairs in the
  // order they were sent (a key may repeat); lastHeader(record, key) reads one by name.
  const records = await broker.records(topic)
  assert.deepEqual(records[0].headers, [['order-id', Buffer.from('o-1')]])
  assert.deepEqual(
    records.map((r) => [r.key.toString(), lastHeader(r, 'order-id').toString()]),
    [
      ['ada', 'o-1'],
      ['ada', 'o-2'],
    ],
  )
  assert.equal(records[0].partition, records[1].partition)
})

test('totals are computed from seeded orders; the group is awaited, not slept on', async () => {
  const topic = uniqueName('orders')
  const groupId = uniqueName('totals')
  await broker.createTopic({
    name: topic,
    partitions: 2,
    records: [
      { key: 'ada', value: JSON.stringify({ id: 'o-1', customer: 'ada', amount: 30 }) },
      { key: 'bob', value: JSON.stringify({ id: 'o-2', customer: 'bob', amount: 5 }) },
      { key: 'ada', value: JSON.stringify({ id: 'o-3', customer: 'ada', amount: 12 }) },
    ],
  })
  const app = await startTotals(kafka, { topic, groupId })
  await broker.waitForGroup(groupId, { state: 'Stable', members: 1 })
  for (const partition of [0, 1]) {
    const { highWatermark } = await broker.offsets(topic, partition)
    await broker.waitForCommittedOffset(groupId, topic, partition, highWatermark)
  }
  assert.deepEqual(Object.fromEntries(app.totals), { ada: 42, bob: 5 })
  await app.stop()
})

test('publishing survives a broker that briefly refuses (NOT_LEADER_OR_FOLLOWER)', async () => {
  const topic = uniqueName('orders')
  await broker.createTopic(topic)
  const fault = broker.faults.failNext('Produce', 'NOT_LEADER_OR_FOLLOWER', { topic, count: 2 })
  const producer = kafka.producer({ idempotent: true })
  await producer.connect()
  await publishOrder(producer, topic, { id: 'o-1', customer: 'ada', amount: 1 })
  await producer.disconnect()
  assert.equal(fault.hits, 2)
  assert.equal((await broker.records(topic)).length, 1)
})

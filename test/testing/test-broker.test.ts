/**
 * samsa/testing's startBroker: topics created up front with their records (read back by kafkajs
 * and @platformatic/kafka), auto-creation off, inspection, reset between tests, close twice and
 * `await using`.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { lastHeader, startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'

let broker: TestBroker
let pk: Platformatic

before(async () => {
  broker = await startBroker({
    autoCreateTopics: false,
    topics: [
      'plain',
      {
        name: 'orders',
        partitions: 3,
        configs: { 'cleanup.policy': 'compact' },
        records: [
          {
            key: 'alice',
            value: 'order-1',
            headers: [
              ['source', 'seed'],
              ['trace', null],
              ['source', 'retry'],
            ],
          },
          { key: 'bob', value: 'order-2' },
          { key: 'alice', value: 'order-3', timestamp: 1_700_000_000_000 },
          { value: 'no key', partition: 2 },
        ],
      },
    ],
  })
  pk = await platformatic()
})
after(() => broker.close())

test('seeded records are decoded with keys, headers, timestamps and offsets', async () => {
  const records = await broker.records('orders')
  assert.equal(records.length, 4)
  const alice = records.filter((r) => String(r.key) === 'alice')
  assert.deepEqual(
    alice.map((r) => String(r.value)),
    ['order-1', 'order-3'],
  )
  assert.ok((alice[1]?.offset ?? -1) > (alice[0]?.offset ?? -1))
  assert.equal(alice[0]?.partition, alice[1]?.partition, 'one key, one partition')
  assert.deepEqual(alice[0]?.headers, [
    ['source', Buffer.from('seed')],
    ['trace', null],
    ['source', Buffer.from('retry')],
  ])
  assert.equal(String(alice[0] && lastHeader(alice[0], 'source')), 'retry')
  assert.equal(alice[0] && lastHeader(alice[0], 'trace'), null)
  assert.equal(alice[0] && lastHeader(alice[0], 'none'), undefined)
  assert.deepEqual(alice[1]?.headers, [])
  assert.equal(alice[1]?.timestamp, 1_700_000_000_000)
  assert.ok(records.some((r) => r.partition === 2 && r.key === null && String(r.value) === 'no key'))
  assert.equal(broker.core.topics.get('orders')?.configs['cleanup.policy'], 'compact')
})

test('seeded keys land where kafkajs would put them, and both clients read them', async () => {
  const expected = (await broker.records('orders')).map((r) => `${r.partition}:${String(r.value)}`).sort()
  const kafka = kafkajsClient(broker.bootstrap)
  const consumer = kafka.consumer({ groupId: uniqueName('seed-kjs'), maxWaitTimeInMs: 50 })
  const got: string[] = []
  await consumer.connect()
  await consumer.subscribe({ topic: 'orders', fromBeginning: true })
  await consumer.run({ eachMessage: async ({ partition, message }) => void got.push(`${partition}:${message.value}`) })
  await broker.waitFor(() => got.length >= 4, { message: 'kafkajs to read the seeded records' })
  await consumer.disconnect()
  assert.deepEqual(got.sort(), expected)

  // A kafkajs producer sends 'alice' to the partition the seed chose.
  const producer = kafka.producer()
  await producer.connect()
  const [meta] = await producer.send({ topic: 'orders', messages: [{ key: 'alice', value: 'order-4' }] })
  await producer.disconnect()
  const aliceSeed = (await broker.records('orders')).find((r) => String(r.key) === 'alice')
  assert.equal(meta?.partition, aliceSeed?.partition)

  const pkConsumer = new pk.Consumer({
    clientId: 'pk-seed',
    bootstrapBrokers: broker.brokers,
    groupId: uniqueName('seed-pk'),
    maxWaitTime: 50,
    deserializers: pk.stringDeserializers,
  })
  const stream = await pkConsumer.consume({ topics: ['orders'], mode: 'earliest' })
  const pkGot: string[] = []
  stream.on('data', (m: { partition: number; value: unknown }) => void pkGot.push(`${m.partition}:${m.value}`))
  await broker.waitFor(() => pkGot.length >= 5, { message: '@platformatic/kafka to read five records' })
  await stream.close()
  await pkConsumer.close(true)
  assert.ok(pkGot.includes(`${aliceSeed?.partition}:order-4`))
})

test('auto-creation off: unknown topics stay unknown', async () => {
  const producer = kafkajsClient(broker.bootstrap, { retry: { retries: 1, initialRetryTime: 10 } }).producer()
  await producer.connect()
  await assert.rejects(producer.send({ topic: 'not-there', messages: [{ value: 'x' }] }))
  await producer.disconnect()
  assert.equal(broker.core.topics.get('not-there'), undefined)
})

test('createTopic and produce validate their input with readable errors', async () => {
  await assert.rejects(broker.createTopic('plain'), /topic "plain" already exists/)
  await assert.rejects(broker.createTopic({ name: 'x', configs: { 'retention.mss': '1' } }), /unknown topic config/)
  await assert.rejects(broker.createTopic('bad name!'), /illegal/)
  await assert.rejects(broker.produce('nope', { value: 'x' }), /topic "nope" does not exist/)
  await assert.rejects(broker.produce('plain', { value: 'x', partition: 3 }), /no partition 3/)
})

test('reset() brings back the start topics and drops everything else', async () => {
  const extra = uniqueName('extra')
  await broker.createTopic(extra)
  await broker.produce('plain', [{ value: 'a' }, { value: 'b' }])
  await broker.core.groups.commitOffsets(
    'gone-group',
    { generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, offsets: [] },
    8,
  )
  broker.faults.failNext('Produce', 'NOT_LEADER_OR_FOLLOWER', { count: 10 })
  await broker.reset()
  assert.equal(broker.core.topics.get(extra), undefined)
  assert.deepEqual(await broker.records('plain'), [])
  assert.equal((await broker.records('orders')).length, 4)
  assert.equal(broker.group('gone-group'), undefined)
  // The fault is gone too.
  const producer = kafkajsClient(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({ topic: 'plain', messages: [{ value: 'after reset' }] })
  await producer.disconnect()
  assert.equal((await broker.records('plain')).length, 1)
})

test('close() twice and await using', async () => {
  const a = await startBroker()
  await a.close()
  await a.close()
  let port: number
  {
    await using b = await startBroker({ topics: ['t'] })
    port = b.port
    assert.equal((await b.offsets('t')).highWatermark, 0)
  }
  const c = await startBroker({ port })
  await c.close()
})

test('uniqueName gives distinct valid names', () => {
  const names = new Set(Array.from({ length: 100 }, () => uniqueName('orders')))
  assert.equal(names.size, 100)
  for (const n of names) assert.match(n, /^orders-\d+-[0-9a-f]{8}$/)
})

test('produce() takes headers as ordered pairs or an object; records() keeps repeated keys, as kafkajs sent them', async () => {
  const topic = uniqueName('headers')
  await broker.createTopic(topic)
  await broker.produce(topic, [
    {
      value: 'pairs',
      headers: [
        ['x', '1'],
        ['x', Buffer.from('2')],
      ],
    },
    { value: 'object', headers: { a: 'b' } },
  ])
  const producer = kafkajsClient(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'kafkajs', headers: { x: ['3', '4'], y: '5' } }] })
  await producer.disconnect()
  const read = (await broker.records(topic)).map((r) => [String(r.value), r.headers.map(([k, v]) => `${k}=${v}`)])
  assert.deepEqual(read, [
    ['pairs', ['x=1', 'x=2']],
    ['object', ['a=b']],
    ['kafkajs', ['x=3', 'x=4', 'y=5']],
  ])
})

/**
 * samsa/testing fault injection through real clients: error answers that are not applied,
 * responses dropped after the write (idempotent retries must not duplicate), delays, a broker
 * playing dead and coming back, and interceptors that answer or rewrite requests.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { closeConnection, ErrorCode, startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'

let broker: TestBroker
let pk: Platformatic

before(async () => {
  broker = await startBroker()
  pk = await platformatic()
})
after(() => broker.close())
afterEach(() => broker.faults.clear())

function kafkajs(clientId = 'samsa-test') {
  return kafkajsClient(broker.bootstrap, { clientId, retry: { initialRetryTime: 20, maxRetryTime: 200, retries: 8 } })
}

function pkProducer(clientId = 'pk-producer') {
  return new pk.Producer({
    clientId,
    bootstrapBrokers: broker.brokers,
    idempotent: true,
    retries: 8,
    retryDelay: 20,
    serializers: pk.stringSerializers,
  })
}

const values = (records: { value: Buffer | null }[]): string[] => records.map((r) => String(r.value))

test('kafkajs idempotent producer retries through NOT_LEADER_OR_FOLLOWER and a dropped response, no duplicates', async () => {
  const topic = uniqueName('faults-kjs')
  await broker.createTopic({ name: topic, partitions: 1 })
  const producer = kafkajs().producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const notLeader = broker.faults.failNext('Produce', 'NOT_LEADER_OR_FOLLOWER', { topic })
  await producer.send({ topic, messages: [{ key: 'k', value: 'one' }] })
  assert.equal(notLeader.hits, 1)
  const dropped = broker.faults.dropResponse('Produce', { topic })
  await producer.send({ topic, messages: [{ key: 'k', value: 'two' }] })
  assert.equal(dropped.hits, 1)
  await producer.send({ topic, messages: [{ key: 'k', value: 'three' }] })
  await producer.disconnect()
  assert.deepEqual(values(await broker.records(topic)), ['one', 'two', 'three'])
})

test('@platformatic/kafka idempotent producer retries through an error and a dropped response, no duplicates', async () => {
  const topic = uniqueName('faults-pk')
  await broker.createTopic({ name: topic, partitions: 1 })
  const producer = pkProducer()
  const notLeader = broker.faults.failNext('Produce', ErrorCode.NOT_LEADER_OR_FOLLOWER, { topic, partition: 0 })
  await producer.send({ messages: [{ topic, key: 'k', value: 'one' }] })
  assert.equal(notLeader.hits, 1)
  const dropped = broker.faults.dropResponse('Produce', { topic })
  await producer.send({ messages: [{ topic, key: 'k', value: 'two' }] })
  assert.equal(dropped.hits, 1)
  await producer.close()
  assert.deepEqual(values(await broker.records(topic)), ['one', 'two'])
})

test('an error answer is not applied, and rules match by client id', async () => {
  const topic = uniqueName('faults-client')
  await broker.createTopic(topic)
  // Only the 'other' client is refused; this producer's requests go through untouched.
  const rule = broker.faults.failNext('Produce', 'TOPIC_AUTHORIZATION_FAILED', { clientId: 'other', count: 5 })
  const producer = kafkajs('mine').producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'a' }] })
  await producer.disconnect()
  assert.equal(rule.hits, 0)
  assert.equal(rule.remaining, 5)
  const refused = kafkajs('other').producer()
  await refused.connect()
  await assert.rejects(refused.send({ topic, messages: [{ value: 'b' }] }), /authoriz/i)
  await refused.disconnect()
  rule.remove()
  assert.deepEqual(values(await broker.records(topic)), ['a'])
})

test('delayed responses make a client time out (kafkajs and @platformatic/kafka)', async () => {
  const topic = uniqueName('faults-delay')
  await broker.createTopic(topic)
  const slow = broker.faults.delay('Produce', 1500, { topic })
  const client = kafkajsClient(broker.bootstrap, { requestTimeout: 300, retry: { retries: 0 } })
  const producer = client.producer()
  await producer.connect()
  await assert.rejects(producer.send({ topic, messages: [{ value: 'late' }] }), /timed out/i)
  await producer.disconnect()
  const pkp = new pk.Producer({
    clientId: 'pk-slow',
    bootstrapBrokers: broker.brokers,
    requestTimeout: 300,
    retries: 0,
    serializers: pk.stringSerializers,
  })
  await assert.rejects(pkp.send({ messages: [{ topic, value: 'late too' }] }))
  await pkp.close().catch(() => {})
  slow.remove()
  assert.ok(slow.hits >= 2)
  // Delayed, not refused: both writes were applied.
  await broker.waitForOffset(topic, 0, 2)
})

test('an unavailable broker closes connections until it comes back', async () => {
  const topic = uniqueName('faults-down')
  await broker.createTopic(topic)
  const producer = kafkajs().producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'before' }] })
  await broker.setAvailable(false)
  const sending = producer.send({ topic, messages: [{ value: 'during' }] })
  const pkp = pkProducer('pk-down')
  const pkSending = pkp.send({ messages: [{ topic, value: 'pk during' }] })
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal((await broker.offsets(topic)).highWatermark, 1)
  await broker.setAvailable(true)
  await sending
  await pkSending
  await producer.disconnect()
  await pkp.close()
  assert.deepEqual(values(await broker.records(topic)).sort(), ['before', 'during', 'pk during'])
})

test('an interceptor can rewrite a request, answer it, or close the connection', async () => {
  const topic = uniqueName('faults-intercept')
  await broker.createTopic(topic)
  const seen: string[] = []
  const watch = broker.faults.intercept('*', (req) => {
    seen.push(req.apiName)
  })
  // Rewrite: send the produced data to the request's topic but only after changing acks.
  const rewrite = broker.faults.intercept(
    'Produce',
    (req) => {
      const r = req.request as { acks: number }
      r.acks = -1
      return undefined
    },
    { topic, count: 1 },
  )
  const producer = kafkajs().producer()
  await producer.connect()
  await producer.send({ topic, acks: 1, messages: [{ value: 'x' }] })
  assert.equal(rewrite.hits, 1)
  // Answer: an interceptor builds the response itself, the handler never runs.
  broker.faults.intercept('Produce', (req) => req.errorResponse('POLICY_VIOLATION'), { topic, count: 1 })
  await assert.rejects(producer.send({ topic, messages: [{ value: 'refused' }] }), /polic/i)
  // Close: the next Produce closes the connection; kafkajs reconnects and retries.
  broker.faults.intercept('Produce', () => closeConnection, { topic, count: 1 })
  await producer.send({ topic, messages: [{ value: 'y' }] })
  await producer.disconnect()
  watch.remove()
  assert.ok(seen.includes('Produce') && seen.includes('Metadata'), seen.join(','))
  assert.deepEqual(values(await broker.records(topic)), ['x', 'y'])
})

test('Metadata errors (an API without its own error answer) reach clients', async () => {
  const topic = uniqueName('faults-metadata')
  await broker.createTopic({ name: topic, partitions: 2 })
  const rule = broker.faults.failNext('Metadata', 'LEADER_NOT_AVAILABLE', { topic, count: 2 })
  const producer = kafkajs().producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ key: 'a', value: 'after metadata retries' }] })
  await producer.disconnect()
  assert.equal(rule.hits, 2)
  assert.equal((await broker.records(topic)).length, 1)
})

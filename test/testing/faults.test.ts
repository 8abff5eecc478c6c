/**
 * samsa/testing fault injection through real clients: error answers that are not applied (on a
 * whole request, or on one partition while the rest is served), responses dropped after the write
 * (idempotent retries must not duplicate), delays, a broker playing dead and coming back, and
 * interceptors that answer or rewrite requests.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { createFetchPartition, createFetchRequest, type FetchResponse } from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
  createOffsetCommitResponseTopic,
  type OffsetCommitResponse,
} from '../../src/protocol/generated/offset-commit.ts'
import type { ProduceRequest } from '../../src/protocol/generated/produce.ts'
import { closeConnection, ErrorCode, startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

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

/** Records, at each Produce request, the partitions it carries and the high watermarks before it runs. */
function watchProduce(topic: string): { partitions: number[]; highWatermarks: number[] }[] {
  const seen: { partitions: number[]; highWatermarks: number[] }[] = []
  broker.faults.intercept(
    'Produce',
    async (req) => {
      const data = (req.request as ProduceRequest).topicData.find((t) => t.name === topic)
      const partitions = (data?.partitionData ?? []).map((p) => p.index).sort()
      const highWatermarks = await Promise.all([0, 1].map(async (p) => (await broker.offsets(topic, p)).highWatermark))
      seen.push({ partitions, highWatermarks })
    },
    { topic },
  )
  return seen
}

test('kafkajs: a produce error on one partition leaves the other acknowledged; the retry duplicates nothing', async () => {
  const topic = uniqueName('faults-part-kjs')
  await broker.createTopic({ name: topic, partitions: 2 })
  const produced = watchProduce(topic)
  const rule = broker.faults.failNext('Produce', 'NOT_LEADER_OR_FOLLOWER', { topic, partition: 1 })
  const producer = kafkajs().producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  await producer.send({
    topic,
    messages: [
      { partition: 0, value: 'zero' },
      { partition: 1, value: 'one' },
    ],
  })
  await producer.disconnect()
  assert.equal(rule.hits, 1)
  // kafkajs retries the whole request; partition 0 was written by the first one, partition 1 was not.
  assert.deepEqual(produced, [
    { partitions: [0, 1], highWatermarks: [0, 0] },
    { partitions: [0, 1], highWatermarks: [1, 0] },
  ])
  assert.deepEqual(values(await broker.records(topic, { partition: 0 })), ['zero'])
  assert.deepEqual(values(await broker.records(topic, { partition: 1 })), ['one'])
})

test('@platformatic/kafka: a produce error on one partition, the other written once', async () => {
  const topic = uniqueName('faults-part-pk')
  await broker.createTopic({ name: topic, partitions: 2 })
  const produced = watchProduce(topic)
  const rule = broker.faults.failNext('Produce', 'NOT_LEADER_OR_FOLLOWER', { topic, partition: 1 })
  const producer = pkProducer('pk-part')
  await producer.send({
    messages: [
      { topic, partition: 0, value: 'zero' },
      { topic, partition: 1, value: 'one' },
    ],
  })
  await producer.close()
  assert.equal(rule.hits, 1)
  assert.deepEqual(produced[0], { partitions: [0, 1], highWatermarks: [0, 0] })
  assert.deepEqual(produced[1]?.highWatermarks, [1, 0], 'partition 0 was written by the first request')
  assert.deepEqual(values(await broker.records(topic, { partition: 0 })), ['zero'])
  assert.deepEqual(values(await broker.records(topic, { partition: 1 })), ['one'])
})

test('a fetch error on one partition: the others return their records, the long poll ends at once', async () => {
  const topic = uniqueName('faults-part-fetch')
  await broker.createTopic({ name: topic, partitions: 2 })
  await broker.produce(topic, [
    { partition: 0, value: 'a' },
    { partition: 1, value: 'b' },
  ])
  broker.faults.failNext('Fetch', 'NOT_LEADER_OR_FOLLOWER', { topic, partition: 1 })
  const client = await RawClient.connect(broker.port)
  const started = Date.now()
  const res = await client.send<FetchResponse>(
    ApiKey.Fetch,
    11,
    createFetchRequest({
      maxWaitMs: 10_000,
      // More than there is: only the error may end the wait early.
      minBytes: 1 << 20,
      topics: [
        {
          topic,
          topicId: '',
          partitions: [0, 1].map((partition) => createFetchPartition({ partition, partitionMaxBytes: 1 << 20 })),
        },
      ],
    }),
  )
  await client.close()
  assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`)
  const [p0, p1] = res.responses[0]?.partitions ?? []
  assert.equal(p0?.errorCode, ErrorCode.NONE)
  assert.ok((p0?.records?.length ?? 0) > 0)
  assert.equal(p1?.partitionIndex, 1)
  assert.equal(p1?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
  assert.equal(p1?.records ?? null, null)
})

test('consumers read every record once through fetch errors on one partition (kafkajs and @platformatic/kafka)', async () => {
  const topic = uniqueName('faults-part-consume')
  await broker.createTopic({ name: topic, partitions: 2 })
  await broker.produce(
    topic,
    ['a', 'b', 'c', 'd'].map((value, i) => ({ partition: i % 2, value })),
  )
  const kjsRule = broker.faults.failNext('Fetch', 'NOT_LEADER_OR_FOLLOWER', { topic, partition: 1, count: 2 })
  const consumer = kafkajs().consumer({ groupId: uniqueName('faults-part-kjs'), maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const kjsSeen: string[] = []
  await consumer.run({
    eachMessage: async ({ message }) => {
      kjsSeen.push(String(message.value))
    },
  })
  await broker.waitFor(() => kjsSeen.length >= 4, { message: 'kafkajs to read 4 records' })
  await consumer.disconnect()
  assert.equal(kjsRule.hits, 2)
  assert.deepEqual(kjsSeen.sort(), ['a', 'b', 'c', 'd'])

  const pkRule = broker.faults.failNext('Fetch', 'NOT_LEADER_OR_FOLLOWER', { topic, partition: 1 })
  const pkConsumer = new pk.Consumer({
    clientId: 'pk-part',
    groupId: uniqueName('faults-part-pk'),
    bootstrapBrokers: broker.brokers,
    maxWaitTime: 50,
    retryDelay: 20,
    deserializers: pk.stringDeserializers,
  })
  const stream = await pkConsumer.consume({ topics: [topic], mode: 'earliest' })
  const pkSeen: string[] = []
  for await (const message of stream) {
    pkSeen.push(String(message.value))
    if (pkSeen.length === 4) break
  }
  await stream.close()
  await pkConsumer.close(true)
  assert.equal(pkRule.hits, 1)
  assert.deepEqual(pkSeen.sort(), ['a', 'b', 'c', 'd'])
})

test('OffsetCommit: an error on one partition, the other partition committed', async () => {
  const topic = uniqueName('faults-part-commit')
  const groupId = uniqueName('faults-part-commit')
  await broker.createTopic({ name: topic, partitions: 2 })
  broker.faults.failNext('OffsetCommit', 'OFFSET_METADATA_TOO_LARGE', { topic, partition: 1 })
  const client = await RawClient.connect(broker.port)
  const partitions = [0, 1].map((partitionIndex) =>
    createOffsetCommitRequestPartition({ partitionIndex, committedOffset: 5n }),
  )
  const res = await client.send<OffsetCommitResponse>(
    ApiKey.OffsetCommit,
    8,
    createOffsetCommitRequest({
      groupId,
      generationIdOrMemberEpoch: -1,
      topics: [createOffsetCommitRequestTopic({ name: topic, partitions })],
    }),
  )
  await client.close()
  assert.deepEqual(res.topics, [
    createOffsetCommitResponseTopic({
      name: topic,
      partitions: [
        { partitionIndex: 0, errorCode: ErrorCode.NONE },
        { partitionIndex: 1, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE },
      ],
    }),
  ])
  assert.equal(broker.committedOffset(groupId, topic, 0), 5)
  assert.equal(broker.committedOffset(groupId, topic, 1), undefined)
})

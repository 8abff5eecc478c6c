/**
 * Idempotent producers under retries: a proxy drops the connection after the broker wrote a
 * Produce request and before its response reaches the client; the client retries the same
 * batch (same producer id, epoch and sequence) and the broker answers with the original offset.
 * Every record must be stored exactly once. Also checks the broker's sequence errors with raw
 * requests.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createInitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../src/protocol/generated/init-producer-id.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { decodeBatchesSync, encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { type DroppingProxy, startDroppingProxy } from '../helpers/dropping-proxy.ts'
import { RawClient } from '../helpers/raw-client.ts'

let broker: Broker
let proxy: DroppingProxy

before(async () => {
  broker = await startBroker()
  proxy = await startDroppingProxy({ host: '127.0.0.1', port: broker.port }, 4)
  // Clients must come back through the proxy after reading metadata.
  broker.core.cluster.advertise(broker.core.nodeId, '127.0.0.1', proxy.port)
})
after(async () => {
  await proxy.close()
  await broker.close()
})

/** Every value stored in a topic's partitions, in offset order, read straight from storage. */
async function storedValues(topic: string, partitions: number): Promise<string[]> {
  const out: string[] = []
  for (let p = 0; p < partitions; p++) {
    const read = await broker.core.storage.read(topic, p, 0, 64 << 20, { minOneBatch: true })
    for (const batch of decodeBatchesSync(read.records)) {
      if (!batch.isControl) for (const r of batch.records) out.push(r.value?.toString() ?? '')
    }
  }
  return out
}

function assertExactlyOnce(stored: string[], expected: number): void {
  const counts = new Map<string, number>()
  for (const v of stored) counts.set(v, (counts.get(v) ?? 0) + 1)
  assert.equal(counts.size, expected, 'every record stored')
  assert.deepEqual(
    [...counts].filter(([, n]) => n > 1),
    [],
    'no record stored twice',
  )
}

test('kafkajs idempotent producer: dropped responses are retried, every record stored once', async () => {
  const topic = 'idem-kafkajs'
  await broker.core.topics.create(topic, 2, {})
  const kafka = kafkajsClient(`127.0.0.1:${proxy.port}`, {
    retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 200 },
  })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const before = proxy.dropped
  for (let i = 0; i < 40; i++) {
    await producer.send({
      topic,
      messages: Array.from({ length: 5 }, (_, j) => ({ key: `k${j}`, value: `v${i * 5 + j}` })),
    })
  }
  await producer.disconnect()
  assert.ok(proxy.dropped - before >= 5, `responses dropped: ${proxy.dropped - before}`)
  assertExactlyOnce(await storedValues(topic, 2), 200)
})

test('@platformatic/kafka idempotent producer: dropped responses are retried, every record stored once', async () => {
  const topic = 'idem-platformatic'
  await broker.core.topics.create(topic, 2, {})
  const pk = await platformatic()
  const producer = new pk.Producer({
    clientId: 'idem',
    bootstrapBrokers: [`127.0.0.1:${proxy.port}`],
    idempotent: true,
    retries: 10,
    retryDelay: 50,
    serializers: pk.stringSerializers,
  })
  const before = proxy.dropped
  for (let i = 0; i < 40; i++) {
    await producer.send({
      messages: Array.from({ length: 5 }, (_, j) => ({ topic, key: `k${j}`, value: `v${i * 5 + j}` })),
    })
  }
  await producer.close()
  assert.ok(proxy.dropped - before >= 5, `responses dropped: ${proxy.dropped - before}`)
  assertExactlyOnce(await storedValues(topic, 2), 200)
})

test('raw produce: duplicate answered with the original offset, gaps and old epochs refused', async () => {
  const topic = 'idem-raw'
  await broker.core.topics.create(topic, 1, {})
  const client = await RawClient.connect(broker.port)
  const init = await client.send<InitProducerIdResponse>(
    ApiKey.InitProducerId,
    4,
    createInitProducerIdRequest({
      transactionalId: null,
      transactionTimeoutMs: 60000,
      producerId: -1n,
      producerEpoch: -1,
    }),
  )
  assert.equal(init.errorCode, 0)
  const pid = init.producerId
  let lastLogStartOffset = -2n
  const produce = async (seq: number, count: number, epoch = init.producerEpoch): Promise<[number, bigint]> => {
    const records = encodeBatchSync({
      producerId: pid,
      producerEpoch: epoch,
      baseSequence: seq,
      records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`s${seq + i}`) })),
    })
    const res = await client.send<ProduceResponse>(
      ApiKey.Produce,
      9,
      createProduceRequest({
        acks: -1,
        timeoutMs: 1000,
        topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 0, records }] })],
      }),
    )
    const p = res.responses[0]?.partitionResponses[0]
    lastLogStartOffset = p?.logStartOffset ?? -2n
    return [p?.errorCode ?? -1, p?.baseOffset ?? -1n]
  }
  assert.deepEqual(await produce(0, 3), [ErrorCode.NONE, 0n])
  assert.deepEqual(await produce(3, 2), [ErrorCode.NONE, 3n])
  assert.deepEqual(await produce(0, 3), [ErrorCode.NONE, 0n], 'a duplicate gets its original offset')
  assert.deepEqual((await produce(7, 1))[0], ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  assert.equal(lastLogStartOffset, 0n, "a refusal tells the partition's log start offset, as Kafka's does")
  assert.deepEqual((await produce(5, 1, init.producerEpoch + 1))[0], ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  assert.deepEqual(await produce(0, 1, init.producerEpoch + 1), [ErrorCode.NONE, 5n], 'a new epoch restarts at 0')
  assert.deepEqual((await produce(5, 1))[0], ErrorCode.INVALID_PRODUCER_EPOCH)
  // Pipelined: five in flight at once, each judged against the ones before it.
  const next = await Promise.all([1, 2, 3, 4, 5].map((s) => produce(s, 1, init.producerEpoch + 1)))
  assert.deepEqual(
    next.map(([code]) => code),
    [0, 0, 0, 0, 0],
  )
  assert.deepEqual(
    next.map(([, offset]) => offset),
    [6n, 7n, 8n, 9n, 10n],
  )
  assert.equal((await broker.core.storage.offsets(topic, 0)).highWatermark, 11)
  await client.close()
})

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  type PartitionProduceResponse,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { type BatchInput, encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { Compression } from '../../src/protocol/records/compression.ts'
import { RawClient } from '../helpers/raw-client.ts'

function batch(fields: Partial<BatchInput> = {}, count = 2): Buffer {
  return encodeBatchSync({
    baseOffset: 0,
    records: Array.from({ length: count }, (_, i) => ({
      key: null,
      value: Buffer.from(`v${i}`),
      timestamp: BigInt(Date.now()),
      offsetDelta: i,
    })),
    ...fields,
  })
}

describe('Produce', () => {
  let broker: Broker
  let client: RawClient

  before(async () => {
    broker = await startBroker()
    await broker.core.topics.create('p', 2, {})
    await broker.core.topics.create('small', 1, { 'max.message.bytes': '100' })
    await broker.core.topics.create('recent', 1, { 'message.timestamp.before.max.ms': '60000' })
    await broker.core.topics.create('stamped', 1, { 'message.timestamp.type': 'LogAppendTime' })
    await broker.core.topics.create('compacted', 1, { 'cleanup.policy': 'compact' })
    client = await RawClient.connect(broker.port)
  })
  after(async () => {
    await client.close()
    await broker.close()
  })

  async function produce(
    topic: string,
    records: Buffer | null,
    version = 9,
    acks = 1,
    partition = 0,
  ): Promise<PartitionProduceResponse> {
    const res = await client.send<ProduceResponse>(
      ApiKey.Produce,
      version,
      createProduceRequest({
        acks,
        timeoutMs: 1000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      }),
    )
    return res.responses[0]?.partitionResponses[0] as PartitionProduceResponse
  }

  test('assigns consecutive base offsets per partition', async () => {
    assert.equal((await produce('p', batch({}, 3))).baseOffset, 0n)
    assert.equal((await produce('p', batch({}, 2))).baseOffset, 3n)
    assert.equal((await produce('p', batch({}, 1), 9, -1, 1)).baseOffset, 0n)
  })

  test('a CRC mismatch answers CORRUPT_MESSAGE and writes nothing', async () => {
    const bad = batch()
    bad.writeUInt8((bad.at(-1) as number) ^ 0xff, bad.length - 1)
    const res = await produce('p', bad, 9)
    assert.equal(res.errorCode, ErrorCode.CORRUPT_MESSAGE)
    assert.equal((await broker.core.storage.offsets('p', 0)).highWatermark, 5)
  })

  test('v8+ carries an error message; records breaking Kafka rules answer INVALID_RECORD', async () => {
    const two = Buffer.concat([batch(), batch()])
    const res = await produce('p', two, 9)
    assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
    assert.match(res.errorMessage ?? '', /exactly one record batch/)
    assert.equal((await produce('p', null, 9)).errorCode, ErrorCode.INVALID_RECORD)
  })

  test('unknown topics and partitions answer UNKNOWN_TOPIC_OR_PARTITION', async () => {
    assert.equal((await produce('nope', batch())).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.equal((await produce('p', batch(), 9, 1, 5)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  test('a batch above max.message.bytes answers MESSAGE_TOO_LARGE', async () => {
    assert.equal((await produce('small', batch({}, 10))).errorCode, ErrorCode.MESSAGE_TOO_LARGE)
  })

  test('timestamps outside message.timestamp.before.max.ms answer INVALID_TIMESTAMP', async () => {
    const old = encodeBatchSync({ baseOffset: 0, records: [{ key: null, value: Buffer.from('x'), timestamp: 1000n }] })
    assert.equal((await produce('recent', old)).errorCode, ErrorCode.INVALID_TIMESTAMP)
    assert.equal((await produce('recent', batch())).errorCode, ErrorCode.NONE)
  })

  test('LogAppendTime topics answer the append time and stamp the batch', async () => {
    const before = Date.now()
    const res = await produce('stamped', batch())
    assert.ok(res.logAppendTimeMs >= BigInt(before) && res.logAppendTimeMs <= BigInt(Date.now()))
    const read = await broker.core.storage.read('stamped', 0, 0, 1 << 20, { minOneBatch: true })
    assert.equal(read.records.readInt16BE(21) & 0x08, 0x08, 'timestamp type bit set')
    assert.equal(read.records.readBigInt64BE(35), res.logAppendTimeMs, 'maxTimestamp is the append time')
  })

  test('zstd needs Produce v7 or later', async () => {
    assert.equal(
      (await produce('p', batch({ compression: Compression.ZSTD }), 6)).errorCode,
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    )
    assert.equal((await produce('p', batch({ compression: Compression.ZSTD }), 7)).errorCode, ErrorCode.NONE)
  })

  test('compacted topics refuse records without a key', async () => {
    const records = (keys: (string | null)[]) =>
      encodeBatchSync({
        baseOffset: 0,
        compression: Compression.GZIP,
        records: keys.map((k, i) => ({
          key: k === null ? null : Buffer.from(k),
          value: Buffer.from('v'),
          offsetDelta: i,
        })),
      })
    const v9 = await produce('compacted', records(['a', null, 'c']), 9)
    assert.equal(v9.errorCode, ErrorCode.INVALID_RECORD)
    assert.deepEqual(
      v9.recordErrors.map((e) => e.batchIndex),
      [1],
    )
    assert.match(
      v9.errorMessage ?? '',
      /Compacted topic cannot accept message without key in topic partition compacted-0/,
    )
    assert.equal((await produce('compacted', records([null]), 7)).errorCode, ErrorCode.CORRUPT_MESSAGE)
    assert.equal((await produce('compacted', records(['a', 'b']), 9)).errorCode, ErrorCode.NONE)
    assert.equal((await broker.core.storage.offsets('compacted', 0)).highWatermark, 2)
  })

  test('acks other than 0, 1 and -1 answer INVALID_REQUIRED_ACKS', async () => {
    assert.equal((await produce('p', batch(), 9, 2)).errorCode, ErrorCode.INVALID_REQUIRED_ACKS)
  })
})

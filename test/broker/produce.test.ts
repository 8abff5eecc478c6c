import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  createTopicProduceData,
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
        topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: partition, records }] })],
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

  test('compacted topics refuse records without a key, each one listed (KIP-467)', async () => {
    for (const compression of [Compression.NONE, Compression.GZIP]) {
      // 100 records, every tenth without a key: exactly those ten are listed, the batch is refused.
      const records = encodeBatchSync({
        baseOffset: 0,
        compression,
        records: Array.from({ length: 100 }, (_, i) => ({
          key: i % 10 === 9 ? null : Buffer.from(`k${i}`),
          value: Buffer.from('v'),
        })),
      })
      const v9 = await produce('compacted', records, 9)
      assert.equal(v9.errorCode, ErrorCode.INVALID_RECORD)
      assert.deepEqual(
        v9.recordErrors.map((e) => e.batchIndex),
        [9, 19, 29, 39, 49, 59, 69, 79, 89, 99],
      )
      assert.match(v9.recordErrors[0]?.batchIndexErrorMessage ?? '', /record 9 has no key/)
      assert.match(v9.errorMessage ?? '', /10 of the records sent to compacted-0 were refused/)
      // Before v8 there are no record errors: the whole batch is a CORRUPT_MESSAGE.
      assert.equal((await produce('compacted', records, 7)).errorCode, ErrorCode.CORRUPT_MESSAGE)
    }
    const keyed = encodeBatchSync({ records: [{ key: Buffer.from('a'), value: Buffer.from('v') }] })
    assert.equal((await produce('compacted', keyed, 9)).errorCode, ErrorCode.NONE)
    assert.equal((await broker.core.storage.offsets('compacted', 0)).highWatermark, 1)
  })

  test('record errors are per partition when one request carries several batches', async () => {
    await broker.core.topics.create('compacted2', 2, { 'cleanup.policy': 'compact' })
    const records = (keyless: number[]) =>
      encodeBatchSync({
        records: Array.from({ length: 5 }, (_, i) => ({
          key: keyless.includes(i) ? null : Buffer.from(`k${i}`),
          value: Buffer.from('v'),
        })),
      })
    const res = await client.send<ProduceResponse>(
      ApiKey.Produce,
      9,
      createProduceRequest({
        acks: 1,
        timeoutMs: 1000,
        topicData: [
          createTopicProduceData({
            name: 'compacted2',
            partitionData: [
              { index: 0, records: records([0, 4]) },
              { index: 1, records: records([]) },
            ],
          }),
          createTopicProduceData({ name: 'compacted', partitionData: [{ index: 0, records: records([2]) }] }),
        ],
      }),
    )
    const [two, one] = res.responses
    assert.deepEqual(
      two?.partitionResponses.map((p) => [p.errorCode, p.recordErrors.map((e) => e.batchIndex)]),
      [
        [ErrorCode.INVALID_RECORD, [0, 4]],
        [ErrorCode.NONE, []],
      ],
    )
    assert.deepEqual(
      one?.partitionResponses.map((p) => [p.errorCode, p.recordErrors.map((e) => e.batchIndex)]),
      [[ErrorCode.INVALID_RECORD, [2]]],
    )
  })

  test('each record with a timestamp out of range is listed, even where the header looks fine', async () => {
    const now = Date.now()
    const before = (await broker.core.storage.offsets('recent', 0)).highWatermark
    for (const compression of [Compression.NONE, Compression.SNAPPY]) {
      // First and max timestamps in range: only the records tell that two are 10 minutes old.
      const timestamps = [now, now - 600_000, now + 1, now - 600_000, now + 2]
      const records = encodeBatchSync({
        compression,
        records: timestamps.map((timestamp) => ({ key: null, value: Buffer.from('v'), timestamp })),
      })
      const res = await produce('recent', records, 9)
      assert.equal(res.errorCode, ErrorCode.INVALID_TIMESTAMP)
      assert.deepEqual(
        res.recordErrors.map((e) => e.batchIndex),
        [1, 3],
      )
    }
    assert.equal((await broker.core.storage.offsets('recent', 0)).highWatermark, before)
  })

  test('records whose offset deltas do not count up from 0 are listed', async () => {
    const records = encodeBatchSync({
      records: [0, 1, 1, 3].map((offsetDelta) => ({ key: null, value: Buffer.from('v'), offsetDelta })),
      lastOffsetDelta: 3,
    })
    const res = await produce('p', records, 9)
    assert.equal(res.errorCode, ErrorCode.INVALID_RECORD)
    assert.deepEqual(
      res.recordErrors.map((e) => e.batchIndex),
      [2],
    )
  })

  test('a partition whose leadership another broker claimed (higher leader epoch) answers NOT_LEADER_OR_FOLLOWER and writes nothing', async () => {
    await broker.core.topics.create('deposed', 1, {})
    await broker.core.storage.claimLeadership('deposed', 0, 5)
    const res = await produce('deposed', batch(), 9)
    assert.equal(res.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.match(res.errorMessage ?? '', /leader epoch/)
    assert.equal((await broker.core.storage.offsets('deposed', 0)).highWatermark, 0)
  })

  test('acks other than 0, 1 and -1 answer INVALID_REQUIRED_ACKS', async () => {
    assert.equal((await produce('p', batch(), 9, 2)).errorCode, ErrorCode.INVALID_REQUIRED_ACKS)
  })
})

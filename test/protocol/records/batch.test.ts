import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type BatchInput,
  decodeBatch,
  decodeBatches,
  decodeBatchSync,
  encodeBatch,
  encodeBatchSync,
  type RecordBatch,
  type RecordInput,
  recordOffset,
  recordTimestamp,
} from '../../../src/protocol/records/batch.ts'
import { validateBatch } from '../../../src/protocol/records/batch-validate.ts'
import type { CompressionCodec } from '../../../src/protocol/records/compression.ts'
import { ControlType, encodeEndTxnMarkerBatch, readEndTxnMarker } from '../../../src/protocol/records/control.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import { randomRecords, rng } from './helpers.ts'

const CODECS: CompressionCodec[] = [0, 1, 2, 3, 4]

/** Compare decoded records with what was encoded, field by field, byte-exact. */
export function assertRecordsEqual(batch: RecordBatch, input: readonly RecordInput[]): void {
  assert.equal(batch.records.length, input.length)
  batch.records.forEach((r, i) => {
    const want = input[i] as RecordInput
    assert.deepEqual(r.key, want.key ?? null, `key ${i}`)
    assert.deepEqual(r.value, want.value ?? null, `value ${i}`)
    assert.deepEqual(r.headers, want.headers ?? [], `headers ${i}`)
    if (want.timestamp !== undefined) assert.equal(recordTimestamp(batch, r), BigInt(want.timestamp), `timestamp ${i}`)
    assert.equal(recordOffset(batch, r), batch.baseOffset + BigInt(want.offsetDelta ?? i))
  })
}

describe('record batch v2 codec', () => {
  it('round-trips random records with every codec (sync and async)', async () => {
    const next = rng(10)
    for (const compression of CODECS) {
      for (const count of [1, 2, 17, 500]) {
        const records = randomRecords(next, count)
        const input: BatchInput = {
          records,
          compression,
          baseOffset: 1234567890123n,
          partitionLeaderEpoch: 7,
          producerId: 42n,
          producerEpoch: 3,
          baseSequence: 99,
          isTransactional: true,
        }
        const bytes = await encodeBatch(input)
        assert.deepEqual(encodeBatchSync(input).subarray(0, 21), bytes.subarray(0, 21))
        for (const batch of [await decodeBatch(bytes), decodeBatchSync(bytes)]) {
          assert.equal(batch.compression, compression)
          assert.equal(batch.baseOffset, 1234567890123n)
          assert.equal(batch.partitionLeaderEpoch, 7)
          assert.equal(batch.producerId, 42n)
          assert.equal(batch.producerEpoch, 3)
          assert.equal(batch.baseSequence, 99)
          assert.equal(batch.isTransactional, true)
          assert.equal(batch.recordCount, count)
          assert.equal(batch.lastOffsetDelta, count - 1)
          const ts = records.map((r) => Number(r.timestamp ?? 0))
          assert.equal(batch.baseTimestamp, BigInt(ts[0] ?? 0))
          assert.equal(batch.maxTimestamp, BigInt(Math.max(...ts)))
          assertRecordsEqual(batch, records)
        }
      }
    }
  })

  it('keeps offset gaps, explicit lastOffsetDelta, LogAppendTime and the delete horizon', () => {
    const records: RecordInput[] = [
      { key: Buffer.from('a'), value: Buffer.from('1'), offsetDelta: 0, timestamp: 10 },
      { key: Buffer.from('b'), value: null, offsetDelta: 5, timestamp: 20 },
    ]
    const bytes = encodeBatchSync({
      records,
      lastOffsetDelta: 9,
      timestampType: 1,
      maxTimestamp: 999,
      deleteHorizonMs: 5000,
    })
    const batch = decodeBatchSync(bytes)
    assert.equal(batch.lastOffsetDelta, 9)
    assert.equal(batch.hasDeleteHorizon, true)
    assert.equal(batch.baseTimestamp, 5000n)
    assert.equal(batch.timestampType, 1)
    assert.deepEqual(
      batch.records.map((r) => r.offsetDelta),
      [0, 5],
    )
    assert.deepEqual(
      batch.records.map((r) => recordTimestamp(batch, r)),
      [999n, 999n],
    )
  })

  it('decodes concatenated batches', async () => {
    const a = encodeBatchSync({ records: [{ value: Buffer.from('x'), timestamp: 1 }], baseOffset: 0 })
    const b = encodeBatchSync({ records: [{ value: Buffer.from('y'), timestamp: 2 }], baseOffset: 1, compression: 1 })
    const batches = await decodeBatches(Buffer.concat([a, b]))
    assert.deepEqual(
      batches.map((x) => x.records[0]?.value?.toString()),
      ['x', 'y'],
    )
  })

  it('encodes and reads end-transaction markers', () => {
    const bytes = encodeEndTxnMarkerBatch({
      type: ControlType.COMMIT,
      coordinatorEpoch: 17,
      producerId: 5,
      producerEpoch: 2,
      timestamp: 1000,
    })
    const batch = decodeBatchSync(bytes)
    assert.equal(batch.isControl, true)
    assert.equal(batch.isTransactional, true)
    assert.equal(batch.baseSequence, -1)
    assert.equal(batch.producerId, 5n)
    assert.deepEqual(readEndTxnMarker(batch.records[0] as (typeof batch.records)[number]), {
      type: 1,
      coordinatorEpoch: 17,
    })
    const info = validateBatch(bytes)
    assert.ok(!(info instanceof RecordsError) && info.isControl)
  })

  it('rejects malformed record sections with RecordsError', async () => {
    const good = encodeBatchSync({ records: [{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1 }] })
    // Claim two records while holding one; skip the CRC so record parsing is what fails.
    const twice = Buffer.from(good)
    twice.writeInt32BE(2, 57)
    await assert.rejects(decodeBatch(twice, 0, { verifyCrc: false }), (e: unknown) => e instanceof RecordsError)
    assert.throws(
      () => decodeBatchSync(twice),
      (e: unknown) => e instanceof RecordsError && e.reason === 'CRC_MISMATCH',
    )
    // A huge declared count must fail before allocating.
    const huge = Buffer.from(good)
    huge.writeInt32BE(0x7fffffff, 57)
    assert.throws(
      () => decodeBatchSync(huge, 0, { verifyCrc: false }),
      (e: unknown) => e instanceof RecordsError && e.reason === 'BAD_COUNT',
    )
    // Compressed section that does not decompress.
    const gz = Buffer.from(encodeBatchSync({ records: [{ value: Buffer.from('v'), timestamp: 1 }], compression: 1 }))
    gz[gz.length - 3] = (gz[gz.length - 3] as number) ^ 0xff // inside the gzip trailer (CRC/ISIZE)
    await assert.rejects(decodeBatch(gz, 0, { verifyCrc: false }), (e: unknown) => e instanceof RecordsError)
  })
})

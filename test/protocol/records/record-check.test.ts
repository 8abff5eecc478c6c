import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type BatchInput, encodeBatchSync, type RecordInput } from '../../../src/protocol/records/batch.ts'
import type { BatchInfo } from '../../../src/protocol/records/batch-header.ts'
import { validateBatch } from '../../../src/protocol/records/batch-validate.ts'
import { COMPRESSION_NAMES, Compression, type CompressionCodec } from '../../../src/protocol/records/compression.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import { checkBatchRecords, type RecordRules } from '../../../src/protocol/records/record-check.ts'

const T0 = 1_700_000_000_000
const OPEN: RecordRules = {
  requireKey: false,
  checkTimestamps: true,
  minTimestamp: Number.NEGATIVE_INFINITY,
  maxTimestamp: Number.POSITIVE_INFINITY,
  maxDecompressedBytes: 64 << 20,
}

function info(buf: Buffer): BatchInfo {
  const v = validateBatch(buf)
  if (v instanceof RecordsError) assert.fail(v.message)
  return v
}

function records(timestamps: number[], key: (i: number) => Buffer | null = (i) => Buffer.from(`k${i}`)): RecordInput[] {
  return timestamps.map((timestamp, i) => ({ key: key(i), value: Buffer.from(`value ${i}`), timestamp }))
}

const CODECS = [Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD]

describe('record checks: the per-record rules and the true max timestamp', () => {
  for (const codec of CODECS as CompressionCodec[]) {
    const name = COMPRESSION_NAMES[codec]
    const encode = (input: BatchInput) => encodeBatchSync({ compression: codec, ...input })

    it(`${name}: finds the largest record timestamp whatever the header says (-1, or too low)`, () => {
      const ts = [T0 + 5, T0 + 90, T0 + 2, T0 + 40]
      for (const maxTimestamp of [-1, T0 + 5, T0 + 89]) {
        const buf = encode({ records: records(ts), maxTimestamp })
        const check = checkBatchRecords(buf, info(buf), OPEN)
        assert.equal(check.maxTimestamp, T0 + 90, `header max ${maxTimestamp}`)
        assert.deepEqual(check.problems, [])
      }
    })

    it(`${name}: lists every keyless record of a compacted topic`, () => {
      const ts = Array.from({ length: 100 }, (_, i) => T0 + i)
      const buf = encode({ records: records(ts, (i) => (i % 10 === 3 ? null : Buffer.from(`k${i}`))) })
      const check = checkBatchRecords(buf, info(buf), { ...OPEN, requireKey: true })
      assert.deepEqual(
        check.problems.map((p) => [p.batchIndex, p.kind]),
        Array.from({ length: 10 }, (_, i) => [i * 10 + 3, 'record']),
      )
    })
  }

  it('lists every record whose timestamp is out of range, and skips records without one', () => {
    const ts = [T0, T0 - 10_000, T0 + 1, T0 + 10_000, -1]
    const buf = encodeBatchSync({ records: records(ts) })
    const check = checkBatchRecords(buf, info(buf), { ...OPEN, minTimestamp: T0 - 1000, maxTimestamp: T0 + 1000 })
    assert.deepEqual(
      check.problems.map((p) => [p.batchIndex, p.kind]),
      [
        [1, 'timestamp'],
        [3, 'timestamp'],
      ],
    )
    assert.match(check.problems[0]?.message ?? '', new RegExp(`timestamp ${T0 - 10_000}`))
  })

  it('a missing key is reported before a bad timestamp, one problem per record', () => {
    const buf = encodeBatchSync({ records: records([T0 - 10_000], () => null) })
    const check = checkBatchRecords(buf, info(buf), { ...OPEN, requireKey: true, minTimestamp: T0 })
    assert.deepEqual(
      check.problems.map((p) => p.kind),
      ['record'],
    )
  })

  it('refuses offset deltas that do not count up from 0', () => {
    const input = records([T0, T0, T0]).map((r, i) => ({ ...r, offsetDelta: i === 2 ? 5 : i }))
    const buf = encodeBatchSync({ records: input, lastOffsetDelta: 2 })
    const check = checkBatchRecords(buf, info(buf), OPEN)
    assert.deepEqual(
      check.problems.map((p) => [p.batchIndex, p.kind]),
      [[2, 'record']],
    )
  })

  it('a producer may not mark its batch LogAppendTime on a LogAppendTime topic', () => {
    const buf = encodeBatchSync({ records: records([T0, T0]), timestampType: 1, maxTimestamp: T0 })
    const check = checkBatchRecords(buf, info(buf), { ...OPEN, checkTimestamps: false })
    assert.deepEqual(
      check.problems.map((p) => [p.batchIndex, p.kind]),
      [
        [0, 'timestamp'],
        [1, 'timestamp'],
      ],
    )
    // On a CreateTime topic the header's time stands for every record and is range-checked.
    assert.equal(checkBatchRecords(buf, info(buf), OPEN).maxTimestamp, T0)
  })

  it('throws CORRUPT for a records section that does not hold recordCount records', () => {
    const buf = encodeBatchSync({ records: records([T0, T0]) })
    const patched = Buffer.from(buf)
    patched.writeInt32BE(3, 57) // recordCount
    const bad = { ...info(buf), recordCount: 3 }
    assert.throws(
      () => checkBatchRecords(patched, bad, OPEN),
      (e: unknown) => e instanceof RecordsError && e.kind === 'corrupt',
    )
    const fewer = { ...info(buf), recordCount: 1 }
    assert.throws(
      () => checkBatchRecords(buf, fewer, OPEN),
      (e: unknown) => e instanceof RecordsError && e.reason === 'BAD_COUNT',
    )
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { crc32c } from '@node-rs/crc32'
import { decodeBatchSync, encodeBatchSync } from '../../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../../src/protocol/records/batch-header.ts'
import {
  assignOffsets,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from '../../../src/protocol/records/batch-patch.ts'
import { findBatchForOffset, scanValidPrefix } from '../../../src/protocol/records/batch-scan.ts'
import {
  checkClientBatch,
  validateBatch,
  validateBatches,
  validateProducedRecords,
} from '../../../src/protocol/records/batch-validate.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import { randomRecords, rng } from './helpers.ts'

function ok<T>(v: T | RecordsError): T {
  if (v instanceof RecordsError) assert.fail(`unexpected ${v.reason}: ${v.message}`)
  return v
}

const next = rng(20)
const one = encodeBatchSync({
  records: randomRecords(next, 10),
  baseOffset: 0,
  producerId: 7,
  producerEpoch: 1,
  baseSequence: 0,
  compression: 2,
})
const two = encodeBatchSync({ records: randomRecords(next, 3), baseOffset: 0 })

describe('hot path: header, validation, patching, scanning', () => {
  it('reads the 61-byte header as numbers', () => {
    const info = ok(readBatchHeader(one))
    assert.equal(info.size, one.length)
    assert.equal(info.magic, 2)
    assert.equal(info.recordCount, 10)
    assert.equal(info.lastOffsetDelta, 9)
    assert.equal(info.compression, 2)
    assert.equal(info.producerId, 7)
    assert.equal(info.producerEpoch, 1)
    assert.equal(info.baseSequence, 0)
    assert.equal(info.partitionLeaderEpoch, -1)
    const full = decodeBatchSync(one)
    assert.equal(BigInt(info.baseTimestamp), full.baseTimestamp)
    assert.equal(BigInt(info.maxTimestamp), full.maxTimestamp)
    assert.ok(readBatchHeader(one, 0, 60) instanceof RecordsError)
  })

  it('validates concatenated batches and reports positions', () => {
    const buf = Buffer.concat([one, two])
    const batches = ok(validateBatches(buf))
    assert.deepEqual(
      batches.map((b) => [b.position, b.size]),
      [
        [0, one.length],
        [one.length, two.length],
      ],
    )
    assert.deepEqual(ok(validateBatches(Buffer.alloc(0))), [])
    assert.equal(ok(validateProducedRecords(buf)).length, 2)
  })

  it('detects every flipped bit inside the CRC-covered range as CRC_MISMATCH', () => {
    for (let p = 21; p < one.length; p++) {
      const bad = Buffer.from(one)
      bad[p] = (bad[p] as number) ^ (1 << (p % 8))
      const r = validateBatch(bad)
      assert.ok(r instanceof RecordsError && r.reason === 'CRC_MISMATCH' && r.kind === 'corrupt', `byte ${p}`)
    }
    const crc = Buffer.from(one)
    crc[17] = (crc[17] as number) ^ 1
    assert.equal((validateBatch(crc) as RecordsError).reason, 'CRC_MISMATCH')
  })

  it('maps structural problems to corrupt and magic/codec problems to invalid', () => {
    const cases: [Buffer, string, string][] = []
    const magic = Buffer.from(one)
    magic[16] = 1
    cases.push([magic, 'invalid', 'UNSUPPORTED_MAGIC'])
    const short = Buffer.from(one)
    short.writeInt32BE(48, 8)
    cases.push([short, 'corrupt', 'BAD_LENGTH'])
    cases.push([one.subarray(0, one.length - 1), 'corrupt', 'TRUNCATED'])
    cases.push([one.subarray(0, 10), 'corrupt', 'TRUNCATED'])
    const codec = Buffer.from(one)
    codec.writeInt16BE(7, 21)
    codec.writeUInt32BE(crc32c(codec.subarray(21)), 17)
    cases.push([codec, 'invalid', 'UNKNOWN_COMPRESSION'])
    for (const [buf, kind, reason] of cases) {
      const r = validateBatch(buf)
      assert.ok(r instanceof RecordsError, reason)
      assert.equal(r.kind, kind)
      assert.equal(r.reason, reason)
    }
  })

  it('applies Kafka client-batch rules from the header alone', () => {
    const base = ok(validateBatch(one))
    assert.equal(checkClientBatch(base), null)
    const bad = (patch: Partial<BatchInfo>) => checkClientBatch({ ...base, ...patch })
    assert.equal(bad({ recordCount: 0 })?.reason, 'BAD_COUNT')
    assert.equal(bad({ lastOffsetDelta: 3 })?.reason, 'BAD_COUNT')
    assert.equal(bad({ isControl: true })?.reason, 'BAD_CONTROL_RECORD')
    assert.equal(bad({ baseSequence: -1 })?.reason, 'BAD_PRODUCER_STATE')
    assert.equal(bad({ isTransactional: true, producerId: -1, baseSequence: -1 })?.reason, 'BAD_PRODUCER_STATE')
    assert.equal(bad({ compression: 0, recordCount: 1000, lastOffsetDelta: 999 })?.reason, 'BAD_COUNT')
  })

  it('patches baseOffset and leader epoch outside the CRC, LogAppendTime inside it', () => {
    const buf = Buffer.concat([one, two])
    const batches = ok(validateBatches(buf))
    assert.equal(assignOffsets(buf, batches, 1000), 1013)
    setPartitionLeaderEpoch(buf, 0, 12)
    setLogAppendTime(buf, batches[1] as BatchInfo, 1_800_000_000_000)
    assert.equal(batches[1]?.maxTimestamp, 1_800_000_000_000, 'the storage sees the append time')
    const after = ok(validateBatches(buf))
    assert.deepEqual(
      after.map((b) => b.baseOffset),
      [1000, 1010],
    )
    assert.equal(after[0]?.partitionLeaderEpoch, 12)
    assert.equal(after[1]?.timestampType, 1)
    assert.equal(after[1]?.maxTimestamp, 1_800_000_000_000)
    const second = decodeBatchSync(buf, one.length)
    assert.equal(second.baseOffset, 1010n)
    setBaseOffset(buf, 0, 2n ** 60n)
    assert.equal(decodeBatchSync(buf).baseOffset, 2n ** 60n)
  })

  it('finds the valid prefix before a torn or corrupt tail', () => {
    const buf = Buffer.concat([one, two, one])
    assignOffsets(buf, ok(validateBatches(buf)), 0)
    const whole = scanValidPrefix(buf)
    assert.deepEqual([whole.validEnd, whole.batchCount, whole.nextOffset, whole.stoppedBy], [buf.length, 3, 23, null])
    for (const cut of [1, 11, 12, 60, one.length - 1]) {
      const torn = scanValidPrefix(buf.subarray(0, one.length + two.length + cut))
      assert.equal(torn.validEnd, one.length + two.length)
      assert.equal(torn.nextOffset, 13)
      assert.equal(torn.stoppedBy?.reason, 'TRUNCATED')
    }
    const corrupt = Buffer.from(buf)
    corrupt[one.length + 70] = (corrupt[one.length + 70] as number) ^ 0xff
    assert.equal(scanValidPrefix(corrupt).validEnd, one.length)
  })

  it('finds the batch holding an offset', () => {
    const buf = Buffer.concat([one, two, one])
    assignOffsets(buf, ok(validateBatches(buf)), 100)
    assert.equal(findBatchForOffset(buf, 0), 0)
    assert.equal(findBatchForOffset(buf, 109), 0)
    assert.equal(findBatchForOffset(buf, 110), one.length)
    assert.equal(findBatchForOffset(buf, 113), one.length + two.length)
    assert.equal(findBatchForOffset(buf, 122), one.length + two.length)
    assert.equal(findBatchForOffset(buf, 123), -1)
    assert.equal(findBatchForOffset(buf.subarray(0, one.length + 5), 120), -1)
  })
})

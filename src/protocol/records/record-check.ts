/**
 * Kafka's per-record rules for what a client appends (its log validator): a key on every record
 * of a compacted topic, CreateTime timestamps within the topic's bounds, offset deltas 0, 1, 2...
 * Records are walked, not decoded: per record the length, attributes, timestamp delta, offset
 * delta and key length are read and the rest is skipped, so nothing is allocated unless a record
 * fails. The same walk yields the batch's true max timestamp, which older clients leave at -1.
 */
import type { BatchInfo } from './batch-header.ts'
import * as L from './batch-layout.ts'
import { Compression, type CompressionCodec, decompressSync } from './compression.ts'
import { corrupt } from './errors.ts'
import { cursor, readVarint, readVarlong } from './varint.ts'

/** What the topic asks of each record. */
export interface RecordRules {
  /** Compacted topics: every record needs a key. */
  requireKey: boolean
  /** CreateTime topics check timestamps against [minTimestamp, maxTimestamp]; LogAppendTime ones do not. */
  checkTimestamps: boolean
  minTimestamp: number
  maxTimestamp: number
  /** Cap on a compressed batch's records once decompressed. */
  maxDecompressedBytes: number
}

/** Why one record was refused: 'timestamp' is INVALID_TIMESTAMP, 'record' INVALID_RECORD. */
export interface RecordProblem {
  /** Index of the record within its batch (Produce v8+ record_errors.batch_index). */
  batchIndex: number
  kind: 'record' | 'timestamp'
  message: string
}

/** The outcome of walking one batch. */
export interface RecordsCheck {
  /** Largest record timestamp (-1 when no record has one); LogAppendTime batches keep the header's. */
  maxTimestamp: number
  /** Every refused record, in order; empty when the batch is acceptable. */
  problems: RecordProblem[]
}

const NO_PROBLEMS: RecordProblem[] = []

/**
 * Walk the records of the validated batch `info` in `buf` and apply `rules`. Compressed batches are
 * decompressed first. Throws a RecordsError when the records section does not hold exactly
 * recordCount well-formed records.
 */
export function checkBatchRecords(buf: Buffer, info: BatchInfo, rules: RecordRules): RecordsCheck {
  const section = buf.subarray(info.position + L.RECORDS, info.position + info.size)
  const records = decompressRecords(info.compression, section, rules.maxDecompressedBytes)
  return checkRecords(records, info, rules)
}

function decompressRecords(codec: CompressionCodec, section: Buffer, maxBytes: number): Buffer {
  return codec === Compression.NONE ? section : decompressSync(codec, section, { maxBytes })
}

/** checkBatchRecords on an already decompressed records section. */
export function checkRecords(records: Buffer, info: BatchInfo, rules: RecordRules): RecordsCheck {
  const end = records.length
  const count = info.recordCount
  // A producer that sets LogAppendTime itself gives every record the header's max timestamp.
  const appendTimeBit = info.timestampType === L.TimestampType.LOG_APPEND_TIME
  let maxTimestamp = appendTimeBit ? info.maxTimestamp : L.NO_TIMESTAMP
  let problems = NO_PROBLEMS
  cursor.pos = 0
  for (let i = 0; i < count; i++) {
    const length = readVarint(records, end)
    const recordEnd = cursor.pos + length
    if (length < 6 || recordEnd > end) throw corrupt('BAD_RECORD', `record ${i} has a bad length ${length}`)
    cursor.pos++ // attributes
    const timestampDelta = readVarlong(records, recordEnd)
    const offsetDelta = readVarint(records, recordEnd)
    const keyLength = readVarint(records, recordEnd)
    cursor.pos = recordEnd
    const timestamp = appendTimeBit ? info.maxTimestamp : info.baseTimestamp + timestampDelta
    if (!appendTimeBit && timestamp > maxTimestamp) maxTimestamp = timestamp
    const problem = recordProblem(rules, appendTimeBit, i, offsetDelta, keyLength, timestamp)
    if (problem !== undefined) {
      if (problems === NO_PROBLEMS) problems = []
      problems.push(problem)
    }
  }
  if (cursor.pos !== end) {
    throw corrupt('BAD_COUNT', `${end - cursor.pos} bytes left after the ${count} records of the batch`)
  }
  return { maxTimestamp, problems }
}

/** One problem per record, checked in Kafka's order: key, then timestamp; then the offset delta. */
function recordProblem(
  rules: RecordRules,
  appendTimeBit: boolean,
  index: number,
  offsetDelta: number,
  keyLength: number,
  timestamp: number,
): RecordProblem | undefined {
  if (rules.requireKey && keyLength < 0) {
    return { batchIndex: index, kind: 'record', message: `record ${index} has no key, which a compacted topic needs` }
  }
  if (rules.checkTimestamps && timestamp !== L.NO_TIMESTAMP) {
    if (timestamp < rules.minTimestamp || timestamp > rules.maxTimestamp) {
      return {
        batchIndex: index,
        kind: 'timestamp',
        message: `record ${index} has timestamp ${timestamp}, outside the accepted [${rules.minTimestamp}, ${rules.maxTimestamp}]`,
      }
    }
  } else if (appendTimeBit) {
    return {
      batchIndex: index,
      kind: 'timestamp',
      message: `record ${index} is marked LogAppendTime, which only the broker may set`,
    }
  }
  if (offsetDelta !== index) {
    return {
      batchIndex: index,
      kind: 'record',
      message: `record ${index} has offset delta ${offsetDelta}, expected ${index} (deltas count up from 0)`,
    }
  }
  return undefined
}

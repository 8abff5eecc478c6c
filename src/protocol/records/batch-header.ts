/**
 * The record-batch header as the produce/fetch hot path sees it: plain numbers, no records.
 * int64 fields (baseOffset, timestamps, producerId) are returned as numbers. That is exact for
 * every value a broker assigns or a clock produces (|v| ≤ 2^53); a client that sends a larger
 * producerId or timestamp gets a rounded number, which can only fail the broker's own checks
 * (unknown producer id, timestamp out of range), never pass them wrongly.
 */
import * as L from './batch-layout.ts'
import type { CompressionCodec } from './compression.ts'
import { corrupt, type RecordsError } from './errors.ts'

/** Header facts about one batch, located at `position` in its buffer. */
export interface BatchInfo {
  /** Byte offset of the batch in the buffer it was read from. */
  position: number
  /** Total bytes of the batch: 12 + batchLength. */
  size: number
  baseOffset: number
  partitionLeaderEpoch: number
  magic: number
  crc: number
  attributes: number
  /** Codec id from attributes bits 0-2 (5-7 are refused by validation). */
  compression: CompressionCodec
  /** 0 CreateTime, 1 LogAppendTime. */
  timestampType: L.TimestampTypeValue
  isTransactional: boolean
  isControl: boolean
  hasDeleteHorizon: boolean
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

/**
 * Parse the 61-byte header at `pos` (no CRC or consistency checks; see validateBatch).
 * Returns a RecordsError when fewer than 61 bytes remain before `end`.
 */
export function readBatchHeader(buf: Buffer, pos = 0, end = buf.length): BatchInfo | RecordsError {
  if (pos < 0 || end > buf.length || end - pos < L.RECORDS) {
    return corrupt('TRUNCATED', `record batch header needs ${L.RECORDS} bytes, ${Math.max(0, end - pos)} left`)
  }
  const attributes = buf.readInt16BE(pos + L.ATTRIBUTES)
  return {
    position: pos,
    size: L.LOG_OVERHEAD + buf.readInt32BE(pos + L.BATCH_LENGTH),
    baseOffset: L.readInt64AsNumber(buf, pos + L.BASE_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + L.PARTITION_LEADER_EPOCH),
    magic: buf.readInt8(pos + L.MAGIC),
    crc: buf.readUInt32BE(pos + L.CRC),
    attributes,
    compression: (attributes & L.COMPRESSION_MASK) as CompressionCodec,
    timestampType: (attributes & L.TIMESTAMP_TYPE_BIT) === 0 ? 0 : 1,
    isTransactional: (attributes & L.TRANSACTIONAL_BIT) !== 0,
    isControl: (attributes & L.CONTROL_BIT) !== 0,
    hasDeleteHorizon: (attributes & L.DELETE_HORIZON_BIT) !== 0,
    lastOffsetDelta: buf.readInt32BE(pos + L.LAST_OFFSET_DELTA),
    baseTimestamp: L.readInt64AsNumber(buf, pos + L.BASE_TIMESTAMP),
    maxTimestamp: L.readInt64AsNumber(buf, pos + L.MAX_TIMESTAMP),
    producerId: L.readInt64AsNumber(buf, pos + L.PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + L.PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + L.BASE_SEQUENCE),
    recordCount: buf.readInt32BE(pos + L.RECORD_COUNT),
  }
}

/** Offset of the last record of the batch (baseOffset + lastOffsetDelta). */
export function lastOffsetOf(info: BatchInfo): number {
  return info.baseOffset + info.lastOffsetDelta
}

/** Offset the next batch after this one would get. */
export function nextOffsetOf(info: BatchInfo): number {
  return info.baseOffset + info.lastOffsetDelta + 1
}

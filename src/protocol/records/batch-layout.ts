/**
 * Byte layout of a RecordBatch (magic 2) header, shared by the hot path and the full codec.
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
 *  17 crc uint32 (CRC32C of bytes 21..end) | 21 attributes int16 | 23 lastOffsetDelta int32
 *  27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
 *  53 baseSequence int32 | 57 recordCount int32 | 61 records
 * batchLength counts the bytes after itself, so a batch occupies 12 + batchLength bytes.
 */

export const BASE_OFFSET = 0
export const BATCH_LENGTH = 8
export const PARTITION_LEADER_EPOCH = 12
export const MAGIC = 16
export const CRC = 17
export const ATTRIBUTES = 21
export const LAST_OFFSET_DELTA = 23
export const BASE_TIMESTAMP = 27
export const MAX_TIMESTAMP = 35
export const PRODUCER_ID = 43
export const PRODUCER_EPOCH = 51
export const BASE_SEQUENCE = 53
export const RECORD_COUNT = 57
/** Size of the header; records start here. */
export const RECORDS = 61
/** baseOffset + batchLength: what precedes the length-counted part (Kafka's LOG_OVERHEAD). */
export const LOG_OVERHEAD = 12
/** Smallest legal batchLength (a header with no records). */
export const MIN_BATCH_LENGTH = RECORDS - LOG_OVERHEAD
/** Magic byte of record batches; 0 and 1 are the legacy message formats. */
export const CURRENT_MAGIC = 2

/** Attribute bits. */
export const COMPRESSION_MASK = 0x07
export const TIMESTAMP_TYPE_BIT = 0x08
export const TRANSACTIONAL_BIT = 0x10
export const CONTROL_BIT = 0x20
export const DELETE_HORIZON_BIT = 0x40

/** Timestamp types (attributes bit 3). */
export const TimestampType = { CREATE_TIME: 0, LOG_APPEND_TIME: 1 } as const
/** 0 = CreateTime, 1 = LogAppendTime. */
export type TimestampTypeValue = (typeof TimestampType)[keyof typeof TimestampType]

/** Kafka's "no producer id / epoch / sequence" values. */
export const NO_PRODUCER_ID = -1
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
/** Kafka's "no timestamp" value (magic 0 messages, up-converted). */
export const NO_TIMESTAMP = -1

/** Read an int64 as a number: exact while |v| ≤ 2^53, rounded beyond (see BatchInfo). */
export function readInt64AsNumber(buf: Buffer, p: number): number {
  return buf.readInt32BE(p) * 4294967296 + buf.readUInt32BE(p + 4)
}

/** Write a safe-integer number as an int64. */
export function writeInt64FromNumber(buf: Buffer, p: number, v: number): void {
  const hi = Math.floor(v / 4294967296)
  buf.writeInt32BE(hi, p)
  buf.writeUInt32BE(v - hi * 4294967296, p + 4)
}

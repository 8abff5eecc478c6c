/**
 * The ReadResult shapes both engines return: a read outside [logStartOffset, highWatermark] or
 * of an unknown partition is an empty result with an error code, never an exception.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import type { PartitionOffsets, ReadResult } from '../types.ts'

const EMPTY = Buffer.alloc(0)
const NO_OFFSETS: PartitionOffsets = { logStartOffset: -1, highWatermark: -1, lastStableOffset: -1 }

/** A successful read. */
export function readOk(records: Buffer, offsets: PartitionOffsets): ReadResult {
  return { records, offsets, errorCode: ErrorCode.NONE }
}

/** An empty result for an offset outside [logStartOffset, highWatermark]. */
export function readOutOfRange(offsets: PartitionOffsets): ReadResult {
  return { records: EMPTY, offsets, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }
}

/** An empty result for a topic or partition that does not exist (offsets are all -1). */
export function readUnknownPartition(): ReadResult {
  return { records: EMPTY, offsets: { ...NO_OFFSETS }, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
}

/** An empty, successful read (offset == high watermark, or nothing below maxOffset). */
export function readEmpty(offsets: PartitionOffsets): ReadResult {
  return { records: EMPTY, offsets, errorCode: ErrorCode.NONE }
}

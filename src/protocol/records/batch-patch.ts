/**
 * In-place edits a broker makes to stored batches. baseOffset and partitionLeaderEpoch lie
 * outside the CRC (it covers attributes..end) and cost one write; maxTimestamp and the
 * timestamp-type bit lie inside it, so changing them recomputes the CRC32C natively.
 * Callers pass positions of batches already validated (validateBatch / readBatchHeader).
 */
import { crc32c } from '@node-rs/crc32'
import type { BatchInfo } from './batch-header.ts'
import * as L from './batch-layout.ts'

/** Set the batch's baseOffset (a safe-integer number or a bigint). */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number | bigint): void {
  if (typeof baseOffset === 'bigint') buf.writeBigInt64BE(baseOffset, pos + L.BASE_OFFSET)
  else L.writeInt64FromNumber(buf, pos + L.BASE_OFFSET, baseOffset)
}

/** Set the batch's partitionLeaderEpoch. */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + L.PARTITION_LEADER_EPOCH)
}

/** Recompute and store the CRC32C of the batch at pos (size from its batchLength). */
export function updateCrc(buf: Buffer, pos: number): number {
  const size = L.LOG_OVERHEAD + buf.readInt32BE(pos + L.BATCH_LENGTH)
  const crc = crc32c(buf.subarray(pos + L.ATTRIBUTES, pos + size))
  buf.writeUInt32BE(crc, pos + L.CRC)
  return crc
}

/** Set timestampType (attributes bit 3) and maxTimestamp, then fix the CRC. */
export function setMaxTimestamp(
  buf: Buffer,
  pos: number,
  timestampType: L.TimestampTypeValue,
  maxTimestamp: number,
): void {
  const attributes = buf.readInt16BE(pos + L.ATTRIBUTES)
  const next = timestampType === 1 ? attributes | L.TIMESTAMP_TYPE_BIT : attributes & ~L.TIMESTAMP_TYPE_BIT
  buf.writeInt16BE(next, pos + L.ATTRIBUTES)
  L.writeInt64FromNumber(buf, pos + L.MAX_TIMESTAMP, maxTimestamp)
  updateCrc(buf, pos)
}

/**
 * LogAppendTime topics: stamp the batch with the broker's append time. As in Kafka, records keep
 * their deltas; readers take maxTimestamp as every record's timestamp when bit 3 is set. Updates
 * info.maxTimestamp too: storage indexes, ages and rolls segments by it.
 */
export function setLogAppendTime(buf: Buffer, info: BatchInfo, appendTimeMs: number): void {
  setMaxTimestamp(buf, info.position, 1, appendTimeMs)
  info.maxTimestamp = appendTimeMs
}

/**
 * Give consecutive offsets to validated batches of one buffer, starting at firstOffset.
 * Updates each info.baseOffset too; returns the offset after the last record.
 */
export function assignOffsets(buf: Buffer, batches: readonly BatchInfo[], firstOffset: number): number {
  let next = firstOffset
  for (const info of batches) {
    L.writeInt64FromNumber(buf, info.position + L.BASE_OFFSET, next)
    info.baseOffset = next
    next += info.lastOffsetDelta + 1
  }
  return next
}

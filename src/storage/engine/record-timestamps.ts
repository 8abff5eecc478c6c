/**
 * Record-level timestamp lookups inside one stored batch, for ListOffsets (by timestamp and
 * MAX_TIMESTAMP). This is the one place engines decode records: the batch header only says the
 * batch's max timestamp, and the answer must name the exact record. Not on the produce/fetch path.
 */

import { decodeBatch, recordOffset, recordTimestamp } from '../../protocol/records/batch.ts'
import * as L from '../../protocol/records/batch-layout.ts'
import type { TimestampLookup } from '../types.ts'

/** Decompressed records beyond this are refused (a stored batch is at most a request in size). */
const MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024

/** Offset and timestamp of every record of the whole batch at the start of `batch`, in order. */
export async function recordTimestamps(batch: Buffer): Promise<TimestampLookup[]> {
  // Stored batches were validated on append; the CRC is not checked again here.
  const decoded = await decodeBatch(batch, 0, { verifyCrc: false, maxDecompressedBytes: MAX_DECOMPRESSED_BYTES })
  return decoded.records.map((r) => ({
    offset: Number(recordOffset(decoded, r)),
    timestamp: Number(recordTimestamp(decoded, r)),
  }))
}

/** The first record at or after minOffset whose timestamp is >= target, or null. */
export async function firstRecordAtOrAfter(
  batch: Buffer,
  target: number,
  minOffset: number,
): Promise<TimestampLookup | null> {
  for (const r of await recordTimestamps(batch)) {
    if (r.offset >= minOffset && r.timestamp >= target) return r
  }
  return null
}

/** The first record of the batch carrying the batch's max timestamp (its header's maxTimestamp). */
export async function recordWithMaxTimestamp(batch: Buffer): Promise<TimestampLookup> {
  const maxTimestamp = L.readInt64AsNumber(batch, L.MAX_TIMESTAMP)
  const records = await recordTimestamps(batch)
  const hit = records.find((r) => r.timestamp === maxTimestamp)
  if (hit !== undefined) return hit
  // A header whose maxTimestamp matches no record (a lenient producer): name the last record.
  const lastOffset = L.readInt64AsNumber(batch, L.BASE_OFFSET) + batch.readInt32BE(L.LAST_OFFSET_DELTA)
  return { offset: lastOffset, timestamp: maxTimestamp }
}

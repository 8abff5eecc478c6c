/**
 * Helpers for buffers of stored batches (log segments, fetch responses): find where the valid
 * prefix ends (torn tail after a crash) and find the batch holding an offset.
 */
import * as L from './batch-layout.ts'
import { validateBatch } from './batch-validate.ts'
import { RecordsError } from './errors.ts'

/** Result of scanValidPrefix. */
export interface ValidPrefix {
  /** Position just after the last whole, valid batch (== start when there is none). */
  validEnd: number
  /** Number of valid batches. */
  batchCount: number
  /** baseOffset + lastOffsetDelta + 1 of the last valid batch, or -1 when there is none. */
  nextOffset: number
  /** Why scanning stopped before `end`, or null when the whole range is valid. */
  stoppedBy: RecordsError | null
}

/**
 * Walk batches from start and stop at the first incomplete or invalid one (CRC included): what
 * lies after validEnd is a torn or corrupt tail to truncate on recovery.
 */
export function scanValidPrefix(buf: Buffer, start = 0, end = buf.length): ValidPrefix {
  let pos = start
  let batchCount = 0
  let nextOffset = -1
  while (pos < end) {
    const info = validateBatch(buf, pos, end)
    if (info instanceof RecordsError) return { validEnd: pos, batchCount, nextOffset, stoppedBy: info }
    batchCount++
    nextOffset = info.baseOffset + info.lastOffsetDelta + 1
    pos += info.size
  }
  return { validEnd: pos, batchCount, nextOffset, stoppedBy: null }
}

/**
 * Position of the first whole batch in buf[start, end) whose last offset is ≥ offset — the batch
 * a fetch at `offset` starts with (the batch may begin before `offset`; clients skip the earlier
 * records). Reads only baseOffset, batchLength and lastOffsetDelta; no CRC. Returns -1 when no
 * such batch exists or the data stops making sense.
 */
export function findBatchForOffset(buf: Buffer, offset: number, start = 0, end = buf.length): number {
  let pos = start
  while (end - pos >= L.RECORDS) {
    const size = L.LOG_OVERHEAD + buf.readInt32BE(pos + L.BATCH_LENGTH)
    if (size < L.RECORDS || size > end - pos) return -1
    const last = L.readInt64AsNumber(buf, pos + L.BASE_OFFSET) + buf.readInt32BE(pos + L.LAST_OFFSET_DELTA)
    if (last >= offset) return pos
    pos += size
  }
  return -1
}

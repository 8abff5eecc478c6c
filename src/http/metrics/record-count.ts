/**
 * How many records a records field holds, from the batch headers alone (no decoding): magic 2
 * batches carry their count at byte 57; a legacy (magic 0/1) message counts as one. A batch cut
 * short at the end (a fetch may end inside one) is not counted.
 */
const V2_COUNT_AT = 57
const LOG_OVERHEAD = 12

export function recordCount(records: Buffer): number {
  let count = 0
  let pos = 0
  while (pos + LOG_OVERHEAD <= records.length) {
    const next = pos + LOG_OVERHEAD + records.readInt32BE(pos + 8)
    if (next > records.length || next <= pos + LOG_OVERHEAD) break
    count += records[pos + 16] === 2 ? records.readInt32BE(pos + V2_COUNT_AT) : 1
    pos = next
  }
  return count
}

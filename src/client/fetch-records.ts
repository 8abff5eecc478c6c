/**
 * Turns the record bytes of a fetched partition into records: complete v2 batches only (a
 * response may end in a truncated batch), control batches skipped, records before the fetch
 * offset skipped (a fetch may start inside a batch), records of aborted transactions dropped
 * (read_committed), and the next offset to fetch.
 */
import { decodeBatch, recordOffset, recordTimestamp } from '../protocol/records/batch.ts'
import { ControlType, readControlType } from '../protocol/records/control.ts'
import type { RecordHeader } from '../protocol/records/record-codec.ts'

/** A consumed record. */
export interface ConsumerRecord {
  topic: string
  partition: number
  offset: bigint
  /** Milliseconds since the epoch. */
  timestamp: bigint
  /** 0 CreateTime, 1 LogAppendTime. */
  timestampType: number
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[]
}

const LOG_OVERHEAD = 12
const MAGIC_OFFSET = 16

/** Records at or after `fromOffset` and the offset to fetch next. */
/** An aborted transaction listed by a read_committed fetch. */
export interface AbortedTxn {
  producerId: bigint
  firstOffset: bigint
}

/**
 * Records at or after `fromOffset` and the offset to fetch next. With `aborted` (read_committed),
 * a transactional batch is dropped while its producer has an aborted transaction open, i.e. from
 * the transaction's first offset until its ABORT marker (Kafka's consumer does the same).
 */
export async function decodeFetched(
  topic: string,
  partition: number,
  data: Buffer | null,
  fromOffset: bigint,
  aborted: readonly AbortedTxn[] | null = null,
): Promise<{ records: ConsumerRecord[]; nextOffset: bigint }> {
  const pendingAborts = aborted ? [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1)) : []
  const abortedProducers = new Set<bigint>()
  const records: ConsumerRecord[] = []
  let nextOffset = fromOffset
  if (!data) return { records, nextOffset }
  let pos = 0
  while (pos + LOG_OVERHEAD <= data.length) {
    const size = LOG_OVERHEAD + data.readInt32BE(pos + 8)
    if (pos + size > data.length) break
    if (data.length < pos + MAGIC_OFFSET + 1 || data[pos + MAGIC_OFFSET] !== 2) {
      // Legacy message sets are not produced by current clients; skip them by offset.
      pos += size
      continue
    }
    const batch = await decodeBatch(data, pos)
    pos += size
    const last = batch.baseOffset + BigInt(batch.lastOffsetDelta)
    if (last + 1n > nextOffset) nextOffset = last + 1n
    while (pendingAborts.length > 0 && (pendingAborts[0] as AbortedTxn).firstOffset <= last) {
      abortedProducers.add((pendingAborts.shift() as AbortedTxn).producerId)
    }
    if (batch.isControl) {
      const first = batch.records[0]
      if (first && batch.isTransactional && readControlType(first) === ControlType.ABORT) {
        abortedProducers.delete(batch.producerId)
      }
      continue
    }
    if (batch.isTransactional && abortedProducers.has(batch.producerId)) continue
    for (const r of batch.records) {
      const offset = recordOffset(batch, r)
      if (offset < fromOffset) continue
      records.push({
        topic,
        partition,
        offset,
        timestamp: recordTimestamp(batch, r),
        timestampType: batch.timestampType,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })
    }
  }
  return { records, nextOffset }
}

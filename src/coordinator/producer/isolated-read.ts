/**
 * A partition read as a consumer at an isolation level sees it: the one place where the last
 * stable offset (from the producer state) meets the log (from storage). read_uncommitted returns
 * what storage returns; read_committed returns only batches below the last stable offset and the
 * aborted transactions those batches overlap, so the consumer drops their records.
 */
import * as L from '../../protocol/records/batch-layout.ts'
import type { ReadResult, Storage } from '../../storage/types.ts'
import type { AbortedTxn, PartitionProducerState } from './partition-state.ts'

export interface IsolatedReadOptions {
  /** Return the first batch even when larger than maxBytes (KIP-74). */
  minOneBatch: boolean
  readCommitted: boolean
}

export interface IsolatedRead extends ReadResult {
  /** min(high watermark, first offset of the oldest open transaction). */
  lastStableOffset: number
  /** read_committed: the aborted transactions overlapping the returned batches; null otherwise. */
  abortedTransactions: AbortedTxn[] | null
}

/**
 * Reads `partition` from `offset`. `state` is the partition's producer state, if it has any (a
 * partition no idempotent or transactional producer wrote has none, and reads as storage has it).
 */
export async function readIsolated(
  storage: Storage,
  state: PartitionProducerState | undefined,
  topic: string,
  partition: number,
  offset: number,
  maxBytes: number,
  options: IsolatedReadOptions,
): Promise<IsolatedRead> {
  const unstable = state?.firstUnstableOffset() ?? Number.POSITIVE_INFINITY
  const limitToStable = options.readCommitted && Number.isFinite(unstable)
  const read = await storage.read(topic, partition, offset, maxBytes, {
    minOneBatch: options.minOneBatch,
    maxOffset: limitToStable ? unstable : undefined,
  })
  // The producer state may have moved during the read: take the stable offset after it.
  const lastStableOffset = Math.min(
    read.offsets.highWatermark,
    state?.firstUnstableOffset() ?? Number.POSITIVE_INFINITY,
  )
  if (!options.readCommitted) return { ...read, lastStableOffset, abortedTransactions: null }
  const settled = state === undefined || (!Number.isFinite(state.firstUnstableOffset()) && state.aborted.length === 0)
  if (read.records.length === 0 || settled) return { ...read, lastStableOffset, abortedTransactions: [] }
  const { records, end } = stableBatches(read.records, offset, lastStableOffset)
  const abortedTransactions = records.length > 0 && state.aborted.length > 0 ? state.abortedBetween(offset, end) : []
  return { ...read, records, lastStableOffset, abortedTransactions }
}

/**
 * The leading batches of `records` that start below `lastStableOffset` (a transaction may have
 * opened while storage read), and the offset after the last of them.
 */
function stableBatches(records: Buffer, from: number, lastStableOffset: number): { records: Buffer; end: number } {
  let pos = 0
  let end = from
  while (records.length - pos >= L.RECORDS) {
    const base = L.readInt64AsNumber(records, pos + L.BASE_OFFSET)
    if (base >= lastStableOffset) break
    end = base + records.readInt32BE(pos + L.LAST_OFFSET_DELTA) + 1
    pos += L.LOG_OVERHEAD + records.readInt32BE(pos + L.BATCH_LENGTH)
  }
  return { records: pos >= records.length ? records : records.subarray(0, pos), end }
}

/**
 * Whether a batch holds records of one of `aborted` (a read_committed reader drops them): a
 * transactional data batch of the transaction's producer between its first offset and its abort
 * marker. Share groups use it where a consumer would, as the broker acquires for their members.
 */
export function inAbortedTransaction(
  batch: { producerId: number; isTransactional: boolean; isControl: boolean; baseOffset: number },
  aborted: readonly AbortedTxn[],
): boolean {
  if (!batch.isTransactional || batch.isControl) return false
  return aborted.some(
    (a) => a.producerId === batch.producerId && a.firstOffset <= batch.baseOffset && batch.baseOffset < a.lastOffset,
  )
}

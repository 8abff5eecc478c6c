/**
 * What a log cleaner knows of transactions, learnt from the log itself (no coordinator): a
 * scan of the batch headers of the cleanable range, decoding only control batches. Shared by
 * the engines that compact (the local engine reads the headers from its segments, the postgres
 * engine from the columns of its batch rows).
 *
 * - A producer's transactional data batches belong to the transaction its next end marker
 *   (COMMIT or ABORT control batch of the same producer id) closes; a producer has one
 *   transaction open at a time, so its batches between two of its markers are one transaction.
 * - A transactional data batch with no marker after it in the scanned range belongs to a
 *   transaction that is still open as far as the cleaner can tell: the cleaner stops before the
 *   segment holding the first such batch (its own last stable offset, never beyond the real one).
 * - A marker "has data" when a batch of its transaction was still in the log when the scan ran;
 *   as in Kafka's CleanedTransactionMetadata, only a marker without data may be removed, which
 *   takes one pass after the pass that removed the transaction's last batch. An ABORT marker
 *   without data also means its transaction can leave the aborted-transaction index.
 * - Each producer's last data batch and last batch are remembered: the cleaner keeps them (empty
 *   if need be) so the producer's sequence and epoch survive in the log.
 */
import { decodeBatch } from '../../protocol/records/batch.ts'
import type { BatchInfo } from '../../protocol/records/batch-header.ts'
import { ControlType, readEndTxnMarker } from '../../protocol/records/control.ts'

/** What the scan needs of a batch: its header fields (any engine can give them without the bytes). */
export type TxnBatchFacts = Pick<
  BatchInfo,
  'producerId' | 'baseOffset' | 'lastOffsetDelta' | 'isControl' | 'isTransactional'
>

/** An end-transaction marker found by the scan. */
export interface TxnMarker {
  producerId: number
  offset: number
  abort: boolean
  /** Some data batch of its transaction was in the scanned range. */
  hasData: boolean
}

/** The transactions of a scanned range. */
export class TxnIndex {
  /** First offset of a transaction with no marker in the range; Infinity when none. */
  firstUnstableOffset = Number.POSITIVE_INFINITY
  /** producerId → last offset of its last data batch. */
  readonly lastData = new Map<number, number>()
  /** producerId → last offset of its last batch, data or control. */
  readonly lastBatch = new Map<number, number>()
  /** producerId → its markers, by offset. */
  readonly #markers = new Map<number, TxnMarker[]>()
  readonly #markerAt = new Map<number, TxnMarker>()
  /** producerId → first offset of its transactional batches since its last marker. */
  readonly #open = new Map<number, number>()

  /**
   * Feeds the next batch in offset order; `bytes` is the whole batch, decoded only for control
   * batches (a data batch may pass null).
   */
  async observe(header: TxnBatchFacts, bytes: Buffer | null): Promise<void> {
    const pid = header.producerId
    if (pid < 0) return
    const lastOffset = header.baseOffset + header.lastOffsetDelta
    this.lastBatch.set(pid, lastOffset)
    if (!header.isControl) {
      this.lastData.set(pid, lastOffset)
      if (header.isTransactional && !this.#open.has(pid)) this.#open.set(pid, header.baseOffset)
      return
    }
    if (bytes === null) throw new Error(`control batch at ${header.baseOffset} observed without its bytes`)
    const record = (await decodeBatch(bytes)).records[0]
    if (record === undefined) return
    let abort: boolean
    try {
      abort = readEndTxnMarker(record).type === ControlType.ABORT
    } catch {
      return // another control record: ends no transaction, stays as is
    }
    const marker: TxnMarker = { producerId: pid, offset: header.baseOffset, abort, hasData: this.#open.has(pid) }
    this.#open.delete(pid)
    const list = this.#markers.get(pid)
    if (list === undefined) this.#markers.set(pid, [marker])
    else list.push(marker)
    this.#markerAt.set(marker.offset, marker)
  }

  /** Call once every batch was observed. */
  finish(): void {
    for (const first of this.#open.values()) this.firstUnstableOffset = Math.min(this.firstUnstableOffset, first)
  }

  /** Whether the transactional data batch of `producerId` at `offset` belongs to an aborted transaction. */
  isAborted(producerId: number, offset: number): boolean {
    const list = this.#markers.get(producerId)
    if (list === undefined) return false
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((list[mid] as TxnMarker).offset < offset) lo = mid + 1
      else hi = mid
    }
    return list[lo]?.abort ?? false
  }

  /** ABORT markers whose transaction has no batch left in the scanned range. */
  abortsWithoutData(): TxnMarker[] {
    return [...this.#markerAt.values()].filter((m) => m.abort && !m.hasData)
  }

  /** The end-transaction marker at `offset`, if the control batch there is one. */
  markerAt(offset: number): TxnMarker | undefined {
    return this.#markerAt.get(offset)
  }
}

/**
 * Producer state of one partition, as Kafka's ProducerStateManager keeps it: for every producer
 * id its epoch and the metadata of its last 5 batches (sequence range and offsets), the first
 * offset of its open transaction, and the partition's aborted transactions.
 *
 * Two steps per stateful batch, both run in log order:
 * - `check` (synchronous, when the produce request is read): epoch and sequence rules; an
 *   accepted batch is recorded at once (offset unknown), so pipelined requests of the same
 *   producer are judged against it.
 * - `assigned` (called by the storage engine the moment offsets are given out, before the high
 *   watermark moves): offsets are filled in and an open transaction starts, so the last stable
 *   offset never lets a read_committed consumer see a batch of an open transaction.
 * The append's outcome comes last: `completed` once it is stored (durably when asked), or
 * `failed`, which undoes the batch. A retry of a batch still in flight waits for that outcome.
 */

import { ErrorCode } from '../../protocol/error-codes.ts'
import type { BatchInfo } from '../../protocol/records/batch-header.ts'

/** Batches remembered per producer for duplicate detection (max.in.flight.requests.per.connection). */
export const BATCHES_REMEMBERED = 5
const INT32_MAX = 0x7fffffff

/** Metadata of one appended (or appending) batch. */
export interface BatchMeta {
  firstSeq: number
  lastSeq: number
  /** -1 until the storage engine assigned offsets. */
  baseOffset: number
  lastOffsetDelta: number
  timestamp: number
  /**
   * Resolves the base offset once the append completed (durably, when it was asked to be);
   * rejects with the append's error if it failed. A retried batch answers only then.
   */
  done: Promise<number> | null
  settle?: (offset: number) => void
  fail?: (err: unknown) => void
}

/** One producer as a partition knows it. */
export interface ProducerEntry {
  producerId: number
  epoch: number
  batches: BatchMeta[]
  lastTimestamp: number
  coordinatorEpoch: number
  /** First offset of the open transaction in this partition, -1 when none (or not yet assigned). */
  txnFirstOffset: number
  /** A transactional batch that starts a transaction but has no offset yet. */
  txnStarting: BatchMeta | null
}

/** An aborted transaction of this partition: its producer and offset range (marker included). */
export interface AbortedTxn {
  producerId: number
  firstOffset: number
  lastOffset: number
}

/** Outcome of `check` for one batch. */
export type CheckResult =
  | { kind: 'append'; meta: BatchMeta; entry: ProducerEntry }
  | { kind: 'duplicate'; meta: BatchMeta }
  | { kind: 'error'; errorCode: number; message: string }

/** Tells whether a transactional batch belongs to an open transaction (KIP-890 verification). */
export type TxnVerifier = (producerId: number, epoch: number) => number

/** Last sequence of a batch, wrapping at 2^31 as Kafka's sequences do. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta
    ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1
    : baseSequence + lastOffsetDelta
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}

function newMeta(firstSeq: number, lastSeq: number, lastOffsetDelta: number, timestamp: number): BatchMeta {
  const meta: BatchMeta = { firstSeq, lastSeq, baseOffset: -1, lastOffsetDelta, timestamp, done: null }
  meta.done = new Promise<number>((resolve, reject) => {
    meta.settle = resolve
    meta.fail = reject
  })
  // A duplicate may never wait on it; do not report the rejection as unhandled.
  meta.done.catch(() => {})
  return meta
}

/** The producer state of one partition. */
export class PartitionProducerState {
  readonly producers = new Map<number, ProducerEntry>()
  /** Open transactions with a known first offset, by producer id. */
  readonly #open = new Map<number, number>()
  /** Aborted transactions in marker order (so sorted by lastOffset). */
  aborted: AbortedTxn[] = []
  /** Offset just after the last stateful batch applied: where a rebuild from the log resumes. */
  stateEnd = 0
  /** Changed since the last snapshot. */
  dirty = false

  #entry(producerId: number, epoch: number): ProducerEntry {
    let entry = this.producers.get(producerId)
    if (entry === undefined) {
      entry = {
        producerId,
        epoch,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch: -1,
        txnFirstOffset: -1,
        txnStarting: null,
      }
      this.producers.set(producerId, entry)
    }
    return entry
  }

  /**
   * Judges a client batch (producerId ≥ 0) and, when accepted, records it as in flight.
   * Follows Kafka's ProducerAppendInfo: a lower epoch is INVALID_PRODUCER_EPOCH; a new epoch must
   * start at sequence 0; the same epoch must continue the sequence; a batch equal to one of the
   * last 5 is a duplicate; a producer the partition does not know may start anywhere (its state
   * may have been removed with the data that held it, KIP-360).
   */
  check(info: BatchInfo, verify: TxnVerifier | undefined): CheckResult {
    const pid = info.producerId
    const epoch = info.producerEpoch
    const firstSeq = info.baseSequence
    const lastSeq = lastSequenceOf(firstSeq, info.lastOffsetDelta)
    const entry = this.producers.get(pid)
    if (entry !== undefined) {
      if (epoch < entry.epoch) {
        return error(ErrorCode.INVALID_PRODUCER_EPOCH, `Epoch ${epoch} of producer ${pid} is older than ${entry.epoch}`)
      }
      if (epoch === entry.epoch) {
        for (const b of entry.batches) {
          if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', meta: b }
        }
        const last = entry.batches.at(-1)?.lastSeq ?? -1
        if (!inSequence(last, firstSeq)) {
          return error(
            ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `Out of order sequence number for producer ${pid} at epoch ${epoch}: ${firstSeq} (incoming seq. number), ${last} (current end sequence number)`,
          )
        }
      } else if (firstSeq !== 0) {
        return error(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `Invalid sequence number ${firstSeq} for new epoch ${epoch} of producer ${pid}: must start at 0`,
        )
      }
    }
    if (info.isTransactional) {
      const code = verify === undefined ? ErrorCode.INVALID_TXN_STATE : verify(pid, epoch)
      if (code !== ErrorCode.NONE) {
        return error(code, `Producer ${pid} epoch ${epoch} has no open transaction with this partition`)
      }
    } else if (this.inTransaction(pid)) {
      return error(ErrorCode.INVALID_TXN_STATE, `Expected a transactional write from producer ${pid}`)
    }
    const e = this.#entry(pid, epoch)
    if (epoch > e.epoch) {
      e.epoch = epoch
      e.batches = []
    }
    const meta = newMeta(firstSeq, lastSeq, info.lastOffsetDelta, info.maxTimestamp)
    e.batches.push(meta)
    if (e.batches.length > BATCHES_REMEMBERED) e.batches.shift()
    if (info.isTransactional && e.txnFirstOffset < 0 && e.txnStarting === null) e.txnStarting = meta
    this.dirty = true
    return { kind: 'append', meta, entry: e }
  }

  /** Whether the producer has a transaction open here, or its first batch on the way. */
  inTransaction(producerId: number): boolean {
    const entry = this.producers.get(producerId)
    return entry !== undefined && (entry.txnFirstOffset >= 0 || entry.txnStarting !== null)
  }

  /** The storage engine assigned `baseOffset` to an accepted batch. */
  assigned(entry: ProducerEntry, meta: BatchMeta, baseOffset: number): void {
    meta.baseOffset = baseOffset
    entry.lastTimestamp = meta.timestamp
    if (entry.txnStarting === meta) {
      entry.txnStarting = null
      entry.txnFirstOffset = baseOffset
      this.#open.set(entry.producerId, baseOffset)
    }
    this.stateEnd = Math.max(this.stateEnd, baseOffset + meta.lastOffsetDelta + 1)
  }

  /**
   * The append of an accepted batch completed (its offsets were assigned before): a retry of it
   * may now be answered with them. Not earlier: with acks=all the original is acknowledged only
   * once durable, and its append may still fail after offsets were assigned.
   */
  completed(meta: BatchMeta): void {
    meta.settle?.(meta.baseOffset)
  }

  /** The append of an accepted batch failed: forget it, so a retry is judged afresh. */
  failed(entry: ProducerEntry, meta: BatchMeta, err: unknown): void {
    const i = entry.batches.indexOf(meta)
    if (i >= 0) entry.batches.splice(i)
    if (entry.txnStarting === meta) entry.txnStarting = null
    if (entry.txnFirstOffset === meta.baseOffset && meta.baseOffset >= 0) {
      entry.txnFirstOffset = -1
      this.#open.delete(entry.producerId)
    }
    // Offsets of a failed append are void (the engine hands them to the next one): the log is
    // accounted for only up to where this batch would have started.
    if (meta.baseOffset >= 0) this.stateEnd = Math.min(this.stateEnd, meta.baseOffset)
    meta.fail?.(err)
  }

  /** A transaction marker is about to be appended: its epoch fences older writes at once. */
  markerIssued(producerId: number, epoch: number): void {
    const e = this.#entry(producerId, epoch)
    if (epoch > e.epoch) {
      e.epoch = epoch
      e.batches = []
    }
    this.dirty = true
  }

  /** A transaction marker got `offset`: the producer's transaction in this partition ends. */
  markerAssigned(producerId: number, epoch: number, commit: boolean, coordinatorEpoch: number, offset: number): void {
    const e = this.#entry(producerId, epoch)
    if (epoch > e.epoch) {
      e.epoch = epoch
      e.batches = []
    }
    e.coordinatorEpoch = coordinatorEpoch
    if (e.txnFirstOffset >= 0 && !commit) {
      this.aborted.push({ producerId, firstOffset: e.txnFirstOffset, lastOffset: offset })
    }
    e.txnFirstOffset = -1
    this.#open.delete(producerId)
    this.stateEnd = Math.max(this.stateEnd, offset + 1)
    this.dirty = true
  }

  /** Applies a batch read back from the log (rebuild after a restart); no checks. */
  replay(info: BatchInfo, marker: { commit: boolean; coordinatorEpoch: number } | null): void {
    const offset = info.baseOffset
    if (offset < this.stateEnd) return
    if (marker !== null) {
      this.markerAssigned(info.producerId, info.producerEpoch, marker.commit, marker.coordinatorEpoch, offset)
      return
    }
    const e = this.#entry(info.producerId, info.producerEpoch)
    if (info.producerEpoch < e.epoch) return
    if (info.producerEpoch > e.epoch) {
      e.epoch = info.producerEpoch
      e.batches = []
    }
    const lastSeq = lastSequenceOf(info.baseSequence, info.lastOffsetDelta)
    e.batches.push({
      firstSeq: info.baseSequence,
      lastSeq,
      baseOffset: offset,
      lastOffsetDelta: info.lastOffsetDelta,
      timestamp: info.maxTimestamp,
      done: Promise.resolve(offset),
    })
    if (e.batches.length > BATCHES_REMEMBERED) e.batches.shift()
    e.lastTimestamp = info.maxTimestamp
    if (info.isTransactional && e.txnFirstOffset < 0) {
      e.txnFirstOffset = offset
      this.#open.set(info.producerId, offset)
    }
    this.stateEnd = offset + info.lastOffsetDelta + 1
    this.dirty = true
  }

  /** First offset of the oldest open transaction, or Infinity: the last stable offset is min(this, HW). */
  firstUnstableOffset(): number {
    let min = Number.POSITIVE_INFINITY
    for (const offset of this.#open.values()) if (offset < min) min = offset
    return min
  }

  /** Aborted transactions overlapping [from, to). */
  abortedBetween(from: number, to: number): AbortedTxn[] {
    const out: AbortedTxn[] = []
    // Sorted by lastOffset: skip those ending before `from`.
    let lo = 0
    let hi = this.aborted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.aborted[mid] as AbortedTxn).lastOffset < from) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i] as AbortedTxn
      if (a.firstOffset < to) out.push(a)
    }
    return out
  }

  /**
   * Forgets aborted transactions, named by producer and marker offset, whose data the log cleaner
   * removed: they no longer hide anything from read_committed consumers. True if any was listed.
   */
  forgetAborted(txns: readonly { producerId: number; markerOffset: number }[]): boolean {
    const gone = new Set(txns.map((t) => `${t.producerId}@${t.markerOffset}`))
    const kept = this.aborted.filter((a) => !gone.has(`${a.producerId}@${a.lastOffset}`))
    if (kept.length === this.aborted.length) return false
    this.aborted = kept
    this.dirty = true
    return true
  }

  /** Forgets producers idle since before `cutoff` with no transaction open, and aborted ranges below the log start. */
  expire(cutoff: number, logStartOffset: number): void {
    for (const [pid, e] of this.producers) {
      if (e.txnFirstOffset < 0 && e.txnStarting === null && e.lastTimestamp >= 0 && e.lastTimestamp < cutoff) {
        if (e.batches.every((b) => b.baseOffset >= 0)) {
          this.producers.delete(pid)
          this.dirty = true
        }
      }
    }
    const keep = this.aborted.findIndex((a) => a.lastOffset >= logStartOffset)
    if (keep !== 0) {
      this.aborted = keep < 0 ? [] : this.aborted.slice(keep)
      this.dirty = true
    }
  }

  /** JSON for a snapshot: only batches with assigned offsets (in-flight ones replay from the log). */
  toSnapshot(): PartitionSnapshot {
    const producers: SnapshotProducer[] = []
    for (const e of this.producers.values()) {
      producers.push({
        p: e.producerId,
        e: e.epoch,
        t: e.lastTimestamp,
        c: e.coordinatorEpoch,
        f: e.txnFirstOffset,
        b: e.batches
          .filter((b) => b.baseOffset >= 0 && b.baseOffset < this.stateEnd)
          .map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffsetDelta, b.timestamp]),
      })
    }
    return {
      end: this.stateEnd,
      producers,
      aborted: this.aborted.map((a) => [a.producerId, a.firstOffset, a.lastOffset]),
    }
  }

  /** Rebuilds from a snapshot. */
  static fromSnapshot(s: PartitionSnapshot): PartitionProducerState {
    const state = new PartitionProducerState()
    state.stateEnd = s.end
    for (const p of s.producers) {
      state.producers.set(p.p, {
        producerId: p.p,
        epoch: p.e,
        lastTimestamp: p.t,
        coordinatorEpoch: p.c,
        txnFirstOffset: p.f,
        txnStarting: null,
        batches: p.b.map(([firstSeq, lastSeq, baseOffset, lastOffsetDelta, timestamp]) => ({
          firstSeq,
          lastSeq,
          baseOffset,
          lastOffsetDelta,
          timestamp,
          done: Promise.resolve(baseOffset),
        })),
      })
      if (p.f >= 0) state.#open.set(p.p, p.f)
    }
    state.aborted = s.aborted.map(([producerId, firstOffset, lastOffset]) => ({ producerId, firstOffset, lastOffset }))
    return state
  }
}

interface SnapshotProducer {
  p: number
  e: number
  t: number
  c: number
  f: number
  b: [number, number, number, number, number][]
}

/** A partition's producer state as stored in the key-value store. */
export interface PartitionSnapshot {
  end: number
  producers: SnapshotProducer[]
  aborted: [number, number, number][]
}

function error(errorCode: number, message: string): CheckResult {
  return { kind: 'error', errorCode, message }
}

/**
 * What the postgres engine keeps in memory per partition: the offsets as last committed (the
 * leader assigns offsets from its high watermark, so it never asks the database for them), the
 * leader epoch as last seen, and a tail of the most recently committed batches, from which most
 * fetches (consumers reading near the end) are served without a query.
 *
 * The tail is a cache of the database's last rows, always contiguous up to the high watermark; a
 * reload of the partition from the database (after a failed or fenced commit, or a leadership
 * claim that found other writes) empties it, and the log cleaner's rewrites change it as they
 * change the rows. Only the leader's commits fill it: once another engine writes the partition
 * or raises its epoch (its notice, or a read of the database that shows it), the partition is
 * `foreign`, the tail goes and reads go to the database, up to the high watermark the database
 * had when this engine last heard, never above.
 */
import type { PartitionOffsets, ReadOptions } from '../types.ts'

/** What the database stores of a partition, as a reload takes it. */
export interface StoredPartition {
  logStartOffset: number
  highWatermark: number
  leaderEpoch: number
  /** partitions.commit_fence: a commit writes only where it is the one the leader read (group-commit.ts). */
  commitFence: number
}

/** What another engine, or the database, says of a partition's offsets and epoch. */
export interface PartitionView {
  logStartOffset: number
  highWatermark: number
  leaderEpoch: number
}

/** What taking a view raised (the engine's listeners hear of it). */
export interface ViewChange {
  highWatermark: boolean
  leaderEpoch: boolean
}

const UNCHANGED: ViewChange = { highWatermark: false, leaderEpoch: false }

/** A committed batch held in the tail. */
export interface TailBatch {
  baseOffset: number
  lastOffset: number
  bytes: Buffer
}

/** One partition's state. */
export class PartitionState {
  readonly topic: string
  readonly topicId: string
  readonly partition: number
  logStartOffset: number
  /** The end of the committed log: every batch below it is in the database. */
  highWatermark: number
  /** The stored leader epoch as this engine last saw it (it only grows). */
  leaderEpoch: number
  /** The stored commit fence as this engine last read or raised it. */
  commitFence: number
  /** The epoch of this engine's last successful claim or commit, -1 before any. */
  ownEpoch = -1
  /**
   * Another engine wrote the partition or raised its epoch since this engine last claimed it or
   * committed to it: the tail is gone, the log cleaner leaves the partition alone, and rows read
   * from the database are taken as they are (this engine's commits do not explain them).
   * A partition first read with an epoch above 0 is someone's claim, so foreign until claimed here.
   */
  foreign: boolean
  /** The commit outcome is unknown (a lost connection) or another writer moved the partition. */
  needsReload = false
  /** The topic was deleted (or recreated under a new id): appends are refused. */
  deleted = false
  #tail: TailBatch[] = []
  #tailStart = 0
  #tailBytes = 0
  readonly #maxTailBytes: number

  constructor(topic: string, topicId: string, partition: number, row: StoredPartition, maxTailBytes: number) {
    this.topic = topic
    this.topicId = topicId
    this.partition = partition
    this.logStartOffset = row.logStartOffset
    this.highWatermark = row.highWatermark
    this.leaderEpoch = row.leaderEpoch
    this.commitFence = row.commitFence
    this.foreign = row.leaderEpoch > 0
    this.#maxTailBytes = maxTailBytes
  }

  /** This engine leads the partition, as far as it knows: its last claim or commit holds the stored epoch. */
  get leads(): boolean {
    return !this.foreign && this.ownEpoch === this.leaderEpoch
  }

  offsets(): PartitionOffsets {
    return {
      logStartOffset: this.logStartOffset,
      highWatermark: this.highWatermark,
      lastStableOffset: this.highWatermark,
    }
  }

  /**
   * Takes the database's view of the partition, read with no commit of it in flight (before a
   * commit, in a claim); the tail goes unless the log end is unchanged. A log end or epoch above
   * what this engine knew is another engine's doing.
   */
  reload(row: StoredPartition): ViewChange {
    const change = {
      highWatermark: row.highWatermark > this.highWatermark,
      leaderEpoch: row.leaderEpoch > this.leaderEpoch,
    }
    if (change.highWatermark || change.leaderEpoch) this.foreign = true
    if (row.highWatermark !== this.highWatermark) this.#clearTail()
    this.logStartOffset = row.logStartOffset
    this.highWatermark = row.highWatermark
    this.leaderEpoch = Math.max(this.leaderEpoch, row.leaderEpoch)
    this.commitFence = row.commitFence
    this.needsReload = false
    return change
  }

  /** This engine's claim of `epoch` (or its commit with it) holds: the partition is its own. */
  own(epoch: number): void {
    this.ownEpoch = epoch
    this.foreign = false
  }

  /**
   * Another engine's change (its notice): each value only rises. A higher log end or epoch, or
   * rewritten rows, are another writer's: the tail goes, the partition is foreign, and the next
   * commit re-reads the partition first (it is fenced if this engine no longer leads).
   */
  takeForeign(view: PartitionView, rewritten: boolean): ViewChange {
    if (this.deleted) return UNCHANGED
    const change = {
      highWatermark: view.highWatermark > this.highWatermark,
      leaderEpoch: view.leaderEpoch > this.leaderEpoch,
    }
    if (change.highWatermark || change.leaderEpoch || rewritten) {
      this.#clearTail()
      this.foreign = true
      this.needsReload = true
    }
    if (change.highWatermark) this.highWatermark = view.highWatermark
    if (change.leaderEpoch) this.leaderEpoch = view.leaderEpoch
    this.advanceLogStart(Math.min(view.logStartOffset, this.highWatermark))
    return change
  }

  /**
   * A view read from the database at any moment (a re-read of every partition, a leader epoch
   * read). While this engine leads at the stored epoch, the log end is its own to move (a commit
   * of it may have landed, its answer not yet here): only the log start is taken. Otherwise the
   * view is taken as another engine's.
   */
  takeStored(view: PartitionView): ViewChange {
    if (this.leads && view.leaderEpoch === this.leaderEpoch) {
      this.advanceLogStart(Math.min(view.logStartOffset, this.highWatermark))
      return UNCHANGED
    }
    return this.takeForeign(view, false)
  }

  /** Moves the log start forward and drops tail batches wholly below it. */
  advanceLogStart(offset: number): void {
    if (offset <= this.logStartOffset) return
    this.logStartOffset = offset
    while (this.#tailStart < this.#tail.length && (this.#tail[this.#tailStart] as TailBatch).lastOffset < offset) {
      this.#dropFirst()
    }
    this.#compactTail()
  }

  /** Adds batches just committed (contiguous with the tail) and trims the tail to its budget. */
  addToTail(batches: TailBatch[]): void {
    const last = this.#tail[this.#tail.length - 1]
    const first = batches[0]
    if (last !== undefined && first !== undefined && first.baseOffset !== last.lastOffset + 1) this.#clearTail()
    for (const b of batches) {
      this.#tail.push(b)
      this.#tailBytes += b.bytes.length
    }
    while (this.#tailBytes > this.#maxTailBytes && this.#tail.length > this.#tailStart) this.#dropFirst()
    this.#compactTail()
  }

  /**
   * The log cleaner rewrote these batches in the database (base offset → new bytes, or null for
   * a batch it removed): the tail holds what the database holds, so that no read is served a
   * batch the compaction removed.
   */
  compacted(changes: ReadonlyMap<number, Buffer | null>): void {
    if (changes.size === 0 || this.#tail.length === this.#tailStart) return
    const kept: TailBatch[] = []
    for (let i = this.#tailStart; i < this.#tail.length; i++) {
      const batch = this.#tail[i] as TailBatch
      const change = changes.get(batch.baseOffset)
      if (change === undefined) {
        kept.push(batch)
        continue
      }
      this.#tailBytes -= batch.bytes.length
      if (change === null) continue
      kept.push({ ...batch, bytes: change })
      this.#tailBytes += change.length
    }
    this.#tail = kept
    this.#tailStart = 0
  }

  /**
   * Drops the tail's batches below `offset`, whose database rows may have changed in a way this
   * engine does not know (a rewrite whose commit outcome is unknown): reads there go to the database.
   */
  dropTailBelow(offset: number): void {
    while (this.#tailStart < this.#tail.length && (this.#tail[this.#tailStart] as TailBatch).baseOffset < offset) {
      this.#dropFirst()
    }
    this.#compactTail()
  }

  /** True when a read from `offset` can be served from the tail alone. */
  tailCovers(offset: number): boolean {
    const first = this.#tail[this.#tailStart]
    return first !== undefined && offset >= first.baseOffset
  }

  /** Whole batches from the tail, from the one holding `offset`, as ReadOptions and maxBytes allow. */
  readTail(offset: number, maxBytes: number, options: ReadOptions): Buffer[] {
    const end = Math.min(options.maxOffset ?? Number.POSITIVE_INFINITY, this.highWatermark)
    const parts: Buffer[] = []
    let bytes = 0
    for (let i = this.#indexOf(offset); i < this.#tail.length; i++) {
      const batch = this.#tail[i] as TailBatch
      if (batch.baseOffset >= end) break
      const fits = bytes + batch.bytes.length <= maxBytes
      if (!fits && !(parts.length === 0 && options.minOneBatch)) break
      parts.push(batch.bytes)
      bytes += batch.bytes.length
      if (!fits) break
    }
    return parts
  }

  /** Index of the first tail batch whose last offset is >= offset. */
  #indexOf(offset: number): number {
    let lo = this.#tailStart
    let hi = this.#tail.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#tail[mid] as TailBatch).lastOffset < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #dropFirst(): void {
    const first = this.#tail[this.#tailStart] as TailBatch
    this.#tailBytes -= first.bytes.length
    this.#tail[this.#tailStart] = undefined as unknown as TailBatch
    this.#tailStart++
  }

  /** Drops the slots of evicted batches once they are most of the array. */
  #compactTail(): void {
    if (this.#tailStart > 64 && this.#tailStart * 2 > this.#tail.length) {
      this.#tail = this.#tail.slice(this.#tailStart)
      this.#tailStart = 0
    }
  }

  #clearTail(): void {
    this.#tail = []
    this.#tailStart = 0
    this.#tailBytes = 0
  }
}

/**
 * Group commit for one partition. Each completed write gets a sequence number; a caller that
 * needs durability waits for a sync covering its number. One fdatasync runs at a time: writes
 * that complete while it runs wait for the next one, which then covers all of them, so N
 * concurrent acks=all appends cost far fewer than N syncs.
 *
 * Across partitions, SyncSlots bounds how many fdatasyncs run at once. Each one holds a libuv
 * thread-pool thread for a whole device flush; with one per busy partition in flight they take
 * every thread, and the writes and reads of all partitions queue behind them. A sync that waits
 * for a slot instead covers whatever was written meanwhile.
 */
import type { StorageMetrics } from '../engine/storage-metrics.ts'

interface Waiter {
  seq: number
  resolve: () => void
  reject: (err: unknown) => void
}

/** Counters shared by every partition of an engine (exposed to tests as `stats`). */
export interface SyncStats {
  /** fdatasync calls made for log data (group commits, periodic flushes, rolls). */
  fdatasyncs: number
  /** append() calls completed. */
  appends: number
  /** File writes of appended data (concurrent appends to a partition share one). */
  writes: number
}

/** libuv's thread-pool size for this process (UV_THREADPOOL_SIZE, 4 by default). */
function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE)
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4
}

/**
 * Limits concurrent fdatasyncs of an engine. Up to `limit` run freely (by default two thread-pool
 * threads stay free for writes and reads). A partition with no write under way gains nothing by
 * waiting, since nothing more would join its sync, so it may start one beyond that, up to
 * `burst` (the whole pool): one producer per partition then still gets concurrent syncs, which
 * the file system folds into shared journal commits.
 */
export class SyncSlots {
  readonly #limit: number
  readonly #burst: number
  #busy = 0
  readonly #waiting: { start: () => void; writing: () => boolean }[] = []

  constructor(limit = Math.max(1, threadPoolSize() - 2), burst = Math.max(limit, threadPoolSize())) {
    this.#limit = limit
    this.#burst = burst
  }

  /**
   * Calls `start` once a slot is free (at once if one is); `start` must release() it.
   * `writing` tells whether more writes are coming that a later start would cover.
   */
  acquire(start: () => void, writing: () => boolean): void {
    if (this.#mayStart(writing)) {
      this.#busy++
      start()
    } else {
      this.#waiting.push({ start, writing })
    }
  }

  /** Frees a slot and starts the longest waiter that may now start. */
  release(): void {
    this.#busy--
    const i = this.#waiting.findIndex((w) => this.#mayStart(w.writing))
    if (i < 0) return
    const [next] = this.#waiting.splice(i, 1)
    this.#busy++
    next?.start()
  }

  #mayStart(writing: () => boolean): boolean {
    return this.#busy < this.#limit || (this.#busy < this.#burst && !writing())
  }
}

/** Sync coordination for the writes of one partition. */
export class GroupSync {
  readonly #sync: () => Promise<void>
  readonly #writing: () => boolean
  readonly #slots: SyncSlots
  readonly #stats: SyncStats
  readonly #metrics: StorageMetrics | undefined
  /** Appends and bytes written since the last sync started (the next one's group-commit size). */
  #unsyncedAppends = 0
  #unsyncedBytes = 0
  #written = 0
  #synced = 0
  #running = false
  #waiters: Waiter[] = []

  /**
   * `sync` makes every completed write durable (an fdatasync of the active segment);
   * `writing` tells whether writes are under way that a sync starting later would cover;
   * `metrics`, if any, gets each sync's appends and bytes.
   */
  constructor(
    sync: () => Promise<void>,
    slots: SyncSlots,
    stats: SyncStats,
    writing: () => boolean,
    metrics?: StorageMetrics,
  ) {
    this.#sync = sync
    this.#writing = writing
    this.#slots = slots
    this.#stats = stats
    this.#metrics = metrics
  }

  /** Records a completed write of `appends` appends and `bytes` bytes; returns its sequence number. */
  wrote(appends: number, bytes: number): number {
    this.#unsyncedAppends += appends
    this.#unsyncedBytes += bytes
    return ++this.#written
  }

  /** Records that everything written so far is durable (a roll synced the segment). */
  markAllSynced(): void {
    this.#synced = this.#written
    this.#unsyncedAppends = 0
    this.#unsyncedBytes = 0
  }

  /** True when some completed write is not yet known to be durable. */
  get dirty(): boolean {
    return this.#synced < this.#written
  }

  /** Resolves once write `seq` is durable. */
  waitFor(seq: number): Promise<void> {
    if (seq <= this.#synced) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ seq, resolve, reject })
      this.#kick()
    })
  }

  /** Syncs everything written so far (periodic flush, close). */
  flush(): Promise<void> {
    return this.waitFor(this.#written)
  }

  #kick(): void {
    if (this.#running || this.#waiters.length === 0) return
    this.#running = true
    this.#slots.acquire(() => {
      // Everything completed before the sync starts is covered by it.
      const target = this.#written
      const appends = this.#unsyncedAppends
      const bytes = this.#unsyncedBytes
      this.#unsyncedAppends = 0
      this.#unsyncedBytes = 0
      this.#stats.fdatasyncs++
      this.#sync().then(
        () => {
          this.#metrics?.syncAppends.observe(appends)
          this.#metrics?.syncBytes.observe(bytes)
          this.#settle(target, null)
        },
        (err: unknown) => {
          // Still to be synced: the next sync writes them again.
          this.#unsyncedAppends += appends
          this.#unsyncedBytes += bytes
          this.#settle(target, err)
        },
      )
    }, this.#writing)
  }

  #settle(target: number, err: unknown): void {
    this.#running = false
    if (err === null) this.#synced = Math.max(this.#synced, target)
    const settled: Waiter[] = []
    const still: Waiter[] = []
    for (const w of this.#waiters) {
      if (w.seq <= this.#synced || (err !== null && w.seq <= target)) settled.push(w)
      else still.push(w)
    }
    this.#waiters = still
    // The next sync starts before the answers to this one go out, keeping the disk busy.
    this.#slots.release()
    this.#kick()
    for (const w of settled) {
      if (w.seq <= this.#synced) w.resolve()
      else w.reject(err)
    }
  }
}

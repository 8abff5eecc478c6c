/**
 * Group commit for one partition. Each completed write gets a sequence number; a caller that
 * needs durability waits for a sync covering its number. One fdatasync runs at a time: writes
 * that complete while it runs wait for the next one, which then covers all of them, so N
 * concurrent acks=all appends cost far fewer than N syncs.
 */

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

/** Sync coordination for the writes of one partition. */
export class GroupSync {
  readonly #sync: () => Promise<void>
  readonly #stats: SyncStats
  #written = 0
  #synced = 0
  #running = false
  #waiters: Waiter[] = []

  /** `sync` makes every completed write durable (an fdatasync of the active segment). */
  constructor(sync: () => Promise<void>, stats: SyncStats) {
    this.#sync = sync
    this.#stats = stats
  }

  /** Records a completed write; returns its sequence number. */
  wrote(): number {
    return ++this.#written
  }

  /** Records that everything written so far is durable (a roll synced the segment). */
  markAllSynced(): void {
    this.#synced = this.#written
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
    // Everything completed before the sync starts is covered by it.
    const target = this.#written
    this.#stats.fdatasyncs++
    this.#sync().then(
      () => this.#settle(target, null),
      (err: unknown) => this.#settle(target, err),
    )
  }

  #settle(target: number, err: unknown): void {
    this.#running = false
    if (err === null) this.#synced = Math.max(this.#synced, target)
    const still: Waiter[] = []
    for (const w of this.#waiters) {
      if (w.seq <= this.#synced) w.resolve()
      else if (err !== null && w.seq <= target) w.reject(err)
      else still.push(w)
    }
    this.#waiters = still
    this.#kick()
  }
}

/**
 * Which keys (group ids, transactional ids) a coordinator holds in memory, when several brokers
 * share one store and the coordinator of a key moves between them as brokers join and die.
 *
 * A coordinator holds only the keys it coordinates (the broker's `coordinates` predicate). When
 * the broker says the answer may have changed (`changed`), the keys it lost are dropped from
 * memory at once, timers included and nothing written (their next coordinator owns them now),
 * and the keys it gained that have stored state are loaded fresh. A key it coordinates but has
 * not read since it gained it is loaded on first use; after a full pass over the stored keys,
 * every other key it coordinates is known to have no state yet. Kafka's coordinator likewise
 * loads a partition of its state topic when it becomes its leader and answers
 * COORDINATOR_LOAD_IN_PROGRESS meanwhile.
 *
 * Writes stay the coordinator's: each is a compare-and-set over the version it read, and one that
 * is refused (another coordinator wrote since) drops the key, to be read again (`refused`).
 */
import { ErrorCode } from '../protocol/error-codes.ts'
import type { Log } from '../util/logger.ts'

/** Keys read from the store at once during a pass. */
const LOAD_CONCURRENCY = 16

/** Whether a coordinator coordinates a key (a group id or transactional id) now. */
export type CoordinatesPredicate = (key: string) => boolean

export interface CoordinatedKeysOptions {
  /** Default: every key (one broker owns the store). */
  coordinates?: CoordinatesPredicate
  /** The keys that have stored state. */
  list: () => Promise<Iterable<string>>
  /**
   * Reads one key's stored state and returns what installs it in memory; it is installed only if
   * the key is still this coordinator's once read.
   */
  read: (key: string) => Promise<() => void>
  /** Drops one key's state from memory and stops its timers, without writing anything. */
  unload: (key: string) => void
  log: Log
  /** What the keys are, for log lines ('group', 'transactional id'). */
  what: string
}

/** The keys a coordinator holds, and their loading. */
export class CoordinatedKeys {
  readonly #o: CoordinatedKeysOptions
  /** Keys whose state is in memory (read from the store, created here, or known absent). */
  readonly #loaded = new Set<string>()
  readonly #loading = new Map<string, Promise<void>>()
  /** Keys dropped after a refused write: they must be read again even after a full pass. */
  readonly #stale = new Set<string>()
  /** A pass over the stored keys finished since the last change: unread keys have no state. */
  #complete = false
  #changes = 0
  #closed = false

  constructor(options: CoordinatedKeysOptions) {
    this.#o = options
  }

  coordinates(key: string): boolean {
    return this.#o.coordinates?.(key) ?? true
  }

  /** Whether the key's stored state is in memory. */
  isLoaded(key: string): boolean {
    if (this.#loaded.has(key)) return true
    return this.#complete && !this.#stale.has(key) && !this.#loading.has(key)
  }

  /**
   * NONE when the key is this coordinator's and in memory; else NOT_COORDINATOR, or
   * COORDINATOR_LOAD_IN_PROGRESS with its load started (clients retry that).
   */
  check(key: string): number {
    if (!this.coordinates(key)) return ErrorCode.NOT_COORDINATOR
    if (this.#loaded.has(key)) return ErrorCode.NONE
    if (this.isLoaded(key)) {
      // Known to have no stored state: from now on it is in memory whatever the next pass finds.
      this.#loaded.add(key)
      return ErrorCode.NONE
    }
    if (this.#closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    this.load(key).catch((err: unknown) => this.#loadFailed(key, err))
    return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
  }

  /** As check, but waits for the load: NONE, NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE. */
  async ensure(key: string): Promise<number> {
    const code = this.check(key)
    if (code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return code
    try {
      await this.load(key)
    } catch (err) {
      this.#loadFailed(key, err)
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    const after = this.check(key)
    return after === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : after
  }

  /** Reads one key's state (once, however many ask meanwhile). */
  load(key: string): Promise<void> {
    let p = this.#loading.get(key)
    if (p === undefined) {
      p = this.#read(key).finally(() => this.#loading.delete(key))
      this.#loading.set(key, p)
    }
    return p
  }

  async #read(key: string): Promise<void> {
    const install = await this.#o.read(key)
    if (this.#closed || !this.coordinates(key)) return
    install()
    this.#loaded.add(key)
    this.#stale.delete(key)
  }

  #loadFailed(key: string, err: unknown): void {
    this.#o.log.error({ err, key }, `loading a ${this.#o.what} failed`)
  }

  /**
   * The answer of `coordinates` may have changed: drops the keys lost (synchronously, before
   * the promise is even returned), then loads the keys gained that have stored state.
   */
  changed(): Promise<void> {
    this.#changes++
    this.#complete = false
    for (const key of [...this.#loaded, ...this.#stale]) if (!this.coordinates(key)) this.#drop(key)
    return this.#pass()
  }

  async #pass(): Promise<void> {
    const changes = this.#changes
    const keys = [...(await this.#o.list())].filter((k) => this.coordinates(k) && !this.isLoaded(k))
    let failed = false
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < keys.length && !this.#closed) {
        const key = keys[next++] as string
        await this.load(key).catch((err: unknown) => {
          failed = true
          this.#loadFailed(key, err)
        })
      }
    }
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, keys.length) }, worker))
    // A key that failed to load must not pass for one without state.
    if (changes === this.#changes && !failed && !this.#closed) this.#complete = true
  }

  /** Every key in memory. */
  keys(): IterableIterator<string> {
    return this.#loaded.values()
  }

  #drop(key: string): void {
    this.#loaded.delete(key)
    this.#stale.delete(key)
    this.#o.unload(key)
  }

  /**
   * A write of the key was refused or its outcome is unknown (another coordinator wrote since,
   * or this one no longer coordinates it): the key leaves memory without writing, and is read
   * again if it is still this coordinator's.
   */
  refused(key: string): void {
    this.#drop(key)
    if (!this.coordinates(key) || this.#closed) return
    this.#stale.add(key)
    this.load(key).catch((err: unknown) => this.#loadFailed(key, err))
  }

  /** The key's state was deleted here: it need not be remembered as known absent. */
  forget(key: string): void {
    if (this.#complete) this.#loaded.delete(key)
  }

  /** No load starts any more. */
  close(): void {
    this.#closed = true
  }
}

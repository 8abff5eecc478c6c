import type { StorageHealth } from '../types.ts'

/**
 * An engine's health from the outcomes of its I/O: a fault stands until an operation succeeds
 * again (a disk that filled up and was freed, a database connection that came back).
 */
export class IoHealth {
  readonly #now: () => number
  #fault: { error: string; since: number } | undefined
  #closed = false

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** An operation failed on I/O; `since` stays at the first failure of a run of them. */
  failed(err: unknown): void {
    const error = err instanceof Error ? err.message : String(err)
    this.#fault = { error, since: this.#fault?.since ?? this.#now() }
  }

  succeeded(): void {
    this.#fault = undefined
  }

  closed(): void {
    this.#closed = true
  }

  get state(): StorageHealth {
    if (this.#closed) return { ok: false, error: 'storage is closed' }
    return this.#fault === undefined ? { ok: true } : { ok: false, ...this.#fault }
  }
}

import { type Clock, systemClock } from '../clock.ts'

/**
 * Named one-shot timers owned by one group: setting a name again replaces its timer, and
 * `clearAll` cancels everything; `close` also refuses new ones, once the group has left memory
 * (deleted, handed to another coordinator, broker closed). Timers are unref'd so a pending
 * session timeout never keeps the process alive.
 */
export class GroupTimers {
  readonly #timers = new Map<string, unknown>()
  readonly #clock: Clock
  #closed = false

  constructor(clock: Clock = systemClock) {
    this.#clock = clock
  }

  /** (Re)arms the timer `name` to run `fn` once after `ms` milliseconds. */
  set(name: string, ms: number, fn: () => void): void {
    this.clear(name)
    if (this.#closed) return
    const t = this.#clock.setTimeout(
      () => {
        this.#timers.delete(name)
        fn()
      },
      Math.max(0, ms),
    )
    this.#timers.set(name, t)
  }

  has(name: string): boolean {
    return this.#timers.has(name)
  }

  clear(name: string): void {
    const t = this.#timers.get(name)
    if (t !== undefined) {
      this.#clock.clearTimeout(t)
      this.#timers.delete(name)
    }
  }

  clearAll(): void {
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t)
    this.#timers.clear()
  }

  /** Cancels everything and arms nothing any more. */
  close(): void {
    this.#closed = true
    this.clearAll()
  }
}

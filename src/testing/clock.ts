import type { Clock } from '../coordinator/clock.ts'

interface Pending {
  due: number
  fn: () => void
  timer: NodeJS.Timeout | undefined
}

/**
 * A clock that runs with real time but can be moved forward: `now()` is the system time plus
 * every `advance()` so far. Timers are due at a time of this clock, so `advance(ms)` fires at once
 * the ones it jumps over (in due order) and re-arms the others for what is left of their wait.
 * Time never stands still, so long-polls and client heartbeats keep working while a test skips
 * over a 30 s session timeout.
 */
export class TestClock implements Clock {
  #offset = 0
  readonly #pending = new Set<Pending>()

  /** Milliseconds since the epoch, as the broker sees them. */
  now(): number {
    return Date.now() + this.#offset
  }

  /** How far this clock is ahead of the system clock, in milliseconds. */
  get offsetMs(): number {
    return this.#offset
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const p: Pending = { due: this.now() + Math.max(0, ms), fn, timer: undefined }
    this.#pending.add(p)
    this.#arm(p)
    return p
  }

  clearTimeout(handle: unknown): void {
    const p = handle as Pending
    clearTimeout(p.timer)
    this.#pending.delete(p)
  }

  /** Moves time forward by `ms` and runs every timer that became due, earliest first. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance needs a non-negative number of milliseconds, got ${ms}`)
    this.#offset += ms
    const now = this.now()
    const due = [...this.#pending].filter((p) => p.due <= now).sort((a, b) => a.due - b.due)
    for (const p of this.#pending) if (p.due > now) this.#arm(p)
    for (const p of due) if (this.#pending.has(p)) this.#fire(p)
  }

  #arm(p: Pending): void {
    clearTimeout(p.timer)
    p.timer = setTimeout(() => this.#fire(p), Math.max(0, p.due - this.now()))
    p.timer.unref()
  }

  #fire(p: Pending): void {
    clearTimeout(p.timer)
    if (!this.#pending.delete(p)) return
    p.fn()
  }
}

/**
 * Time as the coordinators see it: the current time and one-shot timers. The broker runs on the
 * system clock; samsa/testing injects a clock it can move forward, so a session or transaction
 * timeout fires in a test without waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Runs `fn` once after `ms` milliseconds of this clock's time; the timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The system clock, with unref'd timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

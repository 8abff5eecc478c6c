/**
 * Waiting for the broker to reach a state, instead of sleeping: each helper checks the broker's
 * in-process state (cheap: no I/O) whenever it may have changed, and fails after a timeout with
 * what it wanted and what it last saw.
 */

export interface WaitOptions {
  /** Give up after this many milliseconds (default 10 000). */
  timeoutMs?: number
}

/** Thrown when a wait helper times out; the message says what was expected and what was seen. */
export class WaitTimeoutError extends Error {
  readonly code = 'SAMSA_ERR_WAIT_TIMEOUT'
  constructor(message: string) {
    super(message)
    this.name = 'WaitTimeoutError'
  }
}

export const DEFAULT_WAIT_MS = 10_000
const POLL_MS = 5

/**
 * Resolves the first truthy value `check` returns. `check` runs at once, then whenever `wake`
 * resolves (an event such as an append), or every few milliseconds without one. On timeout it
 * rejects with "timed out after N ms waiting for <what>; <describe()>".
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  options: WaitOptions & { describe?: () => string | Promise<string>; wake?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false && value !== null) return value
    const left = deadline - Date.now()
    if (left <= 0) {
      const seen = options.describe ? `; ${await options.describe()}` : ''
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`)
    }
    if (options.wake) await options.wake(Math.min(left, 250))
    else await new Promise((resolve) => setTimeout(resolve, Math.min(left, POLL_MS)))
  }
}

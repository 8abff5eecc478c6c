/** Retries with exponential backoff and jitter, for retriable Kafka errors and lost connections. */
import { setTimeout as sleep } from 'node:timers/promises'
import { isRetriable } from './errors.ts'

/** How often and how long to retry. */
export interface RetryOptions {
  /** Attempts after the first one (default 5). */
  retries?: number
  /** First backoff (default 100 ms); doubles each attempt up to maxBackoffMs. */
  initialBackoffMs?: number
  maxBackoffMs?: number
  /** Decides whether an error is retried (default: isRetriable). */
  shouldRetry?: (err: unknown) => boolean
  /** Called before each retry, e.g. to refresh metadata. */
  onRetry?: (err: unknown, attempt: number) => void | Promise<void>
}

/** Backoff before retry number `attempt` (1-based): exponential, ±20% jitter. */
export function backoffMs(attempt: number, initial = 100, max = 1000): number {
  const base = Math.min(max, initial * 2 ** (attempt - 1))
  return Math.round(base * (0.8 + Math.random() * 0.4))
}

/** Runs `fn`, retrying it while it fails with a retriable error. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 5
  const shouldRetry = options.shouldRetry ?? isRetriable
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      if (attempt >= retries || !shouldRetry(err)) throw err
      await options.onRetry?.(err, attempt + 1)
      await sleep(backoffMs(attempt + 1, options.initialBackoffMs, options.maxBackoffMs))
    }
  }
}

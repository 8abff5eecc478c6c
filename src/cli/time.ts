/** Parses times given on the command line: milliseconds since the epoch or an ISO 8601 date. */
import { UsageError } from './common.ts'

/** Milliseconds since the epoch of `value` (digits, or a date Date.parse understands). */
export function parseTime(value: string): number {
  if (/^\d+$/.test(value)) return Number(value)
  const ms = Date.parse(value)
  if (Number.isNaN(ms))
    throw new UsageError(
      `invalid time "${value}" (use milliseconds since the epoch or an ISO date like 2024-05-01T12:00:00Z)`,
    )
  return ms
}

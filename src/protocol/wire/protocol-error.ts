/**
 * The one error a decoder throws for malformed or truncated bytes. The server maps it to a closed
 * connection (and a log line naming the API, version and byte offset).
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
  /** Byte offset in the frame where decoding failed. */
  offset: number
  apiKey: number | undefined
  apiVersion: number | undefined

  constructor(message: string, offset: number) {
    super(message)
    this.offset = offset
  }

  /** Records which message was being decoded, for the log line. */
  withContext(apiKey: number, apiVersion: number): this {
    this.apiKey = apiKey
    this.apiVersion = apiVersion
    this.message = `${this.message} (api ${apiKey} v${apiVersion}, offset ${this.offset})`
    return this
  }
}

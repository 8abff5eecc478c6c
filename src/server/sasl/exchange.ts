/** What every SASL mechanism's server side offers the broker's authenticator. */

/** One authentication in progress on a connection. */
export interface SaslExchange {
  /**
   * Takes the client's next token and resolves the server's answer; `user` is set once the
   * client is authenticated. Rejects with a SaslFailure when it is not.
   */
  evaluate(token: Buffer): Promise<{ challenge: Buffer; user?: string }>
}

/**
 * A failed authentication: `message` is what the client is told (never which part was wrong),
 * `reason` what the broker logs.
 */
export class SaslFailure extends Error {
  readonly reason: string

  constructor(message: string, reason: string) {
    super(message)
    this.name = 'SaslFailure'
    this.reason = reason
  }
}

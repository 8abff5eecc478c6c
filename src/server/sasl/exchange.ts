/** What every SASL mechanism's server side offers the broker's authenticator. */

/** The server's answer to one client token. */
export interface SaslStep {
  challenge: Buffer
  /** Set once the client is authenticated. */
  user?: string
  /** When the credential itself expires (Date.now() time): the session ends then at the latest. */
  expiresAtMs?: number
  /**
   * Set when the challenge is the mechanism's way of refusing (OAUTHBEARER's error challenge,
   * which the client acknowledges before the failure): why, for the broker's log.
   */
  refusal?: string
}

/** One authentication in progress on a connection. */
export interface SaslExchange {
  /** Takes the client's next token and resolves the server's answer. Rejects with a SaslFailure when the client is not authenticated. */
  evaluate(token: Buffer): Promise<SaslStep>
}

/**
 * A failed authentication: `message` is what the client is told (never which part was wrong),
 * `reason` what the broker logs; `reported` when the refusal was logged (and delayed) already.
 */
export class SaslFailure extends Error {
  readonly reason: string
  readonly reported: boolean

  constructor(message: string, reason: string, reported = false) {
    super(message)
    this.name = 'SaslFailure'
    this.reason = reason
    this.reported = reported
  }
}

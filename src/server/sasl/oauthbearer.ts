/**
 * SASL OAUTHBEARER (RFC 7628), the server side as Kafka runs it: the client's one message carries
 * a GS2 header (`n,a=<authzid>,` or `n,,`), then `auth=Bearer <token>` and any extensions as
 * `key=value` pairs, each ended by ^A. A token the validator refuses is answered with an error
 * challenge (`{"status":"invalid_token"}`) that the client acknowledges with a lone ^A, after
 * which the authentication fails; a malformed message fails at once.
 */
import { type SaslExchange, SaslFailure } from './exchange.ts'

/** What a valid token says about its bearer. */
export interface BearerIdentity {
  /** The principal's name (the token's subject claim). */
  principal: string
  /** When the token expires (Date.now() time): the session ends then at the latest. */
  expiresAtMs: number
}

/** A refused token; `reason` is for the broker's log, the client learns only the status. */
export class TokenRefusal extends Error {
  readonly status: string

  constructor(reason: string, status = 'invalid_token') {
    super(reason)
    this.name = 'TokenRefusal'
    this.status = status
  }
}

/** Checks a bearer token (signature, expiry, claims); rejects with a TokenRefusal. */
export type TokenValidator = (token: string) => Promise<BearerIdentity>

const SEPARATOR = '\u0001'

interface InitialResponse {
  token: string
  authorizationId: string
  extensions: Map<string, string>
}

const malformed = (reason: string): SaslFailure =>
  new SaslFailure('Authentication failed: invalid OAUTHBEARER client message', reason)

/** Parses the client's message (throws a SaslFailure when it is not RFC 7628's form). */
export function parseInitialResponse(message: string): InitialResponse {
  const gs2 = /^n,(?:a=([^,]*))?,/.exec(message)
  if (!gs2) throw malformed('OAUTHBEARER message without a GS2 header')
  const rest = message.slice(gs2[0].length)
  if (!rest.startsWith(SEPARATOR) || !rest.endsWith(SEPARATOR + SEPARATOR)) {
    throw malformed('OAUTHBEARER message not framed by ^A separators')
  }
  const pairs = rest.slice(1, -2).split(SEPARATOR)
  const values = new Map<string, string>()
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw malformed('OAUTHBEARER key/value pair without a key')
    const key = pair.slice(0, eq)
    if (!/^[A-Za-z]+$/.test(key)) throw malformed(`OAUTHBEARER key ${JSON.stringify(key)} is not alphabetic`)
    values.set(key, pair.slice(eq + 1))
  }
  const auth = /^Bearer +([\x20-\x7e]+)$/.exec(values.get('auth') ?? '')
  if (!auth) throw malformed('OAUTHBEARER message without auth=Bearer <token>')
  values.delete('auth')
  return { token: (auth[1] as string).trim(), authorizationId: gs2[1] ?? '', extensions: values }
}

export function oauthBearerExchange(validate: TokenValidator): SaslExchange {
  /** The error challenge sent, while the client is to acknowledge it. */
  let refused: string | undefined
  let done = false
  return {
    async evaluate(token) {
      if (refused !== undefined) {
        // The client's ^A after our error challenge (anything else is as wrong): the failure was logged already.
        throw new SaslFailure(refused, 'the client acknowledged the refused token', true)
      }
      if (done) throw malformed('OAUTHBEARER takes one message')
      done = true
      const message = parseInitialResponse(token.toString('utf8'))
      let identity: BearerIdentity
      try {
        identity = await validate(message.token)
      } catch (err) {
        const status = err instanceof TokenRefusal ? err.status : 'invalid_token'
        refused = JSON.stringify({ status })
        return { challenge: Buffer.from(refused), refusal: (err as Error).message }
      }
      if (message.authorizationId !== '' && message.authorizationId !== identity.principal) {
        throw new SaslFailure(
          "Authentication failed: Client requested an authorization id that is different from the token's principal name",
          `authorization id ${message.authorizationId} differs from the token's principal ${identity.principal}`,
        )
      }
      // Extensions are accepted and not acted upon, as Kafka's validators leave them unvalidated.
      return { challenge: Buffer.alloc(0), user: identity.principal, expiresAtMs: identity.expiresAtMs }
    },
  }
}

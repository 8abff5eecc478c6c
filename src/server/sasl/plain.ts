/**
 * SASL PLAIN (RFC 4616): one client message, `[authzid] NUL authcid NUL passwd`, checked against
 * the users configured for the listener. Every refusal tells the client the same thing, as Kafka's
 * PlainSaslServer does.
 */
import { timingSafeEqual } from 'node:crypto'
import { type SaslExchange, SaslFailure } from './exchange.ts'

const INVALID = 'Authentication failed: Invalid username or password'

/** Compares without leaking through timing where the two differ. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  // Compare equal lengths always, so that a wrong length costs the same as a wrong byte.
  return timingSafeEqual(x.length === y.length ? x : y, y) && x.length === y.length
}

export function plainExchange(users: ReadonlyMap<string, string>): SaslExchange {
  let done = false
  return {
    async evaluate(token) {
      if (done) throw new SaslFailure(INVALID, 'PLAIN takes one message')
      done = true
      const parts = token.toString('utf8').split('\u0000')
      if (parts.length !== 3) throw new SaslFailure(INVALID, 'malformed PLAIN message')
      const [authzid, user, password] = parts as [string, string, string]
      if (user === '' || password === '') throw new SaslFailure(INVALID, 'empty user name or password')
      if (authzid !== '' && authzid !== user) {
        throw new SaslFailure(
          'Authentication failed: Client requested an authorization id that is different from username',
          'authorization id differs from the user name',
        )
      }
      const expected = users.get(user)
      // An unknown user costs the same comparison as a wrong password.
      const match = sameSecret(password, expected ?? password.replace(/./g, '\u0000'))
      if (expected === undefined || !match) {
        throw new SaslFailure(INVALID, expected === undefined ? `unknown user ${user}` : `wrong password for ${user}`)
      }
      return { challenge: Buffer.alloc(0), user }
    },
  }
}

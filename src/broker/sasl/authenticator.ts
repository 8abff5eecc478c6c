/**
 * SASL authentication on SASL_PLAINTEXT and SASL_SSL listeners, per connection, as Kafka's
 * SaslServerAuthenticator runs it: before authentication a client may send ApiVersions,
 * SaslHandshake (naming its mechanism) and SaslAuthenticate (its tokens); anything else closes
 * the connection. Handshake v0 clients send the tokens as bare size-prefixed frames instead of
 * SaslAuthenticate requests. A failed attempt is logged with the client's address, answered after
 * connection.failed.authentication.delay.ms, and the connection is closed.
 *
 * With connections.max.reauth.ms, a session lasts that long (KIP-368): SaslAuthenticate v1+ tells
 * the client, which re-authenticates on the open connection (SaslHandshake v1 and SaslAuthenticate
 * again, same mechanism and principal); a connection whose session ended is closed at its next
 * request other than SaslHandshake.
 *
 * Only SASL listeners wrap their dispatcher in the gate: PLAINTEXT and SSL listeners see no
 * per-request work, and an authenticated connection costs one lookup per request.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import type { Connection, Dispatcher, DispatchResult } from '../../server/connection.ts'
import { type SaslExchange, SaslFailure } from '../../server/sasl/exchange.ts'
import { oauthBearerExchange, type TokenValidator } from '../../server/sasl/oauthbearer.ts'
import { plainExchange } from '../../server/sasl/plain.ts'
import { SCRAM_MECHANISMS, type ScramMechanism, scramExchange } from '../../server/sasl/scram.ts'
import type { BrokerCore } from '../broker-core.ts'
import { ScramStore } from './scram-store.ts'

/** A SASL listener's settings. */
export interface SaslListener {
  /** The listener name, for the log. */
  name: string
  /** sasl.enabled.mechanisms, as the handshake lists them. */
  mechanisms: readonly string[]
  /** PLAIN's users and passwords (from the JAAS config). */
  plainUsers: ReadonlyMap<string, string>
  /** How OAUTHBEARER tokens are checked, when it is enabled. */
  oauthBearer?: { mode: 'jwks' | 'unsecured'; validate: TokenValidator }
}

type State = 'handshake' | 'authenticate' | 'raw' | 'authenticated' | 'failed'

const sessions = new WeakMap<Connection, SaslSession>()

/** The SASL state of a connection on a SASL listener (undefined on other listeners). */
export function saslSessionOf(connection: Connection): SaslSession | undefined {
  return sessions.get(connection)
}

/** The name Kafka gives an API key in its messages (SASL_AUTHENTICATE). */
function apiName(apiKey: number): string {
  const entry = Object.entries(ApiKey).find(([, key]) => key === apiKey)
  return entry ? entry[0].replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : String(apiKey)
}

export class SaslSession {
  state: State = 'handshake'
  readonly #listener: SaslListener
  readonly #core: BrokerCore
  readonly #connection: Connection
  #mechanism = ''
  #exchange: SaslExchange | undefined
  /** When the session ends (Date.now() time), with connections.max.reauth.ms; undefined: never. */
  expiresAt: number | undefined
  /** connections.max.reauth.ms when the session began. */
  #lifetimeMs = 0
  /** The user of the session being renewed, during a re-authentication. */
  #renewing: string | undefined
  /** The exchange in progress authenticates with a delegation token. */
  #byToken = false
  /** Authenticated with a delegation token: such a session may not create or renew tokens (KIP-48). */
  tokenAuthenticated = false

  constructor(listener: SaslListener, core: BrokerCore, connection: Connection) {
    this.#listener = listener
    this.#core = core
    this.#connection = connection
  }

  /** SaslHandshake: picks the mechanism; an unknown one is refused and the connection closed. */
  handshake(version: number, mechanism: string): { errorCode: number; mechanisms: string[] } {
    const mechanisms = [...this.#listener.mechanisms]
    if (this.state !== 'handshake') {
      this.#fail('SaslHandshake during SASL authentication')
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }
    }
    if (!mechanisms.includes(mechanism)) {
      this.#fail(`unsupported SASL mechanism ${mechanism}`)
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }
    }
    this.#mechanism = mechanism
    this.#exchange = this.#newExchange(mechanism)
    this.state = version === 0 ? 'raw' : 'authenticate'
    return { errorCode: ErrorCode.NONE, mechanisms }
  }

  /**
   * SaslHandshake on an authenticated connection: a re-authentication when sessions end
   * (connections.max.reauth.ms) and the client asks with v1+ for the mechanism it used; answered
   * undefined when this is no re-authentication (ILLEGAL_SASL_STATE, as Kafka).
   */
  reauthenticate(version: number, mechanism: string): { errorCode: number; mechanisms: string[] } | undefined {
    if (this.state !== 'authenticated' || this.expiresAt === undefined || version < 1) return undefined
    const mechanisms = [...this.#listener.mechanisms]
    if (mechanism !== this.#mechanism) {
      this.#fail(`SASL mechanism changed from ${this.#mechanism} to ${mechanism} during re-authentication`)
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }
    }
    this.#renewing = this.#connection.principal
    this.#exchange = this.#newExchange(mechanism)
    this.state = 'authenticate'
    return { errorCode: ErrorCode.NONE, mechanisms }
  }

  /** SaslAuthenticate: the client's next token. */
  async authenticate(
    token: Buffer,
  ): Promise<{ errorCode: number; errorMessage: string | null; authBytes: Buffer; sessionLifetimeMs: bigint }> {
    if (this.state !== 'authenticate') {
      const during = this.state === 'handshake' ? 'handshake' : 'authentication'
      this.#fail(`SaslAuthenticate during SASL ${during}`)
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: `Unexpected Kafka request of type SASL_AUTHENTICATE during SASL ${during}.`,
        authBytes: Buffer.alloc(0),
        sessionLifetimeMs: 0n,
      }
    }
    try {
      const authBytes = await this.#evaluate(token)
      const lifetime = this.#sessionLifetimeMs()
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        authBytes,
        sessionLifetimeMs: BigInt(lifetime),
      }
    } catch (err) {
      return {
        errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: (err as Error).message,
        authBytes: Buffer.alloc(0),
        sessionLifetimeMs: 0n,
      }
    }
  }

  /** The session's lifetime once authenticated (0 while authenticating, or when sessions never end). */
  #sessionLifetimeMs(): number {
    return this.state === 'authenticated' ? this.#lifetimeMs : 0
  }

  /** A bare token after a v0 handshake: the answer is a bare frame; a failure closes the connection. */
  async rawToken(token: Buffer): Promise<DispatchResult> {
    try {
      return [await this.#evaluate(token)]
    } catch {
      return 'close'
    }
  }

  /** Runs the mechanism on one token; on failure logs, waits out the delay and rejects with what the client is told. */
  async #evaluate(token: Buffer): Promise<Buffer> {
    const exchange = this.#exchange as SaslExchange
    try {
      const { challenge, user, expiresAtMs, refusal } = await exchange.evaluate(token)
      if (refusal !== undefined) {
        // The mechanism refuses with a challenge the client acknowledges before the failure itself.
        await this.#reportFailure(refusal)
        return challenge
      }
      if (user !== undefined) {
        const principal = `User:${user}`
        if (this.#renewing !== undefined && this.#renewing !== principal) {
          throw new SaslFailure(
            `Cannot change principals during re-authentication from ${this.#renewing}: ${principal}`,
            `principal changed from ${this.#renewing} to ${principal} during re-authentication`,
          )
        }
        this.#renewing = undefined
        this.#startSession(expiresAtMs)
        this.tokenAuthenticated = this.#byToken
        this.state = 'authenticated'
        this.#connection.principal = principal
        this.#core.log.debug(
          { remote: this.#connection.remote, listener: this.#listener.name, mechanism: this.#mechanism, user },
          'authenticated',
        )
      }
      return challenge
    } catch (err) {
      const failure =
        err instanceof SaslFailure
          ? err
          : new SaslFailure(
              `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.#mechanism}`,
              `error: ${(err as Error).message}`,
            )
      if (!failure.reported) await this.#reportFailure(failure.reason)
      this.state = 'failed'
      this.#closeAfterAnswer()
      throw failure
    }
  }

  /** Logs a failed authentication with the client's address and holds the answer back, against guessing. */
  async #reportFailure(reason: string): Promise<void> {
    this.#core.log.warn(
      { remote: this.#connection.remote, listener: this.#listener.name, mechanism: this.#mechanism, reason },
      'failed authentication',
    )
    await new Promise((resolve) =>
      setTimeout(resolve, this.#core.numberProp('connection.failed.authentication.delay.ms')),
    )
  }

  /**
   * The session's end, as Kafka sets it: connections.max.reauth.ms after now, and no later than
   * the credential's own expiry (an OAUTHBEARER token's) when it has one.
   */
  #startSession(credentialExpiresAtMs: number | undefined): void {
    const now = Date.now()
    const reauthMs = this.#core.numberProp('connections.max.reauth.ms')
    let lifetime = reauthMs > 0 ? reauthMs : undefined
    if (credentialExpiresAtMs !== undefined) {
      const left = Math.max(0, credentialExpiresAtMs - now)
      lifetime = lifetime === undefined ? left : Math.min(lifetime, left)
    }
    this.#lifetimeMs = lifetime ?? 0
    this.expiresAt = lifetime === undefined ? undefined : now + lifetime
  }

  /** A protocol mistake: answered, logged, and the connection closed once the answer is written. */
  #fail(reason: string): void {
    this.#core.log.warn(
      { remote: this.#connection.remote, listener: this.#listener.name, reason },
      'failed authentication',
    )
    this.state = 'failed'
    this.#closeAfterAnswer()
  }

  #closeAfterAnswer(): void {
    // The answer is written once the dispatcher's promise settles (microtasks); end() then sends it before the FIN.
    setImmediate(() => this.#connection.socket.end())
  }

  #newExchange(mechanism: string): SaslExchange {
    if (mechanism === 'PLAIN') return plainExchange(this.#listener.plainUsers)
    if ((SCRAM_MECHANISMS as readonly string[]).includes(mechanism)) {
      const scram = mechanism as ScramMechanism
      const store = new ScramStore(this.#core.storage.kv)
      return scramExchange(scram, async (user, tokenAuth) => {
        this.#byToken = tokenAuth
        if (tokenAuth) return this.#core.tokens.scramIdentity(user, scram)
        const credential = await store.get(user, scram)
        return credential && { credential }
      })
    }
    if (mechanism === 'OAUTHBEARER' && this.#listener.oauthBearer) {
      return oauthBearerExchange(this.#listener.oauthBearer.validate)
    }
    throw new Error(`no SASL mechanism ${mechanism}`)
  }
}

/** APIs a client may call before it is authenticated. */
const BEFORE_AUTHENTICATION = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate])

/** The dispatcher of a SASL listener: requests pass once their connection is authenticated. */
export function saslGate(inner: Dispatcher, listener: SaslListener, core: BrokerCore): Dispatcher {
  if (listener.oauthBearer?.mode === 'unsecured') {
    core.log.warn(
      { listener: listener.name },
      "OAUTHBEARER accepts unsecured tokens (Kafka's test mode): set sasl.oauthbearer.jwks.endpoint.url to accept only signed ones",
    )
  }
  return (frame, connection) => {
    let session = sessions.get(connection)
    if (session === undefined) {
      session = new SaslSession(listener, core, connection)
      sessions.set(connection, session)
    }
    if (session.state === 'authenticated') {
      if (session.expiresAt === undefined || Date.now() < session.expiresAt) return inner(frame, connection)
      // An ended session may only start its re-authentication.
      if (frame.length >= 2 && frame.readInt16BE(0) === ApiKey.SaslHandshake) return inner(frame, connection)
      core.log.info(
        { remote: connection.remote, listener: listener.name, principal: connection.principal },
        'closing connection: its SASL session ended without re-authentication (connections.max.reauth.ms)',
      )
      return 'close'
    }
    if (session.state === 'raw') return session.rawToken(frame)
    const apiKey = frame.length >= 2 ? frame.readInt16BE(0) : -1
    if (session.state !== 'failed' && BEFORE_AUTHENTICATION.has(apiKey)) return inner(frame, connection)
    const during = session.state === 'handshake' ? 'handshake' : 'authentication'
    core.log.warn(
      { remote: connection.remote, listener: listener.name, apiKey },
      `closing connection: unexpected Kafka request of type ${apiName(apiKey)} during SASL ${during}`,
    )
    session.state = 'failed'
    return 'close'
  }
}

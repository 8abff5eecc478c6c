/**
 * Delegation tokens (KIP-48) as Kafka's DelegationTokenManager keeps them: a token has an id, an
 * HMAC-SHA512 of the id under delegation.token.secret.key, an owner (who authenticates with it),
 * the principal that asked for it, renewers, and issue, expiry and maximum timestamps. Tokens
 * live in the storage engine's key-value store, so every broker of a cluster accepts them. One
 * that has expired stays (described, refused renewal with DELEGATION_TOKEN_EXPIRED) until the
 * check every delegation.token.expiry.check.interval.ms removes it, as Kafka's controller does. A
 * client authenticates with SCRAM, the token id as user name and the HMAC in base64 as password,
 * and the tokenauth=true extension; it is then its owner, until the token's expiry.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  credentialFromSaltedPassword,
  type ScramIdentity,
  type ScramMechanism,
  saltedPassword,
} from '../../server/sasl/scram.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'

const NAMESPACE = 'delegation-tokens'
/** SCRAM iterations of the credential made from a token (Kafka's minimum). */
const TOKEN_ITERATIONS = 4096

export interface DelegationToken {
  tokenId: string
  hmac: Buffer
  /** Principals as `User:name`. */
  owner: string
  requester: string
  renewers: string[]
  issueTimestamp: number
  expiryTimestamp: number
  maxTimestamp: number
}

interface StoredToken extends Omit<DelegationToken, 'hmac'> {
  hmac: string
}

export interface DelegationTokenOptions {
  kv: KeyValueStore
  /** delegation.token.secret.key (or the older delegation.token.master.key); empty: tokens are off. */
  secret: string
  /** delegation.token.expiry.time.ms */
  expiryMs: number
  /** delegation.token.max.lifetime.ms */
  maxLifetimeMs: number
  now: () => number
}

export class DelegationTokens {
  readonly #options: DelegationTokenOptions
  #expiryCheck: NodeJS.Timeout | undefined

  constructor(options: DelegationTokenOptions) {
    this.#options = options
  }

  /** Whether a secret key is configured (DELEGATION_TOKEN_AUTH_DISABLED otherwise). */
  get enabled(): boolean {
    return this.#options.secret !== ''
  }

  #hmacOf(tokenId: string): Buffer {
    return createHmac('sha512', this.#options.secret).update(tokenId).digest()
  }

  async create(owner: string, requester: string, renewers: string[], maxLifetimeMs: number): Promise<DelegationToken> {
    const now = this.#options.now()
    const lifetime =
      maxLifetimeMs <= 0 ? this.#options.maxLifetimeMs : Math.min(maxLifetimeMs, this.#options.maxLifetimeMs)
    const tokenId = randomBytes(16).toString('base64url')
    const maxTimestamp = now + lifetime
    const token: DelegationToken = {
      tokenId,
      hmac: this.#hmacOf(tokenId),
      owner,
      requester,
      renewers,
      issueTimestamp: now,
      expiryTimestamp: Math.min(now + this.#options.expiryMs, maxTimestamp),
      maxTimestamp,
    }
    await this.#save(token)
    return token
  }

  /** Removes expired tokens every `intervalMs` (delegation.token.expiry.check.interval.ms) while tokens are on. */
  start(intervalMs: number, log: Log): void {
    if (!this.enabled) return
    this.#expiryCheck = setInterval(() => {
      this.removeExpired().then(
        (removed) => {
          for (const t of removed) log.info({ tokenId: t.tokenId, owner: t.owner }, 'delegation token expired')
        },
        (err) => log.warn({ err }, 'removing expired delegation tokens failed'),
      )
    }, intervalMs)
    this.#expiryCheck.unref()
  }

  close(): void {
    clearInterval(this.#expiryCheck)
  }

  /** Every token kept, expired ones included until the expiry check removes them. */
  async list(): Promise<DelegationToken[]> {
    return [...(await this.#options.kv.list(NAMESPACE)).values()].map(parseToken)
  }

  /** Whether a token is past its expiry (or its maximum lifetime). */
  expired(token: DelegationToken): boolean {
    const now = this.#options.now()
    return token.expiryTimestamp < now || token.maxTimestamp < now
  }

  /** Removes the expired tokens; answers them. */
  async removeExpired(): Promise<DelegationToken[]> {
    const expired = (await this.list()).filter((t) => this.expired(t))
    if (expired.length > 0) await this.#options.kv.put(NAMESPACE, new Map(expired.map((t) => [t.tokenId, null])))
    return expired
  }

  /** The token with this HMAC, if one is kept. */
  async byHmac(hmac: Buffer): Promise<DelegationToken | undefined> {
    return (await this.list()).find((t) => t.hmac.length === hmac.length && timingSafeEqual(t.hmac, hmac))
  }

  /** The token with this id, if one is kept. */
  async byId(tokenId: string): Promise<DelegationToken | undefined> {
    const value = await this.#options.kv.get(NAMESPACE, tokenId)
    return value === undefined ? undefined : parseToken(value)
  }

  /**
   * Moves a token's expiry to `periodMs` from now, as Kafka does: no further than the default
   * expiry (which a period of 0 or less asks for), never past the token's maximum.
   */
  async renew(token: DelegationToken, periodMs: number): Promise<number> {
    const period = periodMs > 0 ? Math.min(periodMs, this.#options.expiryMs) : this.#options.expiryMs
    token.expiryTimestamp = Math.min(this.#options.now() + period, token.maxTimestamp)
    await this.#save(token)
    return token.expiryTimestamp
  }

  /** Expires a token `periodMs` from now; a negative period removes it at once. */
  async expire(token: DelegationToken, periodMs: number): Promise<number> {
    const now = this.#options.now()
    if (periodMs < 0) {
      await this.#options.kv.put(NAMESPACE, new Map([[token.tokenId, null]]))
      return now
    }
    token.expiryTimestamp = Math.min(now + periodMs, token.maxTimestamp)
    await this.#save(token)
    return token.expiryTimestamp
  }

  /**
   * The SCRAM credential a client proves with the token (password: the HMAC in base64), with the
   * token's owner and expiry; undefined for an unknown token. An expired one that is still kept
   * authenticates a session that has already ended, so its first request closes the connection,
   * as in Kafka.
   */
  async scramIdentity(tokenId: string, mechanism: ScramMechanism): Promise<ScramIdentity | undefined> {
    if (!this.enabled) return undefined
    const token = await this.byId(tokenId)
    if (token === undefined) return undefined
    const salt = createHmac('sha256', this.#options.secret).update(`salt\u0000${tokenId}`).digest().subarray(0, 16)
    const salted = saltedPassword(mechanism, token.hmac.toString('base64'), salt, TOKEN_ITERATIONS)
    return {
      credential: credentialFromSaltedPassword(mechanism, salt, salted, TOKEN_ITERATIONS),
      // The session's principal is the owner's (User:name).
      user: token.owner.slice(token.owner.indexOf(':') + 1),
      expiresAtMs: token.expiryTimestamp,
    }
  }

  async #save(token: DelegationToken): Promise<void> {
    const stored: StoredToken = { ...token, hmac: token.hmac.toString('base64') }
    await this.#options.kv.put(NAMESPACE, new Map([[token.tokenId, Buffer.from(JSON.stringify(stored))]]))
  }
}

function parseToken(value: Buffer): DelegationToken {
  const stored = JSON.parse(value.toString('utf8')) as StoredToken
  return { ...stored, hmac: Buffer.from(stored.hmac, 'base64') }
}

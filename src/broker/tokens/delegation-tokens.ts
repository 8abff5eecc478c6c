/**
 * Delegation tokens (KIP-48) as Kafka's DelegationTokenManager keeps them: a token has an id, an
 * HMAC-SHA512 of the id under delegation.token.secret.key, an owner (who authenticates with it),
 * the principal that asked for it, renewers, and issue, expiry and maximum timestamps. Tokens
 * live in the storage engine's key-value store, so every broker of a cluster accepts them; one
 * that has expired is gone. A client authenticates with SCRAM, the token id as user name and the
 * HMAC in base64 as password, and the tokenauth=true extension; it is then its owner.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  credentialFromSaltedPassword,
  type ScramIdentity,
  type ScramMechanism,
  saltedPassword,
} from '../../server/sasl/scram.ts'
import type { KeyValueStore } from '../../storage/types.ts'

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

  /** Every token that has not expired (expired ones are removed on the way). */
  async list(): Promise<DelegationToken[]> {
    const now = this.#options.now()
    const tokens: DelegationToken[] = []
    const expired = new Map<string, null>()
    for (const [tokenId, value] of await this.#options.kv.list(NAMESPACE)) {
      const stored = JSON.parse(value.toString('utf8')) as StoredToken
      if (stored.expiryTimestamp < now) expired.set(tokenId, null)
      else tokens.push({ ...stored, hmac: Buffer.from(stored.hmac, 'base64') })
    }
    if (expired.size > 0) await this.#options.kv.put(NAMESPACE, expired)
    return tokens
  }

  /** The live token with this HMAC, if any. */
  async byHmac(hmac: Buffer): Promise<DelegationToken | undefined> {
    return (await this.list()).find((t) => t.hmac.length === hmac.length && timingSafeEqual(t.hmac, hmac))
  }

  /** The live token with this id, if any. */
  async byId(tokenId: string): Promise<DelegationToken | undefined> {
    const value = await this.#options.kv.get(NAMESPACE, tokenId)
    if (value === undefined) return undefined
    const stored = JSON.parse(value.toString('utf8')) as StoredToken
    if (stored.expiryTimestamp < this.#options.now()) return undefined
    return { ...stored, hmac: Buffer.from(stored.hmac, 'base64') }
  }

  /** Moves a token's expiry to `period` from now (the default expiry for -1), never past its maximum. */
  async renew(token: DelegationToken, periodMs: number): Promise<number> {
    const period = periodMs < 0 ? this.#options.expiryMs : periodMs
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
   * token's owner and expiry; undefined for an unknown or expired token.
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

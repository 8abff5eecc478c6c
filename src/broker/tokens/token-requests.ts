/**
 * What the four delegation-token APIs share: Kafka's refusal of the whole request
 * (DELEGATION_TOKEN_AUTH_DISABLED without a secret key; DELEGATION_TOKEN_REQUEST_NOT_ALLOWED on a
 * connection that is unauthenticated, PLAINTEXT or TLS without a client certificate, or
 * authenticated with a delegation token itself), and who may renew or expire a token.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import type { RequestContext } from '../context.ts'
import { saslSessionOf } from '../sasl/authenticator.ts'
import type { DelegationToken } from './delegation-tokens.ts'

const ANONYMOUS = 'User:ANONYMOUS'

/** The error that refuses a token request outright, or undefined. */
export function tokenRequestRefusal(ctx: RequestContext): number | undefined {
  if (!ctx.broker.tokens.enabled) return ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED
  const sasl = saslSessionOf(ctx.connection)
  if (sasl?.tokenAuthenticated || ctx.connection.principal === ANONYMOUS) {
    return ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED
  }
  return undefined
}

/** A condition a token must meet to be changed: the error that refuses it, or undefined. */
export type TokenCheck = (ctx: RequestContext, token: DelegationToken) => number | undefined

/** The token has not expired (DELEGATION_TOKEN_EXPIRED). */
export const unexpired: TokenCheck = (ctx, token) =>
  ctx.broker.tokens.expired(token) ? ErrorCode.DELEGATION_TOKEN_EXPIRED : undefined

/** The requester is the token's owner or one of its renewers (DELEGATION_TOKEN_OWNER_MISMATCH). */
export const renewable: TokenCheck = (ctx, token) =>
  mayRenew(ctx, token) ? undefined : ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH

/**
 * Renews or expires the token with this HMAC (`change` answers its new expiry):
 * DELEGATION_TOKEN_NOT_FOUND for no token kept, else the first refusal of `checks` (in the order
 * Kafka checks them for the request).
 */
export async function changeToken(
  ctx: RequestContext,
  hmac: Buffer,
  checks: readonly TokenCheck[],
  change: (token: DelegationToken) => Promise<number>,
): Promise<{ errorCode: number; expiryTimestampMs: bigint }> {
  const token = await ctx.broker.tokens.byHmac(hmac)
  if (token === undefined) return { errorCode: ErrorCode.DELEGATION_TOKEN_NOT_FOUND, expiryTimestampMs: -1n }
  for (const check of checks) {
    const errorCode = check(ctx, token)
    if (errorCode !== undefined) return { errorCode, expiryTimestampMs: -1n }
  }
  return { errorCode: ErrorCode.NONE, expiryTimestampMs: BigInt(await change(token)) }
}

/** The token's owner and its renewers may renew and expire it. */
export function mayRenew(ctx: RequestContext, token: DelegationToken): boolean {
  const principal = ctx.connection.principal
  return token.owner === principal || token.renewers.includes(principal)
}

/** A principal as the token APIs carry it (type and name) in Kafka's `Type:name` form. */
export const principalOf = (type: string, name: string): string => `${type}:${name}`

/** The type and name of a `Type:name` principal. */
export function splitPrincipal(principal: string): { principalType: string; principalName: string } {
  const at = principal.indexOf(':')
  return { principalType: principal.slice(0, at), principalName: principal.slice(at + 1) }
}

// RenewDelegationToken: v0-2
// Moves a token's expiry to renew_period_ms from now (-1: delegation.token.expiry.time.ms),
// never past its maximum. DELEGATION_TOKEN_NOT_FOUND for an unknown HMAC,
// DELEGATION_TOKEN_OWNER_MISMATCH for a requester who is neither its owner nor a renewer,
// DELEGATION_TOKEN_EXPIRED for one whose time has passed. Refused outright as
// tokenRequestRefusal says.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createRenewDelegationTokenResponse,
  type RenewDelegationTokenRequest,
  type RenewDelegationTokenResponse,
} from '../../protocol/generated/renew-delegation-token.ts'
import { defineHandler } from '../handler.ts'
import { mayRenew, tokenRequestRefusal } from '../tokens/token-requests.ts'

export default defineHandler<RenewDelegationTokenRequest, RenewDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    const token = await ctx.broker.tokens.byHmac(req.hmac)
    if (token === undefined)
      return createRenewDelegationTokenResponse({ errorCode: ErrorCode.DELEGATION_TOKEN_NOT_FOUND })
    if (!mayRenew(ctx, token)) {
      return createRenewDelegationTokenResponse({ errorCode: ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH })
    }
    const expiry = await ctx.broker.tokens.renew(token, Number(req.renewPeriodMs))
    return createRenewDelegationTokenResponse({ expiryTimestampMs: BigInt(expiry) })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createRenewDelegationTokenResponse({ errorCode })
  },
})

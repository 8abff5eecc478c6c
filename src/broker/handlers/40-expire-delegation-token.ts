// ExpireDelegationToken: v0-2
// Sets a token to expire expiry_time_period_ms from now (never past its maximum); a negative
// period ends it at once. DELEGATION_TOKEN_NOT_FOUND for an unknown HMAC (or a token already
// expired), DELEGATION_TOKEN_OWNER_MISMATCH for a requester who is neither its owner nor a
// renewer. Refused outright as tokenRequestRefusal says.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createExpireDelegationTokenResponse,
  type ExpireDelegationTokenRequest,
  type ExpireDelegationTokenResponse,
} from '../../protocol/generated/expire-delegation-token.ts'
import { defineHandler } from '../handler.ts'
import { mayRenew, tokenRequestRefusal } from '../tokens/token-requests.ts'

export default defineHandler<ExpireDelegationTokenRequest, ExpireDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    const token = await ctx.broker.tokens.byHmac(req.hmac)
    if (token === undefined)
      return createExpireDelegationTokenResponse({ errorCode: ErrorCode.DELEGATION_TOKEN_NOT_FOUND })
    if (!mayRenew(ctx, token)) {
      return createExpireDelegationTokenResponse({ errorCode: ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH })
    }
    const expiry = await ctx.broker.tokens.expire(token, Number(req.expiryTimePeriodMs))
    return createExpireDelegationTokenResponse({ expiryTimestampMs: BigInt(expiry) })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createExpireDelegationTokenResponse({ errorCode })
  },
})

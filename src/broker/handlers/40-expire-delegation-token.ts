// ExpireDelegationToken: v0-2
// Sets a token to expire expiry_time_period_ms from now (never past its maximum); a negative
// period ends it at once. DELEGATION_TOKEN_NOT_FOUND for an unknown HMAC (or a token already
// expired), DELEGATION_TOKEN_OWNER_MISMATCH for a requester who is neither its owner nor a
// renewer. Refused outright as tokenRequestRefusal says.
import {
  api,
  createExpireDelegationTokenResponse,
  type ExpireDelegationTokenRequest,
  type ExpireDelegationTokenResponse,
} from '../../protocol/generated/expire-delegation-token.ts'
import { defineHandler } from '../handler.ts'
import { changeToken, tokenRequestRefusal } from '../tokens/token-requests.ts'

export default defineHandler<ExpireDelegationTokenRequest, ExpireDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    return createExpireDelegationTokenResponse(
      await changeToken(ctx, req.hmac, (token) => ctx.broker.tokens.expire(token, Number(req.expiryTimePeriodMs))),
    )
  },
  errorResponse(_ctx, _req, errorCode) {
    return createExpireDelegationTokenResponse({ errorCode })
  },
})

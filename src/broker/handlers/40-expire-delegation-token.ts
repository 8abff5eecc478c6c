// ExpireDelegationToken: v0-2
// Sets a token to expire expiry_time_period_ms from now (never past its maximum); a negative
// period removes it at once. In Kafka's order: DELEGATION_TOKEN_NOT_FOUND for an unknown HMAC,
// DELEGATION_TOKEN_OWNER_MISMATCH for a requester who is neither its owner nor a renewer, and
// DELEGATION_TOKEN_EXPIRED for a token whose time has passed (unless removing it). Refused
// outright as tokenRequestRefusal says.
import {
  api,
  createExpireDelegationTokenResponse,
  type ExpireDelegationTokenRequest,
  type ExpireDelegationTokenResponse,
} from '../../protocol/generated/expire-delegation-token.ts'
import { defineHandler } from '../handler.ts'
import { changeToken, renewable, tokenRequestRefusal, unexpired } from '../tokens/token-requests.ts'

export default defineHandler<ExpireDelegationTokenRequest, ExpireDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    const periodMs = Number(req.expiryTimePeriodMs)
    // A negative period removes the token at once, expired or not.
    const checks = periodMs < 0 ? [renewable] : [renewable, unexpired]
    return createExpireDelegationTokenResponse(
      await changeToken(ctx, req.hmac, checks, (token) => ctx.broker.tokens.expire(token, periodMs)),
    )
  },
  errorResponse(_ctx, _req, errorCode) {
    return createExpireDelegationTokenResponse({ errorCode })
  },
})

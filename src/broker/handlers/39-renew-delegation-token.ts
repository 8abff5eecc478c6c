// RenewDelegationToken: v0-2
// Moves a token's expiry to renew_period_ms from now (-1: delegation.token.expiry.time.ms),
// never past its maximum. DELEGATION_TOKEN_NOT_FOUND for an unknown HMAC or a token whose time
// has passed (an expired token is gone at once, not kept until a periodic check as in Kafka,
// which answers DELEGATION_TOKEN_EXPIRED meanwhile), DELEGATION_TOKEN_OWNER_MISMATCH for a
// requester who is neither its owner nor a renewer. Refused outright as tokenRequestRefusal says.
import {
  api,
  createRenewDelegationTokenResponse,
  type RenewDelegationTokenRequest,
  type RenewDelegationTokenResponse,
} from '../../protocol/generated/renew-delegation-token.ts'
import { defineHandler } from '../handler.ts'
import { changeToken, tokenRequestRefusal } from '../tokens/token-requests.ts'

export default defineHandler<RenewDelegationTokenRequest, RenewDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    return createRenewDelegationTokenResponse(
      await changeToken(ctx, req.hmac, (token) => ctx.broker.tokens.renew(token, Number(req.renewPeriodMs))),
    )
  },
  errorResponse(_ctx, _req, errorCode) {
    return createRenewDelegationTokenResponse({ errorCode })
  },
})

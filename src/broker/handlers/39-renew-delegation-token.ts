// RenewDelegationToken: v0-2
// Moves a token's expiry to renew_period_ms from now, at most delegation.token.expiry.time.ms
// (which 0 or less asks for), never past its maximum. In Kafka's order: DELEGATION_TOKEN_NOT_FOUND
// for an unknown HMAC, DELEGATION_TOKEN_EXPIRED for a token whose time has passed (kept until the
// expiry check removes it), DELEGATION_TOKEN_OWNER_MISMATCH for a requester who is neither its
// owner nor a renewer. Refused outright as tokenRequestRefusal says.
import {
  api,
  createRenewDelegationTokenResponse,
  type RenewDelegationTokenRequest,
  type RenewDelegationTokenResponse,
} from '../../protocol/generated/renew-delegation-token.ts'
import { defineHandler } from '../handler.ts'
import { changeToken, renewable, tokenRequestRefusal, unexpired } from '../tokens/token-requests.ts'

export default defineHandler<RenewDelegationTokenRequest, RenewDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    return createRenewDelegationTokenResponse(
      await changeToken(ctx, req.hmac, [unexpired, renewable], (token) =>
        ctx.broker.tokens.renew(token, Number(req.renewPeriodMs)),
      ),
    )
  },
  errorResponse(_ctx, _req, errorCode) {
    return createRenewDelegationTokenResponse({ errorCode })
  },
})

// SaslAuthenticate: v0-2
// Carries the SASL tokens of a client on a SASL listener after SaslHandshake v1. A failed
// authentication answers SASL_AUTHENTICATION_FAILED (with a message that does not say which part
// was wrong) after connection.failed.authentication.delay.ms, then the connection closes.
// ILLEGAL_SASL_STATE before the handshake, on a listener without SASL, or once authenticated.
// Version notes: v1+ session_lifetime_ms, connections.max.reauth.ms (KIP-368; 0: sessions never
// end); v2+ flexible.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createSaslAuthenticateResponse,
  type SaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../protocol/generated/sasl-authenticate.ts'
import { defineHandler } from '../handler.ts'
import { saslSessionOf } from '../sasl/authenticator.ts'

export default defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    const session = saslSessionOf(ctx.connection)
    if (session === undefined || session.state === 'authenticated') {
      return createSaslAuthenticateResponse({
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SaslAuthenticate request received after successful authentication',
      })
    }
    return createSaslAuthenticateResponse(await session.authenticate(req.authBytes))
  },
})

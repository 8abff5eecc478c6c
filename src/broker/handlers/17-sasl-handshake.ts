// SaslHandshake: v0-1
// Names the SASL mechanism a client on a SASL listener authenticates with, and lists those
// enabled there (sasl.enabled.mechanisms). UNSUPPORTED_SASL_MECHANISM for another one, then the
// connection closes; ILLEGAL_SASL_STATE on a listener without SASL or once authenticated, as Kafka,
// unless sessions end (connections.max.reauth.ms): then v1 starts a re-authentication (KIP-368)
// with the same mechanism.
// Version notes: v0 clients send their tokens as bare frames, v1 clients in SaslAuthenticate.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createSaslHandshakeResponse,
  type SaslHandshakeRequest,
  type SaslHandshakeResponse,
} from '../../protocol/generated/sasl-handshake.ts'
import { defineHandler } from '../handler.ts'
import { saslSessionOf } from '../sasl/authenticator.ts'

export default defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req) {
    const session = saslSessionOf(ctx.connection)
    if (session === undefined) return createSaslHandshakeResponse({ errorCode: ErrorCode.ILLEGAL_SASL_STATE })
    if (session.state === 'authenticated') {
      const renewal = session.reauthenticate(ctx.apiVersion, req.mechanism)
      return createSaslHandshakeResponse(renewal ?? { errorCode: ErrorCode.ILLEGAL_SASL_STATE })
    }
    return createSaslHandshakeResponse(session.handshake(ctx.apiVersion, req.mechanism))
  },
})

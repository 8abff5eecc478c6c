// CreateDelegationToken: v0-3
// Creates a delegation token (KIP-48) owned by the requester, or (v3) by another user the
// requester may CREATE_TOKENS for (DELEGATION_TOKEN_AUTHORIZATION_FAILED otherwise), with
// renewers (User principals only: INVALID_PRINCIPAL_TYPE) and a maximum lifetime capped by
// delegation.token.max.lifetime.ms (-1: that maximum). Answers the token's id and HMAC.
// Refused outright as tokenRequestRefusal says.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  type CreateDelegationTokenRequest,
  type CreateDelegationTokenResponse,
  createCreateDelegationTokenResponse,
} from '../../protocol/generated/create-delegation-token.ts'
import { AclOperation, ResourceType } from '../acls/acl-model.ts'
import { authorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { principalOf, splitPrincipal, tokenRequestRefusal } from '../tokens/token-requests.ts'

export default defineHandler<CreateDelegationTokenRequest, CreateDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    const requester = ctx.connection.principal
    const fail = (errorCode: number) => createCreateDelegationTokenResponse({ errorCode, ...splitPrincipal(requester) })
    const otherOwner = ctx.apiVersion >= 3 && req.ownerPrincipalName !== null && req.ownerPrincipalName !== ''
    const owner = otherOwner
      ? principalOf(req.ownerPrincipalType ?? 'User', req.ownerPrincipalName as string)
      : requester
    if (otherOwner) {
      if ((req.ownerPrincipalType ?? 'User') !== 'User') return fail(ErrorCode.INVALID_PRINCIPAL_TYPE)
      const ownerName = req.ownerPrincipalName as string
      if (owner !== requester && !authorized(ctx, AclOperation.CREATE_TOKENS, ResourceType.USER, ownerName)) {
        return fail(ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED)
      }
    }
    if (req.renewers.some((r) => r.principalType !== 'User')) return fail(ErrorCode.INVALID_PRINCIPAL_TYPE)
    const renewers = req.renewers.map((r) => principalOf(r.principalType, r.principalName))
    const token = await ctx.broker.tokens.create(owner, requester, renewers, Number(req.maxLifetimeMs))
    const requesterParts = splitPrincipal(requester)
    return createCreateDelegationTokenResponse({
      ...splitPrincipal(owner),
      tokenRequesterPrincipalType: requesterParts.principalType,
      tokenRequesterPrincipalName: requesterParts.principalName,
      issueTimestampMs: BigInt(token.issueTimestamp),
      expiryTimestampMs: BigInt(token.expiryTimestamp),
      maxTimestampMs: BigInt(token.maxTimestamp),
      tokenId: token.tokenId,
      hmac: token.hmac,
    })
  },
  errorResponse(ctx, _req, errorCode) {
    return createCreateDelegationTokenResponse({ errorCode, ...splitPrincipal(ctx.connection.principal) })
  },
})

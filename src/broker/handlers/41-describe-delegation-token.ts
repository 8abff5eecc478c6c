// DescribeDelegationToken: v0-3
// The tokens owned by the principals asked for (all owners when the list is null, none when it is
// empty) that the requester may see: as their owner or renewer, or with DESCRIBE on the token
// (DELEGATION_TOKEN resource, by id); expired ones too until the expiry check removes them, as in
// Kafka. Each with its HMAC, times and renewers, and (v3) the principal that asked for it. Refused
// outright as tokenRequestRefusal says.
import {
  api,
  createDescribeDelegationTokenResponse,
  type DescribeDelegationTokenRequest,
  type DescribeDelegationTokenResponse,
} from '../../protocol/generated/describe-delegation-token.ts'
import { AclOperation, ResourceType } from '../acls/acl-model.ts'
import { authorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { mayRenew, principalOf, splitPrincipal, tokenRequestRefusal } from '../tokens/token-requests.ts'

export default defineHandler<DescribeDelegationTokenRequest, DescribeDelegationTokenResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  refuse: tokenRequestRefusal,
  async handle(ctx, req) {
    const owners =
      req.owners === null ? null : new Set(req.owners.map((o) => principalOf(o.principalType, o.principalName)))
    const tokens = (await ctx.broker.tokens.list())
      .filter((t) => owners === null || owners.has(t.owner))
      .filter(
        (t) => mayRenew(ctx, t) || authorized(ctx, AclOperation.DESCRIBE, ResourceType.DELEGATION_TOKEN, t.tokenId),
      )
      .sort((a, b) => a.issueTimestamp - b.issueTimestamp)
      .map((t) => {
        const requester = splitPrincipal(t.requester)
        return {
          ...splitPrincipal(t.owner),
          tokenRequesterPrincipalType: requester.principalType,
          tokenRequesterPrincipalName: requester.principalName,
          issueTimestamp: BigInt(t.issueTimestamp),
          expiryTimestamp: BigInt(t.expiryTimestamp),
          maxTimestamp: BigInt(t.maxTimestamp),
          tokenId: t.tokenId,
          hmac: t.hmac,
          renewers: t.renewers.map(splitPrincipal),
        }
      })
    return createDescribeDelegationTokenResponse({ tokens })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeDelegationTokenResponse({ errorCode })
  },
})

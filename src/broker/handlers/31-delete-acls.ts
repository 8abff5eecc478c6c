// DeleteAcls: v0-3
// Removes every ACL each filter selects (one atomic write for the whole request) and lists them
// per filter. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED on every filter). Without
// an authorizer: SECURITY_DISABLED. A filter with an UNKNOWN field: INVALID_REQUEST for it alone.
// v0 has no pattern type: its filters are LITERAL.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDeleteAclsResponse,
  type DeleteAclsFilterResult,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
} from '../../protocol/generated/delete-acls.ts'
import { type AclBinding, AclOperation, filterMatches, invalidFilterReason } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<DeleteAclsRequest, DeleteAclsResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req) {
    const acls = ctx.broker.acls
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) return failAll(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
    if (!acls.enabled) return failAll(req, ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    const removed = new Set<AclBinding>()
    const filterResults: DeleteAclsFilterResult[] = req.filters.map((f) => {
      const filter = {
        resourceType: f.resourceTypeFilter,
        resourceName: f.resourceNameFilter,
        patternType: f.patternTypeFilter,
        principal: f.principalFilter,
        host: f.hostFilter,
        operation: f.operation,
        permissionType: f.permissionType,
      }
      const invalid = invalidFilterReason(filter)
      if (invalid) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid, matchingAcls: [] }
      const matching = acls.acls.filter((acl) => filterMatches(filter, acl))
      for (const acl of matching) removed.add(acl)
      const matchingAcls = matching.map((acl) => ({
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        resourceType: acl.resourceType,
        resourceName: acl.resourceName,
        patternType: acl.patternType,
        principal: acl.principal,
        host: acl.host,
        operation: acl.operation,
        permissionType: acl.permissionType,
      }))
      return { errorCode: ErrorCode.NONE, errorMessage: null, matchingAcls }
    })
    if (removed.size > 0) await acls.change([], [...removed])
    return createDeleteAclsResponse({ filterResults })
  },
  errorResponse(_ctx, req, errorCode) {
    return failAll(req, errorCode, null)
  },
})

function failAll(req: DeleteAclsRequest, errorCode: number, errorMessage: string | null): DeleteAclsResponse {
  return createDeleteAclsResponse({
    filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
  })
}

// DescribeAcls: v0-3
// The ACLs a filter selects, grouped by resource pattern. Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED). Without an authorizer: SECURITY_DISABLED, as Kafka. A filter
// with an UNKNOWN field is answered INVALID_REQUEST. v0 has no pattern type: its filter is LITERAL.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeAclsResponse,
  type DescribeAclsRequest,
  type DescribeAclsResource,
  type DescribeAclsResponse,
} from '../../protocol/generated/describe-acls.ts'
import { type AclFilter, AclOperation, aclKey, filterMatches, invalidFilterReason } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<DescribeAclsRequest, DescribeAclsResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  handle(ctx, req) {
    if (!clusterAuthorized(ctx, AclOperation.DESCRIBE))
      return createDescribeAclsResponse({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })
    if (!ctx.broker.acls.enabled) {
      return createDescribeAclsResponse({
        errorCode: ErrorCode.SECURITY_DISABLED,
        errorMessage: 'No Authorizer is configured.',
      })
    }
    const filter: AclFilter = {
      resourceType: req.resourceTypeFilter,
      resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter,
      principal: req.principalFilter,
      host: req.hostFilter,
      operation: req.operation,
      permissionType: req.permissionType,
    }
    const invalid = invalidFilterReason(filter)
    if (invalid) return createDescribeAclsResponse({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid })
    const resources = new Map<string, DescribeAclsResource>()
    for (const acl of ctx.broker.acls.acls) {
      if (!filterMatches(filter, acl)) continue
      const key = aclKey({ ...acl, principal: '', host: '', operation: 0, permissionType: 0 })
      let resource = resources.get(key)
      if (resource === undefined) {
        const { resourceType, resourceName, patternType } = acl
        resource = { resourceType, resourceName, patternType, acls: [] }
        resources.set(key, resource)
      }
      const { principal, host, operation, permissionType } = acl
      resource.acls.push({ principal, host, operation, permissionType })
    }
    return createDescribeAclsResponse({ errorMessage: null, resources: [...resources.values()] })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeAclsResponse({ errorCode, errorMessage: null })
  },
})

// CreateAcls: v0-3
// Stores ACLs (an existing one is kept as is) through the storage engine, so that every broker of
// a cluster applies them. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED on every
// creation). Without an authorizer: SECURITY_DISABLED. Each creation Kafka refuses (UNKNOWN or
// ANY fields, a pattern type other than LITERAL or PREFIXED, an empty name, a cluster name other
// than kafka-cluster, a principal without a type) is answered INVALID_REQUEST, the others stored.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AclCreationResult,
  api,
  type CreateAclsRequest,
  type CreateAclsResponse,
  createCreateAclsResponse,
} from '../../protocol/generated/create-acls.ts'
import { type AclBinding, AclOperation, invalidAclReason } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<CreateAclsRequest, CreateAclsResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req) {
    const acls = ctx.broker.acls
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) return failAll(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
    if (!acls.enabled) return failAll(req, ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    const valid: AclBinding[] = []
    const results: AclCreationResult[] = req.creations.map((c) => {
      const acl: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      }
      const invalid = invalidAclReason(acl)
      if (invalid) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid }
      valid.push(acl)
      return { errorCode: ErrorCode.NONE, errorMessage: null }
    })
    if (valid.length > 0) await acls.change(valid, [])
    return createCreateAclsResponse({ results })
  },
  errorResponse(_ctx, req, errorCode) {
    return failAll(req, errorCode, null)
  },
})

function failAll(req: CreateAclsRequest, errorCode: number, errorMessage: string | null): CreateAclsResponse {
  return createCreateAclsResponse({ results: req.creations.map(() => ({ errorCode, errorMessage })) })
}

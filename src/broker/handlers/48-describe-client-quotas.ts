// DescribeClientQuotas: v0-1
// The quotas of every entity (user, client id, both, or IP; a null name is its type's default)
// that passes the filter: each component names a type and an exact name, the default, or any;
// with strict, an entity may have no other types. Refusals as Kafka's: INVALID_REQUEST for a
// malformed filter, UNSUPPORTED_VERSION for an unknown entity type. Needs DESCRIBE_CONFIGS on the
// cluster (CLUSTER_AUTHORIZATION_FAILED).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeClientQuotasResponse,
  type DescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from '../../protocol/generated/describe-client-quotas.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { filterProblem, matchesFilter } from '../quotas/quota-entities.ts'

export default defineHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  refuse: (ctx) =>
    clusterAuthorized(ctx, AclOperation.DESCRIBE_CONFIGS) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  handle(ctx, req) {
    const problem = filterProblem(req.components)
    if (problem) return createDescribeClientQuotasResponse({ ...problem, errorMessage: problem.message, entries: null })
    const entries = ctx.broker.quotas
      .entries()
      .filter(({ entity }) => matchesFilter(entity, req.components, req.strict))
      .map(({ entity, values }) => ({
        entity: [...entity].map(([entityType, entityName]) => ({ entityType, entityName })),
        values: [...values].map(([key, value]) => ({ key, value })),
      }))
    return createDescribeClientQuotasResponse({ entries })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeClientQuotasResponse({ errorCode, entries: null })
  },
})

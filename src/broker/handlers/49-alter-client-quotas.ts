// AlterClientQuotas: v0-1
// Sets and removes quota values of entities (user, client id, both, or IP; a null name is its
// type's default), all valid entries in one atomic write; validate_only checks without writing.
// Each entry answers on its own: INVALID_REQUEST with Kafka's message for a bad entity (empty,
// duplicate or unknown type, IP combined with another type, an IP that is not one), an unknown
// key for the entity, or a value that is not above 0 (or fractional where Kafka's type is whole).
// Needs ALTER_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AlterClientQuotasRequest,
  type AlterClientQuotasResponse,
  api,
  createAlterClientQuotasResponse,
} from '../../protocol/generated/alter-client-quotas.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { entityProblem, keyProblem, type QuotaEntity, valueProblem } from '../quotas/quota-entities.ts'

export default defineHandler<AlterClientQuotasRequest, AlterClientQuotasResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  refuse: (ctx) =>
    clusterAuthorized(ctx, AclOperation.ALTER_CONFIGS) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  async handle(ctx, req) {
    const changes: { entity: QuotaEntity; values: Map<string, number | null> }[] = []
    const answers = req.entries.map((e) => {
      const answer = (errorCode: number, errorMessage: string | null) => ({ errorCode, errorMessage, entity: e.entity })
      const bad = entityProblem(e.entity)
      if (bad) return answer(ErrorCode.INVALID_REQUEST, bad)
      const entity: QuotaEntity = new Map(e.entity.map((x) => [x.entityType, x.entityName]))
      const values = new Map<string, number | null>()
      for (const op of e.ops) {
        const wrong = op.remove ? keyProblem(entity, op.key) : valueProblem(entity, op.key, op.value)
        if (wrong) return answer(ErrorCode.INVALID_REQUEST, wrong)
        values.set(op.key, op.remove ? null : op.value)
      }
      changes.push({ entity, values })
      return answer(ErrorCode.NONE, null)
    })
    if (!req.validateOnly && changes.length > 0) await ctx.broker.quotas.alter(changes)
    return createAlterClientQuotasResponse({ entries: answers })
  },
  errorResponse(_ctx, req, errorCode) {
    return createAlterClientQuotasResponse({
      entries: req.entries.map((e) => ({ errorCode, errorMessage: null, entity: e.entity })),
    })
  },
})

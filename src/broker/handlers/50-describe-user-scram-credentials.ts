// DescribeUserScramCredentials: v0
// Lists the SCRAM mechanisms and iterations of the users asked for (all users when the list is
// null or empty), never the keys. RESOURCE_NOT_FOUND for a user without credentials,
// DUPLICATE_RESOURCE for a user asked twice, as Kafka. Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeUserScramCredentialsResponse,
  createDescribeUserScramCredentialsResult,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsResult,
} from '../../protocol/generated/describe-user-scram-credentials.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { SCRAM_MECHANISM_IDS, ScramStore } from '../sasl/scram-store.ts'

export default defineHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.DESCRIBE) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const users = await new ScramStore(ctx.broker.storage.kv).list()
    const describe = (user: string): DescribeUserScramCredentialsResult =>
      createDescribeUserScramCredentialsResult({
        user,
        credentialInfos: (users.get(user) ?? [])
          .map((c) => ({ mechanism: SCRAM_MECHANISM_IDS[c.mechanism], iterations: c.iterations }))
          .sort((a, b) => a.mechanism - b.mechanism),
      })
    const asked = (req.users ?? []).map((u) => u.name)
    if (asked.length === 0) {
      return createDescribeUserScramCredentialsResponse({ results: [...users.keys()].sort().map(describe) })
    }
    const duplicates = new Set(asked.filter((u, i) => asked.indexOf(u) !== i))
    const results = [...new Set(asked)].map((user) => {
      if (duplicates.has(user)) {
        return createDescribeUserScramCredentialsResult({
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request',
        })
      }
      if (!users.has(user)) {
        return createDescribeUserScramCredentialsResult({
          user,
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: 'Attempt to describe a user credential that does not exist',
        })
      }
      return describe(user)
    })
    return createDescribeUserScramCredentialsResponse({ results })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeUserScramCredentialsResponse({ errorCode })
  },
})

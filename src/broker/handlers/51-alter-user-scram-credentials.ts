// AlterUserScramCredentials: v0
// Sets (salt and salted password, as the admin client computes them) and deletes users' SCRAM
// credentials, stored through the storage engine; all valid changes are written at once. Per user,
// as Kafka: UNSUPPORTED_SASL_MECHANISM for an unknown mechanism, UNACCEPTABLE_CREDENTIAL for an
// empty name, an empty salt or password, or iterations outside 4096-16384, RESOURCE_NOT_FOUND to
// delete what does not exist, DUPLICATE_RESOURCE for two changes of one user and mechanism (the
// user's other changes are then not made). Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
  api,
  createAlterUserScramCredentialsResponse,
} from '../../protocol/generated/alter-user-scram-credentials.ts'
import {
  credentialFromSaltedPassword,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
} from '../../server/sasl/scram.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { ScramStore, scramMechanismOf } from '../sasl/scram-store.ts'

interface Change {
  user: string
  mechanism: ScramMechanism
  credential: ScramCredential | null
}

export default defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.ALTER) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const store = new ScramStore(ctx.broker.storage.kv)
    const existing = await store.list()
    const errors = new Map<string, { errorCode: number; errorMessage: string }>()
    const refuse = (user: string, errorCode: number, errorMessage: string): void => {
      if (!errors.has(user)) errors.set(user, { errorCode, errorMessage })
    }
    const ops = [
      ...req.deletions.map((d) => ({ user: d.name, mechanismId: d.mechanism, upsert: undefined })),
      ...req.upsertions.map((u) => ({ user: u.name, mechanismId: u.mechanism, upsert: u })),
    ]
    const seen = new Set<string>()
    const changes: Change[] = []
    for (const op of ops) {
      const key = `${op.user}\u0000${op.mechanismId}`
      if (seen.has(key))
        refuse(op.user, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request')
      seen.add(key)
      const mechanism = scramMechanismOf(op.mechanismId)
      if (op.user === '') refuse(op.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty')
      else if (mechanism === undefined) refuse(op.user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism')
      else if (op.upsert === undefined) {
        if (!existing.get(op.user)?.some((c) => c.mechanism === mechanism)) {
          refuse(op.user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist')
        } else changes.push({ user: op.user, mechanism, credential: null })
      } else {
        const { iterations, salt, saltedPassword } = op.upsert
        if (iterations < MIN_ITERATIONS) refuse(op.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations')
        else if (iterations > MAX_ITERATIONS) refuse(op.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations')
        else if (salt.length === 0) refuse(op.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt must not be empty')
        else if (saltedPassword.length === 0) {
          refuse(op.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salted password must not be empty')
        } else {
          const credential = credentialFromSaltedPassword(mechanism, salt, saltedPassword, iterations)
          changes.push({ user: op.user, mechanism, credential })
        }
      }
    }
    await store.write(changes.filter((c) => !errors.has(c.user)))
    const users = [...new Set(ops.map((o) => o.user))]
    return createAlterUserScramCredentialsResponse({
      results: users.map((user) => ({ user, errorCode: 0, errorMessage: null, ...errors.get(user) })),
    })
  },
  errorResponse(_ctx, req, errorCode) {
    const users = [...new Set([...req.deletions, ...req.upsertions].map((o) => o.name))]
    return createAlterUserScramCredentialsResponse({
      results: users.map((user) => ({ user, errorCode, errorMessage: null })),
    })
  },
})

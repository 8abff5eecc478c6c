// UnregisterBroker: v0
// Removes a broker's registration, as Kafka's controller does for a decommissioned broker. In a
// cluster over PostgreSQL that is a broker's entry in the database: one whose lease lapsed (a
// crashed broker, shown as fenced) is removed at once, and drops out of DescribeCluster's fenced
// brokers; an id without an entry is BROKER_ID_NOT_REGISTERED. A live broker is refused
// (INVALID_REQUEST): Kafka would drop its registration and leave it fenced out of the cluster
// until restarted, while a samsa broker stopped cleanly removes its own entry anyway. The brokers of
// one process (--brokers N) are registered nowhere but in it: refused while it runs them.
// Lapsed entries are also removed by themselves after samsa.broker.registration.retention.ms.
// Needs ALTER on the cluster.
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  api,
  createUnregisterBrokerResponse,
  type UnregisterBrokerRequest,
  type UnregisterBrokerResponse,
} from '../../protocol/generated/unregister-broker.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<UnregisterBrokerRequest, UnregisterBrokerResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.ALTER) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const { cluster, membership } = ctx.broker
    const id = req.brokerId
    const refused = (errorCode: number, detail: string) =>
      createUnregisterBrokerResponse({ errorCode, errorMessage: `${errorInfo(errorCode).message}, ${detail}` })
    if (cluster.isLocal(id)) {
      return refused(ErrorCode.INVALID_REQUEST, `Broker ${id} is served by this process; stop it instead.`)
    }
    const outcome = membership === undefined ? 'unknown' : await membership.unregister(id)
    if (outcome === 'unknown')
      return refused(ErrorCode.BROKER_ID_NOT_REGISTERED, `Broker ID ${id} is not currently registered.`)
    if (outcome === 'live') {
      return refused(
        ErrorCode.INVALID_REQUEST,
        `Broker ${id} is live; only a broker whose lease lapsed can be unregistered (a broker stopped cleanly unregisters itself).`,
      )
    }
    ctx.broker.log.info({ brokerId: id }, 'unregistered a broker')
    return createUnregisterBrokerResponse({ errorMessage: null })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createUnregisterBrokerResponse({ errorCode, errorMessage: errorInfo(errorCode).message })
  },
})

// FindCoordinator: v0-6
// Each key is answered with its coordinator's address: the live node the cluster view picks by
// hashing the key, as Kafka picks the leader of partitionFor(key) of __consumer_offsets or
// __transaction_state (always this broker when it is the only one). Key types: 0 GROUP, 1
// TRANSACTION; others (share groups) are INVALID_REQUEST. An empty group id is INVALID_REQUEST too.
// Version notes: v1+ key type, throttle time and error message; v4+ batches keys in
// coordinator_keys and answers in coordinators[] instead of the top-level fields.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  type Coordinator,
  createCoordinator,
  createFindCoordinatorResponse,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../protocol/generated/find-coordinator.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, txnAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { endpointFor } from '../cluster.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'

const GROUP = 0
const TRANSACTION = 1

export default defineHandler<FindCoordinatorRequest, FindCoordinatorResponse>({
  api,
  minVersion: 0,
  maxVersion: 6,
  handle(ctx, req) {
    const core = ctx.broker
    if (ctx.apiVersion >= 4) {
      return createFindCoordinatorResponse({
        coordinators: req.coordinatorKeys.map(
          (k) => refused(ctx, k, req.keyType) ?? find(core, k, req.keyType, ctx.listener),
        ),
      })
    }
    const c = refused(ctx, req.key, req.keyType) ?? find(core, req.key, req.keyType, ctx.listener)
    return createFindCoordinatorResponse({
      errorCode: c.errorCode,
      errorMessage: c.errorMessage,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
    })
  },
  errorResponse(ctx, req, errorCode) {
    if (ctx.apiVersion < 4) return createFindCoordinatorResponse({ errorCode, nodeId: -1, port: -1 })
    return createFindCoordinatorResponse({
      coordinators: req.coordinatorKeys.map((key) => createCoordinator({ key, errorCode, nodeId: -1, port: -1 })),
    })
  },
})

/** DESCRIBE on the group or transactional id, as Kafka checks before looking the coordinator up. */
function refused(ctx: RequestContext, key: string, keyType: number): Coordinator | undefined {
  const denied = (errorCode: number): Coordinator => createCoordinator({ key, errorCode, nodeId: -1, port: -1 })
  if (keyType === GROUP && !groupAuthorized(ctx, AclOperation.DESCRIBE, key))
    return denied(ErrorCode.GROUP_AUTHORIZATION_FAILED)
  if (keyType === TRANSACTION && !txnAuthorized(ctx, AclOperation.DESCRIBE, key))
    return denied(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
  return undefined
}

function find(core: BrokerCore, key: string, keyType: number, listener: string): Coordinator {
  if (keyType !== GROUP && keyType !== TRANSACTION) {
    return createCoordinator({
      key,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: `Unsupported key type ${keyType}`,
      nodeId: -1,
      port: -1,
    })
  }
  if (key === '') {
    return createCoordinator({
      key,
      errorCode: ErrorCode.INVALID_REQUEST,
      errorMessage: 'Empty coordinator key',
      nodeId: -1,
      port: -1,
    })
  }
  const node = core.cluster.node(core.cluster.coordinatorOf(key))
  if (node === undefined) {
    return createCoordinator({ key, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1, port: -1 })
  }
  return createCoordinator({ key, nodeId: node.nodeId, ...endpointFor(node, listener) })
}

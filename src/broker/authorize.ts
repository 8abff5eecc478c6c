/**
 * The one authorization check handlers call (a line per check, where Kafka's KafkaApis checks):
 * whether the connection's principal, from its address, may perform an operation on a resource.
 * Without an authorizer configured every check passes at the cost of one property read.
 */

import { ErrorCode } from '../protocol/error-codes.ts'
import type { Connection } from '../server/connection.ts'
import { type AclOperation, CLUSTER_NAME, ResourceType } from './acls/acl-model.ts'
import type { Requester } from './acls/authorizer.ts'
import type { RequestContext } from './context.ts'

type Operation = (typeof AclOperation)[keyof typeof AclOperation]
type Resource = (typeof ResourceType)[keyof typeof ResourceType]

/** Each connection's requester, made again when its principal changes (re-authentication). */
const requesters = new WeakMap<Connection, Requester>()

/** Who sent the request: the connection's principal and its address (an IPv4 client on a dual-stack socket as a.b.c.d). */
export function requester(ctx: RequestContext): Requester {
  const conn = ctx.connection
  let who = requesters.get(conn)
  if (who === undefined || who.principal !== conn.principal) {
    const address = conn.socket.remoteAddress ?? ''
    who = { principal: conn.principal, host: address.startsWith('::ffff:') ? address.slice(7) : address }
    requesters.set(conn, who)
  }
  return who
}

/** Whether the request's principal may perform `operation` on the named resource. */
export function authorized(ctx: RequestContext, operation: Operation, resourceType: Resource, name: string): boolean {
  const acls = ctx.broker.acls
  return !acls.enabled || acls.authorize(requester(ctx), operation, resourceType, name)
}

/** Whether the request's principal may perform `operation` on the cluster. */
export function clusterAuthorized(ctx: RequestContext, operation: Operation): boolean {
  return authorized(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME)
}

/** Whether the request's principal may perform `operation` on at least one resource of the type. */
export function authorizedForAny(ctx: RequestContext, operation: Operation, resourceType: Resource): boolean {
  const acls = ctx.broker.acls
  return !acls.enabled || acls.authorizeAny(requester(ctx), operation, resourceType)
}

/** Whether the request's principal may perform `operation` on the named topic. */
export function topicAuthorized(ctx: RequestContext, operation: Operation, topic: string): boolean {
  return authorized(ctx, operation, ResourceType.TOPIC, topic)
}

/** Whether the request's principal may perform `operation` on the named group. */
export function groupAuthorized(ctx: RequestContext, operation: Operation, group: string): boolean {
  return authorized(ctx, operation, ResourceType.GROUP, group)
}

/** A handler's `refuse` for a request about one group: GROUP_AUTHORIZATION_FAILED without `operation` on it. */
export function refuseWithoutGroup(operation: Operation) {
  return (ctx: RequestContext, req: { groupId: string }): number | undefined =>
    groupAuthorized(ctx, operation, req.groupId) ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED
}

/** Whether the request's principal may perform `operation` on the transactional id. */
export function txnAuthorized(ctx: RequestContext, operation: Operation, transactionalId: string): boolean {
  return authorized(ctx, operation, ResourceType.TRANSACTIONAL_ID, transactionalId)
}

/**
 * The loop the KIP-848-style describe APIs share (ConsumerGroupDescribe, ShareGroupDescribe,
 * StreamsGroupDescribe): each group is checked for DESCRIBE, then for being coordinated here,
 * and only then described with the operations the principal may perform on it, if asked.
 */
import { ErrorCode } from '../protocol/error-codes.ts'
import { authorizedOperations } from './acl-operations.ts'
import { AclOperation, ResourceType } from './acls/acl-model.ts'
import { groupAuthorized } from './authorize.ts'
import type { BrokerCore } from './broker-core.ts'
import type { RequestContext } from './context.ts'
import { isCoordinator } from './routing.ts'

export interface GroupDescriber<G> {
  /** The entry of a group that could not be described. */
  failed(groupId: string, errorCode: number): G
  /** The entry of a group this broker coordinates; `ops` as authorizedOperations gives them. */
  describe(broker: BrokerCore, groupId: string, ops: number): G
}

export function describeGroups<G>(
  ctx: RequestContext,
  req: { groupIds: string[]; includeAuthorizedOperations: boolean },
  describer: GroupDescriber<G>,
): G[] {
  return req.groupIds.map((groupId) => {
    if (!groupAuthorized(ctx, AclOperation.DESCRIBE, groupId))
      return describer.failed(groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED)
    if (!isCoordinator(ctx, groupId)) return describer.failed(groupId, ErrorCode.NOT_COORDINATOR)
    const ops = authorizedOperations(ctx, req.includeAuthorizedOperations, ResourceType.GROUP, groupId)
    return describer.describe(ctx.broker, groupId, ops)
  })
}

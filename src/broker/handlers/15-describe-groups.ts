// DescribeGroups: v0-6
// State, protocol type and members of classic groups. As in Kafka, member metadata, member
// assignments and the protocol name are only given while the group is Stable. An unknown group,
// or a KIP-848 consumer group (see ConsumerGroupDescribe), is described as Dead with no members
// (from v6 with GROUP_ID_NOT_FOUND and a message, KIP-1043); a group another node coordinates is
// NOT_COORDINATOR.
// Version notes: v3+ authorized operations on request; v4+ group.instance.id of members.

import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribedGroup,
  createDescribeGroupsResponse,
  type DescribedGroup,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../protocol/generated/describe-groups.ts'
import { authorizedOperations } from '../acl-operations.ts'
import { AclOperation, ResourceType } from '../acls/acl-model.ts'
import { groupAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<DescribeGroupsRequest, DescribeGroupsResponse>({
  api,
  minVersion: 0,
  maxVersion: 6,
  handle(ctx, req) {
    return createDescribeGroupsResponse({
      groups: req.groups.map((groupId) => {
        if (!groupAuthorized(ctx, AclOperation.DESCRIBE, groupId))
          return createDescribedGroup({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED })
        if (!isCoordinator(ctx, groupId)) return createDescribedGroup({ groupId, errorCode: ErrorCode.NOT_COORDINATOR })
        const ops = authorizedOperations(ctx, req.includeAuthorizedOperations, ResourceType.GROUP, groupId)
        return describe(ctx.broker, groupId, ops, ctx.apiVersion)
      }),
    })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDescribeGroupsResponse({
      groups: req.groups.map((groupId) => createDescribedGroup({ groupId, errorCode })),
    })
  },
})

function describe(core: BrokerCore, groupId: string, authorizedOperations: number, version: number): DescribedGroup {
  if (groupId === '') return createDescribedGroup({ groupId, errorCode: ErrorCode.INVALID_GROUP_ID })
  const g = core.groups.group(groupId)
  if (g === undefined || g.type !== 'classic') {
    const notFound =
      version >= 6
        ? {
            errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
            errorMessage: g === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a classic group.`,
          }
        : {}
    return createDescribedGroup({ groupId, groupState: 'Dead', authorizedOperations, ...notFound })
  }
  const stable = g.state === 'Stable'
  return createDescribedGroup({
    groupId,
    groupState: g.state,
    protocolType: g.protocolType ?? '',
    protocolData: stable ? (g.protocolName ?? '') : '',
    authorizedOperations,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable
        ? (m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? Buffer.alloc(0))
        : Buffer.alloc(0),
      memberAssignment: stable ? m.assignment : Buffer.alloc(0),
    })),
  })
}

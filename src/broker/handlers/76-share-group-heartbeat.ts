// ShareGroupHeartbeat: v1
// Share group membership (KIP-932): joins (member epoch 0, with the subscribed topics), heartbeats
// and leaves (-1); the simple assignor spreads the subscribed partitions over the members, several
// members sharing a partition when there are more members than partitions
// (coordinator/share/share-group.ts). Request checks as in Kafka: INVALID_REQUEST for a missing
// member id (v1: the client makes it, KIP-1082), an empty group or rack id, a join without
// topics or an epoch below -1; GROUP_ID_NOT_FOUND for a group of another type.
// Version notes: v0 was an early-access format that Kafka 4.1 replaced with v1; it is not served.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createShareGroupHeartbeatResponse,
  type ShareGroupHeartbeatRequest,
  type ShareGroupHeartbeatResponse,
} from '../../protocol/generated/share-group-heartbeat.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup, topicAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse>({
  api,
  minVersion: 1,
  maxVersion: 1,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const invalid = validate(req)
    if (invalid) {
      return createShareGroupHeartbeatResponse({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid })
    }
    if (req.subscribedTopicNames?.some((t) => !topicAuthorized(ctx, AclOperation.DESCRIBE, t))) {
      return createShareGroupHeartbeatResponse({
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: 'The group has subscribed to topics that are not authorized.',
      })
    }
    const r = await ctx.broker.groups.shareGroupHeartbeat(req.groupId, {
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      rackId: req.rackId,
      subscribedTopicNames: req.subscribedTopicNames,
      clientId: ctx.clientId ?? '',
      clientHost: `/${ctx.connection.socket.remoteAddress ?? ''}`,
    })
    return createShareGroupHeartbeatResponse({
      ...r,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createShareGroupHeartbeatResponse({ errorCode })
  },
})

function validate(req: ShareGroupHeartbeatRequest): string | undefined {
  if (req.groupId === '') return "GroupId can't be empty."
  if (req.rackId === '') return "RackId can't be empty."
  if (req.memberId === '') return "MemberId can't be empty."
  if (req.memberEpoch === 0) {
    if (req.subscribedTopicNames === null || req.subscribedTopicNames.length === 0) {
      return 'SubscribedTopicNames must be set in first request.'
    }
  } else if (req.memberEpoch < -1) {
    return `MemberEpoch is invalid: ${req.memberEpoch}`
  }
  return undefined
}

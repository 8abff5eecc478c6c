// StreamsGroupTopologyDescriptionUpdate: v0
// KIP-1331: a member of a streams group sends the description of the group's topology (its
// subtopologies' processing nodes and the global stores) after a heartbeat answered
// TopologyDescriptionRequired; the coordinator keeps it with the group, durably, for
// StreamsGroupDescribe v1. Needs READ on the group, as a heartbeat does; a sender that is not a
// member is UNKNOWN_MEMBER_ID (the client then rejoins), a description of another topology epoch
// INVALID_REQUEST, an unknown group or one of another type GROUP_ID_NOT_FOUND.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createStreamsGroupTopologyDescriptionUpdateResponse,
  type StreamsGroupTopologyDescriptionUpdateRequest,
  type StreamsGroupTopologyDescriptionUpdateResponse,
} from '../../protocol/generated/streams-group-topology-description-update.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<
  StreamsGroupTopologyDescriptionUpdateRequest,
  StreamsGroupTopologyDescriptionUpdateResponse
>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    if (req.groupId === '' || req.memberId === '') {
      return createStreamsGroupTopologyDescriptionUpdateResponse({
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: req.groupId === '' ? "GroupId can't be empty." : "MemberId can't be empty.",
      })
    }
    const r = await ctx.broker.groups.streamsTopologyDescriptionUpdate(
      req.groupId,
      req.memberId,
      req.topologyEpoch,
      req.topologyDescription,
    )
    return createStreamsGroupTopologyDescriptionUpdateResponse(r)
  },
  errorResponse(_ctx, _req, errorCode) {
    return createStreamsGroupTopologyDescriptionUpdateResponse({ errorCode })
  },
})

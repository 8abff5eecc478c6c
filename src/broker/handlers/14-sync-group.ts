// SyncGroup: v0-5
// The leader hands in the assignment of every member; each member's response is held until
// then and carries its own assignment. Errors: UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
// ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, INCONSISTENT_GROUP_PROTOCOL (protocol type or
// name that does not match the group's, v5+).
// Version notes: v3+ group.instance.id; v5+ protocol type and name in request and response.
import {
  api,
  createSyncGroupResponse,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../../protocol/generated/sync-group.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<SyncGroupRequest, SyncGroupResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const r = await ctx.broker.groups.syncGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      generationId: req.generationId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments,
    })
    return createSyncGroupResponse(r)
  },
  errorResponse(_ctx, _req, errorCode) {
    return createSyncGroupResponse({ errorCode })
  },
})

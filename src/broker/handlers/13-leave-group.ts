// LeaveGroup: v0-5
// Removes members from a classic group, which then rebalances. A static member is named by its
// group.instance.id; a different member id for it is FENCED_INSTANCE_ID.
// Version notes: v0-2 one member_id, its error at the top level; v3+ a batch of members
// (KIP-345) with an error each; v5+ a reason per member.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createLeaveGroupResponse,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
} from '../../protocol/generated/leave-group.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<LeaveGroupRequest, LeaveGroupResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  handle(ctx, req) {
    const batched = ctx.apiVersion >= 3
    const members = batched ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }]
    const r = ctx.broker.groups.leaveGroup(req.groupId, members)
    if (!batched) return createLeaveGroupResponse({ errorCode: r.members[0] ?? r.errorCode })
    const errorCode = r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID ? ErrorCode.NONE : r.errorCode
    return createLeaveGroupResponse({
      errorCode,
      members: members.map((m, i) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode: r.members[i] ?? ErrorCode.UNKNOWN_MEMBER_ID,
      })),
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createLeaveGroupResponse({ errorCode })
  },
})

// Heartbeat: v0-4
// Keeps a classic group member's session alive. REBALANCE_IN_PROGRESS tells the member to
// rejoin; UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and FENCED_INSTANCE_ID that it is out.
// Version notes: v3+ group.instance.id.
import {
  api,
  createHeartbeatResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
} from '../../protocol/generated/heartbeat.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<HeartbeatRequest, HeartbeatResponse>({
  api,
  minVersion: 0,
  maxVersion: 4,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  handle(ctx, req) {
    const errorCode = ctx.broker.groups.heartbeat(req.groupId, req.memberId, req.groupInstanceId, req.generationId)
    return createHeartbeatResponse({ errorCode })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createHeartbeatResponse({ errorCode })
  },
})

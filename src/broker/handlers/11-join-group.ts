// JoinGroup: v0-9
// Joins a classic group; the response is held until the rebalance completes (see
// coordinator/group/classic-group.ts for the state machine). The session timeout must lie
// within group.min/max.session.timeout.ms (else INVALID_SESSION_TIMEOUT).
// Version notes: v1+ rebalance timeout (v0 uses the session timeout); v4+ a first join without
// member id gets MEMBER_ID_REQUIRED and a generated id (KIP-394); v5+ group.instance.id (static
// membership, KIP-345: FENCED_INSTANCE_ID); v7+ protocol type and name in the response;
// v8+ reason; v9+ skip_assignment for a static leader rejoining a Stable group.

import type { JoinResult } from '../../coordinator/group/classic-group.ts'
import {
  api,
  createJoinGroupResponse,
  type JoinGroupRequest,
  type JoinGroupResponse,
} from '../../protocol/generated/join-group.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<JoinGroupRequest, JoinGroupResponse>({
  api,
  minVersion: 0,
  maxVersion: 9,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const result = await ctx.broker.groups.joinGroup(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: ctx.clientId ?? '',
      clientHost: `/${ctx.connection.socket.remoteAddress ?? ''}`,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.apiVersion >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      requireKnownMemberId: ctx.apiVersion >= 4,
    })
    return response(result, ctx.apiVersion)
  },
  errorResponse(_ctx, req, errorCode) {
    return createJoinGroupResponse({ errorCode, generationId: -1, memberId: req.memberId })
  },
})

function response(r: JoinResult, v: number): JoinGroupResponse {
  return createJoinGroupResponse({
    errorCode: r.errorCode,
    generationId: r.generationId,
    // Before v7 the protocol name is not nullable.
    protocolType: r.protocolType,
    protocolName: v < 7 ? (r.protocolName ?? '') : r.protocolName,
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  })
}

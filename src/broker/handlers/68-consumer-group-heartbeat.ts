// ConsumerGroupHeartbeat: v0-1
// The KIP-848 consumer group protocol: joins (member epoch 0), heartbeats, leaves (-1, or -2 for
// a static member that will come back), with server-side assignment and incremental
// revocation (see coordinator/group/consumer-group.ts). Request checks as in Kafka:
// INVALID_REQUEST for missing or contradictory fields, UNSUPPORTED_ASSIGNOR,
// INVALID_REGULAR_EXPRESSION; a non-empty classic group with the same id is GROUP_ID_NOT_FOUND.
// Version notes: v0 the broker generates member ids on join; v1+ the client does (KIP-1082).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  createConsumerGroupHeartbeatResponse,
} from '../../protocol/generated/consumer-group-heartbeat.ts'
import { wholeMatchRegex } from '../../util/whole-match-regex.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup, topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { defineHandler } from '../handler.ts'

/** Kafka's INVALID_REGULAR_EXPRESSION (added with KIP-848 regex subscriptions). */
const INVALID_REGULAR_EXPRESSION = 128

export default defineHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  handle(ctx, req) {
    const invalid = validate(ctx.broker, req, ctx.apiVersion)
    if (invalid) return createConsumerGroupHeartbeatResponse({ errorCode: invalid[0], errorMessage: invalid[1] })
    if (req.subscribedTopicNames?.some((t) => !topicAuthorized(ctx, AclOperation.DESCRIBE, t))) {
      return createConsumerGroupHeartbeatResponse({
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: 'The group has subscribed to topics that are not authorized.',
      })
    }
    const r = ctx.broker.groups.consumerGroupHeartbeat(req.groupId, {
      ...req,
      apiVersion: ctx.apiVersion,
      clientId: ctx.clientId ?? '',
      clientHost: `/${ctx.connection.socket.remoteAddress ?? ''}`,
    })
    return createConsumerGroupHeartbeatResponse({
      ...r,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createConsumerGroupHeartbeatResponse({ errorCode })
  },
})

function validate(core: BrokerCore, req: ConsumerGroupHeartbeatRequest, v: number): [number, string] | undefined {
  const bad = (message: string): [number, string] => [ErrorCode.INVALID_REQUEST, message]
  if (req.groupId === '') return bad("GroupId can't be empty.")
  if (req.instanceId === '') return bad("InstanceId can't be empty.")
  if (req.rackId === '') return bad("RackId can't be empty.")
  if (v >= 1 && req.memberId === '') return bad("MemberId can't be empty.")
  if ((req.memberEpoch > 0 || req.memberEpoch === -2) && req.memberId === '') return bad("MemberId can't be empty.")
  if (req.memberEpoch === 0) {
    if (req.rebalanceTimeoutMs === -1) return bad('RebalanceTimeoutMs must be provided in first request.')
    if (req.topicPartitions === null || req.topicPartitions.length > 0) {
      return bad('TopicPartitions must be empty when (re-)joining.')
    }
    if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) {
      return bad('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.')
    }
  } else if (req.memberEpoch === -2) {
    if (req.instanceId === null) return bad("InstanceId can't be null.")
  } else if (req.memberEpoch < -2) {
    return bad(`MemberEpoch is invalid: ${req.memberEpoch}`)
  }
  if (req.serverAssignor !== null && !core.groups.assignors().includes(req.serverAssignor)) {
    return [ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${req.serverAssignor} is not supported.`]
  }
  if (req.subscribedTopicRegex && wholeMatchRegex(req.subscribedTopicRegex) === undefined) {
    return [
      INVALID_REGULAR_EXPRESSION,
      `SubscribedTopicRegex ${req.subscribedTopicRegex} is not a valid regular expression.`,
    ]
  }
  return undefined
}

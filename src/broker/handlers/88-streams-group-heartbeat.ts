// StreamsGroupHeartbeat: v0
// Streams groups (KIP-1071): a Kafka Streams member joins (epoch 0) with its topology, heartbeats
// with the tasks it owns, and leaves (-1, or -2 for a static member that will come back). The
// coordinator configures the topology, has the broker create missing repartition and changelog
// topics, assigns active and standby tasks with its sticky assignor and reconciles each member
// (coordinator/streams/streams-group.ts); what keeps a group from running is told through the
// status list (STALE_TOPOLOGY, MISSING_SOURCE_TOPICS, INCORRECTLY_PARTITIONED_TOPICS,
// MISSING_INTERNAL_TOPICS, SHUTDOWN_APPLICATION; internal topics are created only for a member
// with CREATE on the cluster or on each of them). Request checks as in Kafka: INVALID_REQUEST for
// missing or contradictory fields, STREAMS_INVALID_TOPOLOGY for an inconsistent topology,
// TOPIC_AUTHORIZATION_FAILED for source topics without DESCRIBE, GROUP_ID_NOT_FOUND for a group
// of another type.
// Version notes: v1 (KIP-1331) adds AcceptableRecoveryLag as an int64 and
// TopologyDescriptionRequired, true while the group holds no description of its current topology
// (the member then sends one with StreamsGroupTopologyDescriptionUpdate); MISSING_CLIENT_TAGS is
// never told, as the assignor does not place standbys by client tags.
import { STREAMS_INVALID_TOPOLOGY } from '../../coordinator/streams/streams-group.ts'
import { topologyProblem } from '../../coordinator/streams/topology.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createStreamsGroupHeartbeatResponse,
  type StreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatResponse,
} from '../../protocol/generated/streams-group-heartbeat.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized, refuseWithoutGroup, topicAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

/** Kafka's defaults of group.streams.acceptable.recovery.lag and group.streams.task.offset.interval.ms. */
const ACCEPTABLE_RECOVERY_LAG = 10_000
const TASK_OFFSET_INTERVAL_MS = 60_000

export default defineHandler<StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const invalid = validate(req)
    if (invalid) return createStreamsGroupHeartbeatResponse({ errorCode: invalid[0], errorMessage: invalid[1] })
    const sources = req.topology?.subtopologies.flatMap((s) => s.sourceTopics) ?? []
    if (sources.some((t) => !topicAuthorized(ctx, AclOperation.DESCRIBE, t))) {
      return createStreamsGroupHeartbeatResponse({
        errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        errorMessage: 'The group reads topics that are not authorized.',
      })
    }
    const r = await ctx.broker.groups.streamsGroupHeartbeat(req.groupId, {
      ...req,
      clientId: ctx.clientId ?? '',
      clientHost: `/${ctx.connection.socket.remoteAddress ?? ''}`,
      mayCreateTopic: (name) =>
        clusterAuthorized(ctx, AclOperation.CREATE) || topicAuthorized(ctx, AclOperation.CREATE, name),
    })
    return createStreamsGroupHeartbeatResponse({
      ...r,
      acceptableRecoveryLagLegacy: ACCEPTABLE_RECOVERY_LAG,
      acceptableRecoveryLag: BigInt(ACCEPTABLE_RECOVERY_LAG),
      taskOffsetIntervalMs: TASK_OFFSET_INTERVAL_MS,
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createStreamsGroupHeartbeatResponse({ errorCode })
  },
})

function validate(req: StreamsGroupHeartbeatRequest): [number, string] | undefined {
  const bad = (message: string): [number, string] => [ErrorCode.INVALID_REQUEST, message]
  if (req.groupId === '') return bad("GroupId can't be empty.")
  if (req.memberId === '') return bad("MemberId can't be empty.")
  if (req.instanceId === '') return bad("InstanceId can't be empty.")
  if (req.rackId === '') return bad("RackId can't be empty.")
  if (req.memberEpoch === 0) {
    if (req.rebalanceTimeoutMs === -1) return bad('RebalanceTimeoutMs must be provided in first request.')
    if (req.topology === null) return bad('Topology must be non-null when (re-)joining.')
    if (req.processId === null) return bad('ProcessId must be non-null when (re-)joining.')
    for (const [name, tasks] of [
      ['ActiveTasks', req.activeTasks],
      ['StandbyTasks', req.standbyTasks],
      ['WarmupTasks', req.warmupTasks],
    ] as const) {
      if (tasks === null || tasks.length > 0) return bad(`${name} must be empty when (re-)joining.`)
    }
  } else if (req.memberEpoch === -2) {
    if (req.instanceId === null) return bad("InstanceId can't be null.")
  } else if (req.memberEpoch < -2) {
    return bad(`MemberEpoch is invalid: ${req.memberEpoch}`)
  }
  const problem = req.topology === null ? undefined : topologyProblem(req.topology)
  if (problem) return [STREAMS_INVALID_TOPOLOGY, problem]
  return undefined
}

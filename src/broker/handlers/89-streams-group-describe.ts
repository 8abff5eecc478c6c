// StreamsGroupDescribe: v0
// Streams groups (KIP-1071): state (Empty, NotReady, Assigning, Reconciling, Stable), epochs,
// the topology as configured against the existing topics (null while it cannot be), and per
// member its process, endpoint, client tags, task offsets, and current and target tasks (active,
// standby, warm-up). An unknown group, or a group of another type, is GROUP_ID_NOT_FOUND; a group
// another node coordinates NOT_COORDINATOR.
// Version notes: v1 (KIP-1331) adds, when asked, the topology description a member sent
// (StreamsGroupTopologyDescriptionUpdate) with its status (AVAILABLE, or NOT_STORED while the
// group holds none of its current topology), and the assignor's name.

import { taskList } from '../../coordinator/streams/streams-group.ts'
import { STREAMS_ASSIGNOR, type TaskRoles } from '../../coordinator/streams/task-assignor.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribedGroup,
  createMember,
  createStreamsGroupDescribeResponse,
  type DescribedGroup,
  type StreamsGroupDescribeRequest,
  type StreamsGroupDescribeResponse,
} from '../../protocol/generated/streams-group-describe.ts'
import type { BrokerCore } from '../broker-core.ts'
import { describeGroups } from '../group-describe.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<StreamsGroupDescribeRequest, StreamsGroupDescribeResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req) {
    return createStreamsGroupDescribeResponse({
      groups: describeGroups(ctx, req, {
        failed,
        describe: (core, groupId, ops) => describe(core, groupId, ops, req.includeTopologyDescription),
      }),
    })
  },
  errorResponse(_ctx, req, errorCode) {
    return createStreamsGroupDescribeResponse({ groups: req.groupIds.map((groupId) => failed(groupId, errorCode)) })
  },
})

const assignment = (r: TaskRoles) => ({
  activeTasks: taskList(r.active),
  standbyTasks: taskList(r.standby),
  warmupTasks: taskList(r.warmup),
})

const failed = (groupId: string, errorCode: number): DescribedGroup => createDescribedGroup({ groupId, errorCode })

/** KIP-1331's TopologyDescriptionStatus values. */
const DESCRIPTION_NOT_REQUESTED = 0
const DESCRIPTION_NOT_STORED = 1
const DESCRIPTION_AVAILABLE = 3

function describe(
  core: BrokerCore,
  groupId: string,
  authorizedOperations: number,
  withDescription: boolean,
): DescribedGroup {
  const g = core.groups.group(groupId)
  if (g === undefined || g.type !== 'streams') {
    const errorMessage = g === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a streams group.`
    return createDescribedGroup({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage })
  }
  const configured = g.configured?.problem === null ? g.configured.subtopologies : null
  const description = withDescription ? g.currentTopologyDescription() : null
  return createDescribedGroup({
    groupId,
    assignorName: STREAMS_ASSIGNOR,
    topologyDescription: description,
    topologyDescriptionStatus: !withDescription
      ? DESCRIPTION_NOT_REQUESTED
      : description === null
        ? DESCRIPTION_NOT_STORED
        : DESCRIPTION_AVAILABLE,
    groupState: g.state,
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    authorizedOperations,
    topology:
      g.topology === null
        ? null
        : {
            epoch: g.topology.epoch,
            subtopologies:
              configured?.map((s) => ({
                subtopologyId: s.subtopologyId,
                sourceTopics: s.sourceTopics,
                repartitionSinkTopics: s.repartitionSinkTopics,
                stateChangelogTopics: s.stateChangelogTopics,
                repartitionSourceTopics: s.repartitionSourceTopics,
              })) ?? null,
          },
    members: [...g.members.values()].map((m) =>
      createMember({
        memberId: m.memberId,
        memberEpoch: m.memberEpoch,
        instanceId: m.instanceId,
        rackId: m.rackId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        topologyEpoch: m.topologyEpoch,
        processId: m.processId,
        userEndpoint: m.userEndpoint,
        clientTags: m.clientTags,
        taskOffsets: m.taskOffsets.map((o) => ({ ...o, offset: BigInt(o.offset) })),
        taskEndOffsets: m.taskEndOffsets.map((o) => ({ ...o, offset: BigInt(o.offset) })),
        assignment: assignment(m.assigned),
        targetAssignment: assignment(
          g.target.get(m.memberId) ?? { active: new Map(), standby: new Map(), warmup: new Map() },
        ),
      }),
    ),
  })
}

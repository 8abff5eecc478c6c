// ConsumerGroupDescribe: v0-1
// KIP-848 consumer groups: epochs, assignor, and per member its subscription, current
// assignment and target assignment (topics by id and name). An unknown group, or a classic
// group, is GROUP_ID_NOT_FOUND; a group another node coordinates NOT_COORDINATOR.
// Version notes: v1 member type (KIP-1099): every member here is a consumer-protocol member,
// since classic members do not join consumer groups in samsa.
import type { TopicAssignment } from '../../coordinator/group/assignors.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  createConsumerGroupDescribeResponse,
  createDescribedGroup,
  createMember,
  type DescribedGroup,
  type TopicPartitions,
} from '../../protocol/generated/consumer-group-describe.ts'
import type { BrokerCore } from '../broker-core.ts'
import { describeGroups } from '../group-describe.ts'
import { defineHandler } from '../handler.ts'

/** KIP-1099's member type of a member that joined with ConsumerGroupHeartbeat. */
const CONSUMER_MEMBER = 1

export default defineHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req) {
    return createConsumerGroupDescribeResponse({ groups: describeGroups(ctx, req, { failed, describe }) })
  },
  errorResponse(_ctx, req, errorCode) {
    return createConsumerGroupDescribeResponse({ groups: req.groupIds.map((groupId) => failed(groupId, errorCode)) })
  },
})

const failed = (groupId: string, errorCode: number): DescribedGroup => createDescribedGroup({ groupId, errorCode })

function describe(core: BrokerCore, groupId: string, authorizedOperations: number): DescribedGroup {
  const g = core.groups.group(groupId)
  if (g === undefined || g.type !== 'consumer') {
    const errorMessage = g === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a consumer group.`
    return createDescribedGroup({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage })
  }
  const named = (a: TopicAssignment | undefined): TopicPartitions[] =>
    [...(a ?? [])].map(([topicId, partitions]) => ({
      topicId,
      topicName: core.topics.getById(topicId)?.name ?? '',
      partitions,
    }))
  return createDescribedGroup({
    groupId,
    groupState: g.state,
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    assignorName: g.assignorName(),
    authorizedOperations,
    members: [...g.members.values()].map((m) =>
      createMember({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: { topicPartitions: named(m.assigned) },
        targetAssignment: { topicPartitions: named(g.target.get(m.memberId)) },
        memberType: CONSUMER_MEMBER,
      }),
    ),
  })
}

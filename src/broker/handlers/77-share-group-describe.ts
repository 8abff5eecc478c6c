// ShareGroupDescribe: v1
// Share groups (KIP-932): state (Empty, Stable), epochs, the assignor ("simple"), and per member
// its rack, epoch, client, subscription and assignment (topics by id and name). An unknown group,
// or a group of another type, is GROUP_ID_NOT_FOUND; a group another node coordinates
// NOT_COORDINATOR. Version notes: v0 (early access, Kafka 4.0) is not served.
import type { TopicAssignment } from '../../coordinator/group/assignors.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribedGroup,
  createMember,
  createShareGroupDescribeResponse,
  type DescribedGroup,
  type ShareGroupDescribeRequest,
  type ShareGroupDescribeResponse,
} from '../../protocol/generated/share-group-describe.ts'
import type { BrokerCore } from '../broker-core.ts'
import { describeGroups } from '../group-describe.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<ShareGroupDescribeRequest, ShareGroupDescribeResponse>({
  api,
  minVersion: 1,
  maxVersion: 1,
  handle(ctx, req) {
    return createShareGroupDescribeResponse({ groups: describeGroups(ctx, req, { failed, describe }) })
  },
  errorResponse(_ctx, req, errorCode) {
    return createShareGroupDescribeResponse({ groups: req.groupIds.map((groupId) => failed(groupId, errorCode)) })
  },
})

const failed = (groupId: string, errorCode: number): DescribedGroup => createDescribedGroup({ groupId, errorCode })

function describe(core: BrokerCore, groupId: string, authorizedOperations: number): DescribedGroup {
  const g = core.groups.group(groupId)
  if (g === undefined || g.type !== 'share') {
    const errorMessage = g === undefined ? `Group ${groupId} not found.` : `Group ${groupId} is not a share group.`
    return createDescribedGroup({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage })
  }
  const named = (a: TopicAssignment) =>
    [...a].map(([topicId, partitions]) => ({
      topicId,
      topicName: core.topics.getById(topicId)?.name ?? '',
      partitions,
    }))
  return createDescribedGroup({
    groupId,
    groupState: g.state,
    groupEpoch: g.groupEpoch,
    assignmentEpoch: g.assignmentEpoch,
    assignorName: 'simple',
    authorizedOperations,
    members: [...g.members.values()].map((m) =>
      createMember({
        memberId: m.memberId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        assignment: { topicPartitions: named(m.assigned) },
      }),
    ),
  })
}

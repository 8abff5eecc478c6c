/**
 * The group APIs over the wire in several versions: FindCoordinator (single and batched keys),
 * ListGroups filters, DescribeGroups, LeaveGroup batches, OffsetFetch, OffsetDelete and
 * DeleteGroups errors.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { encodeConsumerProtocolSubscription } from '../../src/protocol/generated/consumer-protocol-subscription.ts'
import type { DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.ts'
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.ts'
import type { FindCoordinatorResponse } from '../../src/protocol/generated/find-coordinator.ts'
import { createFindCoordinatorRequest } from '../../src/protocol/generated/find-coordinator.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createJoinGroupRequest, type JoinGroupResponse } from '../../src/protocol/generated/join-group.ts'
import { createLeaveGroupRequest, type LeaveGroupResponse } from '../../src/protocol/generated/leave-group.ts'
import { createListGroupsRequest, type ListGroupsResponse } from '../../src/protocol/generated/list-groups.ts'
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestTopic,
  type OffsetCommitResponse,
} from '../../src/protocol/generated/offset-commit.ts'
import type { OffsetDeleteResponse } from '../../src/protocol/generated/offset-delete.ts'
import { createOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'
import { RawClient } from '../helpers/raw-client.ts'

let broker: Broker
let raw: RawClient

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } })
  raw = await RawClient.connect(broker.port)
  await broker.core.topics.create('apis', 2, {})
  await broker.core.topics.create('other', 1, {})
})
after(async () => {
  await raw.close()
  await broker.close()
})

function subscription(topics: string[]): Buffer {
  const w = new Writer()
  w.writeInt16(1)
  encodeConsumerProtocolSubscription(w, 1, {
    topics,
    userData: null,
    ownedPartitions: [],
    generationId: -1,
    rackId: null,
  })
  return w.toBuffer()
}

test('FindCoordinator: this broker for groups and transactions, single and batched', async () => {
  const v0 = await raw.send<FindCoordinatorResponse>(
    ApiKey.FindCoordinator,
    0,
    createFindCoordinatorRequest({ key: 'g' }),
  )
  assert.equal(v0.errorCode, ErrorCode.NONE)
  assert.equal(v0.nodeId, broker.core.nodeId)
  assert.equal(v0.port, broker.port)
  const v4 = await raw.send<FindCoordinatorResponse>(
    ApiKey.FindCoordinator,
    4,
    createFindCoordinatorRequest({ keyType: 1, coordinatorKeys: ['tx-1', 'tx-2'] }),
  )
  assert.deepEqual(
    v4.coordinators.map((c) => [c.key, c.errorCode, c.port]),
    [
      ['tx-1', 0, broker.port],
      ['tx-2', 0, broker.port],
    ],
  )
  const share = await raw.send<FindCoordinatorResponse>(
    ApiKey.FindCoordinator,
    6,
    createFindCoordinatorRequest({ keyType: 2, coordinatorKeys: ['s'] }),
  )
  assert.equal(share.coordinators[0]?.errorCode, ErrorCode.INVALID_REQUEST)
})

test('a group through its life: join, list, describe, offsets, leave, delete', async () => {
  const join = await raw.send<JoinGroupResponse>(
    ApiKey.JoinGroup,
    9,
    createJoinGroupRequest({
      groupId: 'life',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      groupInstanceId: 'life-1',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(['apis']) }],
    }),
  )
  assert.equal(join.errorCode, ErrorCode.NONE)
  assert.equal(join.protocolName, 'range')
  const listed = await raw.send<ListGroupsResponse>(
    ApiKey.ListGroups,
    5,
    createListGroupsRequest({ statesFilter: ['completingrebalance'] }),
  )
  assert.deepEqual(
    listed.groups.map((g) => [g.groupId, g.groupState, g.groupType, g.protocolType]),
    [['life', 'CompletingRebalance', 'classic', 'consumer']],
  )
  const none = await raw.send<ListGroupsResponse>(
    ApiKey.ListGroups,
    5,
    createListGroupsRequest({ typesFilter: ['consumer'] }),
  )
  assert.deepEqual(none.groups, [])
  const commit = await raw.send<OffsetCommitResponse>(
    ApiKey.OffsetCommit,
    7,
    createOffsetCommitRequest({
      groupId: 'life',
      generationIdOrMemberEpoch: join.generationId,
      memberId: join.memberId,
      groupInstanceId: 'life-1',
      topics: [
        createOffsetCommitRequestTopic({
          name: 'apis',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 3n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: 'meta',
            },
          ],
        }),
        createOffsetCommitRequestTopic({
          name: 'other',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        }),
        createOffsetCommitRequestTopic({
          name: 'missing',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        }),
      ],
    }),
  )
  // CompletingRebalance: a member that has not synced yet must wait for the assignment.
  assert.equal(commit.topics[0]?.partitions[0]?.errorCode, ErrorCode.REBALANCE_IN_PROGRESS)
  await raw.send(ApiKey.SyncGroup, 5, {
    groupId: 'life',
    generationId: join.generationId,
    memberId: join.memberId,
    groupInstanceId: 'life-1',
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: join.memberId, assignment: Buffer.from([0]) }],
  })
  const commit2 = await raw.send<OffsetCommitResponse>(
    ApiKey.OffsetCommit,
    7,
    createOffsetCommitRequest({
      groupId: 'life',
      generationIdOrMemberEpoch: join.generationId,
      memberId: join.memberId,
      groupInstanceId: 'life-1',
      topics: [
        createOffsetCommitRequestTopic({
          name: 'apis',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 3n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: 'meta',
            },
          ],
        }),
        createOffsetCommitRequestTopic({
          name: 'other',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        }),
        createOffsetCommitRequestTopic({
          name: 'missing',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1n,
              committedLeaderEpoch: -1,
              commitTimestamp: -1n,
              committedMetadata: null,
            },
          ],
        }),
      ],
    }),
  )
  assert.deepEqual(
    commit2.topics.map((t) => t.partitions[0]?.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  )
  const fetched = await raw.send<OffsetFetchResponse>(
    ApiKey.OffsetFetch,
    1,
    createOffsetFetchRequest({ groupId: 'life', topics: [{ name: 'apis', partitionIndexes: [0, 1] }] }),
  )
  assert.deepEqual(
    fetched.topics[0]?.partitions.map((p) => [p.committedOffset, p.metadata]),
    [
      [3n, 'meta'],
      [-1n, ''],
    ],
  )
  const describe = await raw.send<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, {
    groups: ['life', 'ghost'],
    includeAuthorizedOperations: false,
  })
  assert.equal(describe.groups[0]?.groupState, 'Stable')
  assert.equal(describe.groups[0]?.protocolData, 'range')
  assert.equal(describe.groups[0]?.members[0]?.groupInstanceId, 'life-1')
  assert.equal(describe.groups[1]?.groupState, 'Dead')

  const offsetDelete = await raw.send<OffsetDeleteResponse>(ApiKey.OffsetDelete, 0, {
    groupId: 'life',
    topics: [
      { name: 'apis', partitions: [{ partitionIndex: 0 }] },
      { name: 'other', partitions: [{ partitionIndex: 0 }] },
    ],
  })
  assert.deepEqual(
    offsetDelete.topics.map((t) => t.partitions[0]?.errorCode),
    [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE],
  )
  const nonEmpty = await raw.send<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, { groupsNames: ['life', 'ghost'] })
  assert.deepEqual(
    nonEmpty.results.map((r) => r.errorCode),
    [ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND],
  )
  const leave = await raw.send<LeaveGroupResponse>(
    ApiKey.LeaveGroup,
    5,
    createLeaveGroupRequest({
      groupId: 'life',
      members: [
        { memberId: join.memberId, groupInstanceId: 'life-1', reason: 'done' },
        { memberId: 'ghost', groupInstanceId: null, reason: null },
      ],
    }),
  )
  assert.deepEqual(
    leave.members.map((m) => m.errorCode),
    [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID],
  )
  const deleted = await raw.send<DeleteGroupsResponse>(ApiKey.DeleteGroups, 0, { groupsNames: ['life'] })
  assert.equal(deleted.results[0]?.errorCode, ErrorCode.NONE)
  const gone = await raw.send<OffsetFetchResponse>(
    ApiKey.OffsetFetch,
    7,
    createOffsetFetchRequest({ groupId: 'life', topics: null }),
  )
  assert.deepEqual(gone.topics, [])
})

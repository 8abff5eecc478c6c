/**
 * Share groups (KIP-932) in the admin APIs, over the wire with raw requests: ShareGroupDescribe,
 * ListGroups and DescribeGroups with the group type, DescribeShareGroupOffsets (start offset,
 * v1 lag), AlterShareGroupOffsets and DeleteShareGroupOffsets on empty groups only, DeleteGroups;
 * the share state of a deleted topic goes with it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type AlterShareGroupOffsetsResponse,
  createAlterShareGroupOffsetsRequest,
} from '../../src/protocol/generated/alter-share-group-offsets.ts'
import { createDeleteGroupsRequest, type DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.ts'
import {
  createDeleteShareGroupOffsetsRequest,
  type DeleteShareGroupOffsetsResponse,
} from '../../src/protocol/generated/delete-share-group-offsets.ts'
import {
  createDescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../src/protocol/generated/describe-groups.ts'
import {
  createDescribeShareGroupOffsetsRequest,
  type DescribeShareGroupOffsetsResponse,
} from '../../src/protocol/generated/describe-share-group-offsets.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createListGroupsRequest, type ListGroupsResponse } from '../../src/protocol/generated/list-groups.ts'
import {
  createShareGroupDescribeRequest,
  type ShareGroupDescribeResponse,
} from '../../src/protocol/generated/share-group-describe.ts'
import { ACCEPT, ack, heartbeat, join, ShareMember, setup, topic } from './share-helpers.ts'

test('share groups in the admin APIs: described, listed with their type, offsets described, altered, deleted', async (t) => {
  const { broker, raw, produce } = await setup(t)
  const id = await topic(broker, 'share-admin', 2)
  const a = await join(raw, 'adm', 'member-a', ['share-admin'])
  assert.equal(a.errorCode, ErrorCode.NONE)

  const described = await raw.send<ShareGroupDescribeResponse>(
    ApiKey.ShareGroupDescribe,
    1,
    createShareGroupDescribeRequest({ groupIds: ['adm', 'nope'] }),
  )
  const g = described.groups[0]
  assert.equal(g?.groupState, 'Stable')
  assert.equal(g?.assignorName, 'simple')
  assert.equal(g?.groupEpoch, a.memberEpoch)
  assert.deepEqual(
    g?.members.map((m) => [m.memberId, m.memberEpoch, m.subscribedTopicNames, m.assignment.topicPartitions]),
    [['member-a', a.memberEpoch, ['share-admin'], [{ topicId: id, topicName: 'share-admin', partitions: [0, 1] }]]],
  )
  assert.equal(described.groups[1]?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)

  const list = async (typesFilter: string[]) =>
    (await raw.send<ListGroupsResponse>(ApiKey.ListGroups, 5, createListGroupsRequest({ typesFilter }))).groups
  assert.deepEqual(
    (await list(['share'])).map((l) => [l.groupId, l.protocolType, l.groupState, l.groupType]),
    [['adm', 'share', 'Stable', 'share']],
  )
  assert.deepEqual(await list(['classic']), [])
  const dg = await raw.send<DescribeGroupsResponse>(
    ApiKey.DescribeGroups,
    6,
    createDescribeGroupsRequest({ groups: ['adm'] }),
  )
  assert.equal(dg.groups[0]?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'DescribeGroups describes classic groups only')

  // Partition 0 starts at the end of the log (latest) when first read; one record is accepted.
  await produce('share-admin', ['old'])
  const m = new ShareMember(raw, 'adm', 'member-a', id)
  await m.fetch()
  await produce('share-admin', ['x0', 'x1', 'x2'])
  const got = await m.fetch()
  assert.ok(got.offsets.length > 0)
  const first = got.offsets[0] as number
  assert.equal((await m.acknowledge([ack(first, first, ACCEPT)])).errorCode, ErrorCode.NONE)

  const describeOffsets = async (version: number) =>
    (
      await raw.send<DescribeShareGroupOffsetsResponse>(
        ApiKey.DescribeShareGroupOffsets,
        version,
        createDescribeShareGroupOffsetsRequest({ groups: [{ groupId: 'adm', topics: null }] }),
      )
    ).groups[0]
  const now = await describeOffsets(1)
  assert.equal(now?.errorCode, ErrorCode.NONE)
  assert.equal(now?.topics[0]?.topicName, 'share-admin')
  const p0 = now?.topics[0]?.partitions.find((p) => p.partitionIndex === 0)
  assert.equal(p0?.startOffset, BigInt(first + 1))
  const hw = (await broker.core.storage.offsets('share-admin', 0)).highWatermark
  assert.equal(p0?.lag, BigInt(hw - first - 1), 'v1: the records not yet acknowledged')

  const alter = (groupId: string, startOffset: bigint) =>
    raw.send<AlterShareGroupOffsetsResponse>(
      ApiKey.AlterShareGroupOffsets,
      0,
      createAlterShareGroupOffsetsRequest({
        groupId,
        topics: [{ topicName: 'share-admin', partitions: [{ partitionIndex: 0, startOffset }] }],
      }),
    )
  const deleteOffsets = (groupId: string) =>
    raw.send<DeleteShareGroupOffsetsResponse>(
      ApiKey.DeleteShareGroupOffsets,
      0,
      createDeleteShareGroupOffsetsRequest({ groupId, topics: [{ topicName: 'share-admin' }] }),
    )
  const deleteGroup = async (groupId: string) =>
    (
      await raw.send<DeleteGroupsResponse>(
        ApiKey.DeleteGroups,
        2,
        createDeleteGroupsRequest({ groupsNames: [groupId] }),
      )
    ).results[0]?.errorCode
  assert.equal((await alter('adm', 0n)).errorCode, ErrorCode.NON_EMPTY_GROUP)
  assert.equal((await deleteOffsets('adm')).errorCode, ErrorCode.NON_EMPTY_GROUP)
  assert.equal(await deleteGroup('adm'), ErrorCode.NON_EMPTY_GROUP)
  assert.equal((await alter('nope', 0n)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)

  assert.equal((await heartbeat(raw, { groupId: 'adm', memberId: 'member-a', memberEpoch: -1 })).errorCode, 0)
  assert.equal((await alter('adm', 0n)).responses[0]?.partitions[0]?.errorCode, ErrorCode.NONE)
  const again = new ShareMember(raw, 'adm', 'member-b', id)
  const reread = await again.fetch()
  assert.deepEqual(reread.values, ['old', 'x0', 'x1', 'x2'].slice(0, hw), 'read again from offset 0')
  assert.equal((await again.acknowledge([ack(0, hw - 1, ACCEPT)], { epoch: -1 })).errorCode, ErrorCode.NONE)

  assert.equal((await deleteOffsets('adm')).responses[0]?.errorCode, ErrorCode.NONE)
  assert.deepEqual((await describeOffsets(0))?.topics, [], 'no state left for the topic')
  assert.equal(await deleteGroup('adm'), ErrorCode.NONE)
  assert.equal(await deleteGroup('adm'), ErrorCode.GROUP_ID_NOT_FOUND)
  assert.deepEqual(await broker.core.shares.groupPartitions('adm'), [], 'the group state went with the group')

  // A deleted topic's share state goes with it.
  const gone = await topic(broker, 'share-gone', 1)
  await new ShareMember(raw, 'gone', 'm', gone).fetch()
  assert.deepEqual(await broker.core.shares.groupPartitions('gone'), [{ topicId: gone, partition: 0 }])
  await broker.core.topics.delete('share-gone')
  assert.deepEqual(await broker.core.shares.groupPartitions('gone'), [])
})

/**
 * KIP-848 over the wire: ConsumerGroupHeartbeat and ConsumerGroupDescribe sent as raw requests
 * (no installed client offers every case): joins, epochs, incremental revocation, fencing,
 * session expiry, static members, regex subscriptions, assignor choice, partition growth, and
 * the classic/KIP-848 group id conflict.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import type { ConsumerGroup } from '../../src/coordinator/group/consumer-group.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import type { ConsumerGroupDescribeResponse } from '../../src/protocol/generated/consumer-group-describe.ts'
import {
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  createConsumerGroupHeartbeatRequest,
} from '../../src/protocol/generated/consumer-group-heartbeat.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createJoinGroupRequest, type JoinGroupResponse } from '../../src/protocol/generated/join-group.ts'
import { RawClient } from '../helpers/raw-client.ts'

let broker: Broker
let raw: RawClient

before(async () => {
  broker = await startBroker({
    config: {
      'group.consumer.session.timeout.ms': '400',
      'group.consumer.heartbeat.interval.ms': '100',
      'group.initial.rebalance.delay.ms': '0',
    },
  })
  raw = await RawClient.connect(broker.port)
})
after(async () => {
  await raw.close()
  await broker.close()
})

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function hb(init: Partial<ConsumerGroupHeartbeatRequest>, version = 1): Promise<ConsumerGroupHeartbeatResponse> {
  const req = createConsumerGroupHeartbeatRequest({ rebalanceTimeoutMs: -1, ...init })
  return raw.send<ConsumerGroupHeartbeatResponse>(ApiKey.ConsumerGroupHeartbeat, version, req)
}

function join(groupId: string, memberId: string, topics: string[], extra: Partial<ConsumerGroupHeartbeatRequest> = {}) {
  return hb({
    groupId,
    memberId,
    memberEpoch: 0,
    rebalanceTimeoutMs: 1000,
    subscribedTopicNames: topics,
    topicPartitions: [],
    ...extra,
  })
}

const owned = (r: ConsumerGroupHeartbeatResponse) =>
  r.assignment?.topicPartitions.flatMap((tp) => tp.partitions).sort() ?? null

async function topic(name: string, partitions: number): Promise<string> {
  const t = await broker.core.topics.create(name, partitions, {})
  return t?.topicId as string
}

test('two members: epochs, incremental revocation, then assignment', async () => {
  const id = await topic('kip848-a', 4)
  const a = await hb(
    {
      groupId: 'g1',
      memberEpoch: 0,
      rebalanceTimeoutMs: 1000,
      subscribedTopicNames: ['kip848-a'],
      topicPartitions: [],
    },
    0,
  )
  assert.equal(a.errorCode, ErrorCode.NONE)
  assert.ok(a.memberId && a.memberId.length > 0, 'v0: the broker generates the member id')
  assert.equal(a.memberEpoch, 1)
  assert.equal(a.heartbeatIntervalMs, 100)
  assert.deepEqual(owned(a), [0, 1, 2, 3])
  const aId = a.memberId as string

  const b = await join('g1', 'member-b', ['kip848-a'])
  assert.equal(b.memberEpoch, 2)
  assert.deepEqual(owned(b), [], 'every partition is still owned by a')

  // a must first revoke two partitions; it keeps epoch 1 until it says it no longer owns them.
  const all = [{ topicId: id, partitions: [0, 1, 2, 3] }]
  const revoke = await hb({ groupId: 'g1', memberId: aId, memberEpoch: 1, topicPartitions: all })
  assert.equal(revoke.memberEpoch, 1)
  const kept = owned(revoke) as number[]
  assert.equal(kept.length, 2)
  const revoked = await hb({
    groupId: 'g1',
    memberId: aId,
    memberEpoch: 1,
    topicPartitions: [{ topicId: id, partitions: kept }],
  })
  assert.equal(revoked.memberEpoch, 2)

  const b2 = await hb({ groupId: 'g1', memberId: 'member-b', memberEpoch: 2, topicPartitions: [] })
  const got = owned(b2) as number[]
  assert.deepEqual([...kept, ...got].sort(), [0, 1, 2, 3])
  assert.equal((broker.core.groups.group('g1') as ConsumerGroup).state, 'Stable')

  const described = await raw.send<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, 0, {
    groupIds: ['g1', 'nope'],
    includeAuthorizedOperations: false,
  })
  const g = described.groups[0]
  assert.equal(g?.groupState, 'Stable')
  assert.equal(g?.groupEpoch, 2)
  assert.equal(g?.assignorName, 'uniform')
  assert.deepEqual(
    g?.members.map((m) => m.memberEpoch),
    [2, 2],
  )
  assert.equal(g?.members[0]?.assignment.topicPartitions[0]?.topicName, 'kip848-a')
  assert.equal(described.groups[1]?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
  const v1 = await raw.send<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, 1, {
    groupIds: ['g1'],
    includeAuthorizedOperations: false,
  })
  assert.deepEqual(
    v1.groups[0]?.members.map((m) => m.memberType),
    [1, 1],
    'v1 (KIP-1099): both joined with the consumer protocol',
  )

  // Errors: fenced epoch, unknown member, bad requests, unsupported assignor.
  assert.equal((await hb({ groupId: 'g1', memberId: aId, memberEpoch: 7 })).errorCode, ErrorCode.FENCED_MEMBER_EPOCH)
  assert.equal((await hb({ groupId: 'g1', memberId: 'ghost', memberEpoch: 3 })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal((await hb({ groupId: 'g1', memberId: '', memberEpoch: 0 })).errorCode, ErrorCode.INVALID_REQUEST)
  assert.equal(
    (await join('g1', 'c', ['kip848-a'], { serverAssignor: 'sticky' })).errorCode,
    ErrorCode.UNSUPPORTED_ASSIGNOR,
  )
  assert.equal(
    (await join('g1', 'c', [], { subscribedTopicNames: null, subscribedTopicRegex: '(' })).errorCode,
    ErrorCode.INVALID_REGULAR_EXPRESSION,
  )

  // A classic member cannot join a KIP-848 group, and a KIP-848 member not a classic one.
  const classic = await raw.send<JoinGroupResponse>(
    ApiKey.JoinGroup,
    5,
    createJoinGroupRequest({
      groupId: 'g1',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    }),
  )
  assert.equal(classic.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)

  // b leaves; a gets everything at the next epoch.
  const left = await hb({ groupId: 'g1', memberId: 'member-b', memberEpoch: -1 })
  assert.equal(left.memberEpoch, -1)
  const a3 = await hb({
    groupId: 'g1',
    memberId: aId,
    memberEpoch: 2,
    topicPartitions: [{ topicId: id, partitions: kept }],
  })
  assert.equal(a3.memberEpoch, 3)
  assert.deepEqual(owned(a3), [0, 1, 2, 3])
  await hb({ groupId: 'g1', memberId: aId, memberEpoch: -1 })
})

test('a member that stops heartbeating is removed after the session timeout', async () => {
  await topic('kip848-b', 2)
  const a = await join('g2', 'a', ['kip848-b'])
  await join('g2', 'b', ['kip848-b'])
  const group = broker.core.groups.group('g2') as ConsumerGroup
  assert.equal(group.members.size, 2)
  let epoch = a.memberEpoch
  let assignment = a.assignment?.topicPartitions ?? []
  for (let i = 0; i < 8; i++) {
    await wait(100)
    const r = await hb({ groupId: 'g2', memberId: 'a', memberEpoch: epoch, topicPartitions: assignment })
    epoch = r.memberEpoch
    assignment = r.assignment?.topicPartitions ?? assignment
  }
  assert.deepEqual([...group.members.keys()], ['a'])
  assert.equal(assignment[0]?.partitions.length, 2)
  await hb({ groupId: 'g2', memberId: 'a', memberEpoch: -1 })
  assert.equal(group.state, 'Empty')
})

test('static members: temporary leave keeps the assignment for the next instance', async () => {
  await topic('kip848-c', 4)
  const s1 = await join('g3', 's1', ['kip848-c'], { instanceId: 'inst' })
  await join('g3', 'other', ['kip848-c'])
  // s1 revokes what the new member gets, then settles.
  let epoch = s1.memberEpoch
  let assignment = s1.assignment?.topicPartitions ?? []
  for (let i = 0; i < 2; i++) {
    const r = await hb({
      groupId: 'g3',
      memberId: 's1',
      memberEpoch: epoch,
      instanceId: 'inst',
      topicPartitions: assignment,
    })
    epoch = r.memberEpoch
    assignment = r.assignment?.topicPartitions ?? assignment
  }
  const mine = assignment.flatMap((tp) => tp.partitions).sort()
  assert.equal(mine.length, 2)
  const taken = await join('g3', 's2', ['kip848-c'], { instanceId: 'inst' })
  assert.equal(taken.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID)
  const epochBefore = (broker.core.groups.group('g3') as ConsumerGroup).groupEpoch
  const left = await hb({ groupId: 'g3', memberId: 's1', memberEpoch: -2, instanceId: 'inst' })
  assert.equal(left.memberEpoch, -2)
  const back = await join('g3', 's2', ['kip848-c'], { instanceId: 'inst' })
  assert.equal(back.errorCode, ErrorCode.NONE)
  assert.deepEqual(owned(back), mine)
  assert.equal((broker.core.groups.group('g3') as ConsumerGroup).groupEpoch, epochBefore, 'no new group epoch')
  assert.equal(
    (await hb({ groupId: 'g3', memberId: 's1', memberEpoch: 3, instanceId: 'inst' })).errorCode,
    ErrorCode.UNKNOWN_MEMBER_ID,
  )
})

test('regex subscriptions, the range assignor and partition growth', async () => {
  const id1 = await topic('rx-one', 2)
  const id2 = await topic('rx-two', 2)
  await topic('other-topic', 2)
  const a = await join('g4', 'a', [], {
    subscribedTopicNames: null,
    subscribedTopicRegex: 'rx-.*',
    serverAssignor: 'range',
  })
  assert.deepEqual(a.assignment?.topicPartitions.map((tp) => tp.topicId).sort(), [id1, id2].sort())
  const group = broker.core.groups.group('g4') as ConsumerGroup
  assert.equal(group.assignorName(), 'range')
  await broker.core.topics.setPartitionCount('rx-one', 4)
  broker.core.groups.onTopicsChanged()
  const r = await hb({
    groupId: 'g4',
    memberId: 'a',
    memberEpoch: group.groupEpoch - 1,
    topicPartitions: a.assignment?.topicPartitions ?? [],
  })
  assert.equal(r.errorCode, ErrorCode.NONE)
  assert.deepEqual(r.assignment?.topicPartitions.find((tp) => tp.topicId === id1)?.partitions, [0, 1, 2, 3])
  // A topic created later that matches joins the subscription at the next heartbeat.
  const id3 = await topic('rx-three', 1)
  const r2 = await hb({
    groupId: 'g4',
    memberId: 'a',
    memberEpoch: r.memberEpoch,
    topicPartitions: r.assignment?.topicPartitions ?? [],
  })
  assert.ok(r2.assignment?.topicPartitions.some((tp) => tp.topicId === id3))
})

test('a KIP-848 heartbeat on a classic group is GROUP_ID_NOT_FOUND', async () => {
  const joined = await raw.send<JoinGroupResponse>(
    ApiKey.JoinGroup,
    3,
    createJoinGroupRequest({
      groupId: 'classic',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    }),
  )
  assert.equal(joined.errorCode, ErrorCode.NONE)
  const r = await join('classic', 'x', ['kip848-a'])
  assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
  assert.match(r.errorMessage ?? '', /not a consumer group/)
})

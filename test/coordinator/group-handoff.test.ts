/**
 * A group changing coordinator, as when brokers sharing one store join or die: two
 * GroupCoordinators over one key-value store hand groups over through coordinatorsChanged. The
 * old one drops the group (timers included, nothing written), the new one loads it with fresh
 * session timers; committed offsets, generations, member epochs and assignments carry over, so
 * members that keep heartbeating do not rebalance. A stale coordinator's writes are refused.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { ClassicGroup } from '../../src/coordinator/group/classic-group.ts'
import type { ConsumerGroup, ConsumerHeartbeat } from '../../src/coordinator/group/consumer-group.ts'
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.ts'
import type { OffsetToCommit } from '../../src/coordinator/group/offset-store.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import { addTopic, coordinatorPair, formGroup, joinReq } from './helpers.ts'

// Group timers are unref'd (a broker's sockets keep it alive); hold the event loop open here.
const alive = setInterval(() => {}, 60_000)
after(() => clearInterval(alive))

const SESSION = { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000 }

function offset(topic: string, partition: number, at: number): OffsetToCommit {
  return {
    topic,
    partition,
    offset: BigInt(at),
    leaderEpoch: 0,
    metadata: '',
    commitTimestamp: 1,
    expireTimestamp: null,
  }
}

function committed(c: GroupCoordinator, topic: string, partition: number): bigint | undefined {
  const r = c.fetchOffsets('g', [{ name: topic, partitionIndexes: [partition] }])
  assert.equal(r.errorCode, ErrorCode.NONE)
  return r.topics[0]?.partitions[0]?.committed?.offset
}

/** A ConsumerGroupHeartbeat for group g: a new member's join unless `init` says otherwise. */
function hb(c: GroupCoordinator, init: Partial<ConsumerHeartbeat>) {
  return c.consumerGroupHeartbeat('g', {
    apiVersion: 1,
    memberId: '',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 10_000,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    ...init,
  })
}

async function recordVersion(kv: MemoryKeyValueStore, namespace: string): Promise<number> {
  return (await kv.getVersioned(namespace, 'g')).version
}

test('a classic group with members and committed offsets moves to another coordinator without a rebalance', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv)
  t.after(() => p.close())
  const { ids, generationId } = await formGroup(p.a, 2, SESSION)
  const [m1, m2] = ids as [string, string]
  const commit = { generationIdOrMemberEpoch: generationId, memberId: m1, groupInstanceId: null }
  assert.equal(await p.a.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 42)] }, 8), ErrorCode.NONE)
  assert.ok(p.timersOf.a.live() > 0)

  await p.move('b')
  // The old coordinator let go of everything, timers included, and answers NOT_COORDINATOR.
  assert.equal(p.timersOf.a.live(), 0)
  assert.equal(p.a.group('g'), undefined)
  assert.equal(p.a.heartbeat('g', m1, null, generationId), ErrorCode.NOT_COORDINATOR)
  assert.equal(p.a.fetchOffsets('g', null).errorCode, ErrorCode.NOT_COORDINATOR)
  assert.equal((await p.a.joinGroup('g', joinReq({ memberId: m1, ...SESSION }))).errorCode, ErrorCode.NOT_COORDINATOR)

  // The new one has the group as it was: same generation, assignments and offsets.
  const g = p.b.group('g') as ClassicGroup
  assert.equal(g.state, 'Stable')
  assert.equal(g.generationId, generationId)
  assert.deepEqual(g.members.get(m2)?.assignment, Buffer.from(m2))
  assert.equal(committed(p.b, 't', 0), 42n)
  const versions = [await recordVersion(kv, 'groups'), await recordVersion(kv, 'committed-offsets')]

  // Members that keep heartbeating to it stay; long past the session timeout the old
  // coordinator's timers would have run out, nobody wrote anything.
  for (let i = 0; i < 4; i++) {
    p.clock.advance(6_000)
    assert.equal(p.b.heartbeat('g', m1, null, generationId), ErrorCode.NONE)
    assert.equal(p.b.heartbeat('g', m2, null, generationId), ErrorCode.NONE)
  }
  assert.deepEqual([await recordVersion(kv, 'groups'), await recordVersion(kv, 'committed-offsets')], versions)
  assert.equal(
    await p.b.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 43)] }, 8),
    ErrorCode.NONE,
    'the generation carried over',
  )

  // Its session timers are its own: a member that stops heartbeating is evicted, once.
  p.clock.advance(6_000)
  assert.equal(p.b.heartbeat('g', m1, null, generationId), ErrorCode.NONE)
  p.clock.advance(6_000)
  assert.equal(p.b.heartbeat('g', m1, null, generationId), ErrorCode.REBALANCE_IN_PROGRESS)
  assert.equal(p.b.heartbeat('g', m2, null, generationId), ErrorCode.UNKNOWN_MEMBER_ID)
})

test('a KIP-848 group keeps member epochs and assignments across coordinators', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv, { 'group.consumer.session.timeout.ms': '10000' })
  t.after(() => p.close())
  const topic = addTopic(p, 'orders', 4)
  const first = hb(p.a, { subscribedTopicNames: ['orders'], topicPartitions: [] })
  const second = hb(p.a, { subscribedTopicNames: ['orders'], topicPartitions: [] })
  // The first member gives up what the second now gets, then both are stable.
  const owned = (r: typeof first) => r.assignment?.flatMap((tp) => tp.partitions) ?? []
  let r1 = hb(p.a, {
    memberId: first.memberId as string,
    memberEpoch: first.memberEpoch,
    topicPartitions: [{ topicId: topic.topicId, partitions: owned(first) }],
  })
  r1 = hb(p.a, {
    memberId: first.memberId as string,
    memberEpoch: r1.memberEpoch,
    topicPartitions: [{ topicId: topic.topicId, partitions: owned(r1) }],
  })
  let r2 = hb(p.a, { memberId: second.memberId as string, memberEpoch: second.memberEpoch, topicPartitions: [] })
  r2 = hb(p.a, {
    memberId: second.memberId as string,
    memberEpoch: r2.memberEpoch,
    topicPartitions: [{ topicId: topic.topicId, partitions: owned(r2) }],
  })
  const groupEpoch = (p.a.group('g') as ConsumerGroup).groupEpoch
  assert.equal((p.a.group('g') as ConsumerGroup).state, 'Stable')
  const commit = {
    generationIdOrMemberEpoch: r1.memberEpoch,
    memberId: first.memberId as string,
    groupInstanceId: null,
  }
  assert.equal(await p.a.commitOffsets('g', { ...commit, offsets: [offset('orders', 0, 7)] }, 9), ErrorCode.NONE)

  await p.move('b')
  assert.equal(p.timersOf.a.live(), 0)
  const again1 = hb(p.b, { memberId: first.memberId as string, memberEpoch: r1.memberEpoch })
  const again2 = hb(p.b, { memberId: second.memberId as string, memberEpoch: r2.memberEpoch })
  assert.equal(again1.errorCode, ErrorCode.NONE)
  assert.equal(again2.errorCode, ErrorCode.NONE)
  assert.equal(again1.memberEpoch, r1.memberEpoch)
  assert.equal(again2.memberEpoch, r2.memberEpoch)
  assert.equal(again1.assignment, null, 'nothing to reconcile: the assignment is unchanged')
  const g = p.b.group('g') as ConsumerGroup
  assert.equal(g.groupEpoch, groupEpoch, 'no new group epoch: no rebalance')
  assert.equal(g.state, 'Stable')
  assert.equal(committed(p.b, 'orders', 0), 7n)
  assert.equal(await p.b.commitOffsets('g', { ...commit, offsets: [offset('orders', 0, 8)] }, 9), ErrorCode.NONE)

  // The new coordinator's session timers: the second member goes silent and is removed.
  for (let i = 0; i < 3; i++) {
    p.clock.advance(4_000)
    assert.equal(hb(p.b, { memberId: first.memberId as string, memberEpoch: r1.memberEpoch }).errorCode, 0)
  }
  assert.equal(g.members.size, 1)
  assert.ok(g.groupEpoch > groupEpoch)
})

test('a member still revoking when its group moves is fenced by the new coordinator after its rebalance timeout', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv, { 'group.consumer.session.timeout.ms': '60000' })
  t.after(() => p.close())
  const topic = addTopic(p, 'orders', 2)
  const joining = { rebalanceTimeoutMs: 5_000, subscribedTopicNames: ['orders'], topicPartitions: [] }
  const first = hb(p.a, joining)
  const owned = [{ topicId: topic.topicId, partitions: first.assignment?.[0]?.partitions ?? [] }]
  assert.deepEqual(owned[0]?.partitions, [0, 1])
  // A second member joins: the first must revoke one partition, and does not.
  hb(p.a, joining)
  const revoking = hb(p.a, {
    memberId: first.memberId as string,
    memberEpoch: first.memberEpoch,
    rebalanceTimeoutMs: -1,
    topicPartitions: owned,
  })
  assert.equal(revoking.assignment?.[0]?.partitions.length, 1)
  await p.move('b')
  p.clock.advance(6_000)
  const g = p.b.group('g') as ConsumerGroup
  assert.equal(g.members.has(first.memberId as string), false)
})

test('a stale coordinator cannot overwrite what the current one wrote', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv)
  t.after(() => p.close())
  const { ids, generationId } = await formGroup(p.a, 1, SESSION)
  const member = ids[0] as string
  const commit = { generationIdOrMemberEpoch: generationId, memberId: member, groupInstanceId: null }
  assert.equal(await p.a.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 1)] }, 8), ErrorCode.NONE)

  // Both believe they coordinate the group for a while (the cluster view not yet agreed).
  await p.move('both')
  assert.equal(await p.b.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 2)] }, 8), ErrorCode.NONE)
  assert.equal(
    await p.a.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 1)] }, 8),
    ErrorCode.NOT_COORDINATOR,
    'the stale commit is refused',
  )
  assert.equal(committed(p.b, 't', 0), 2n)
  // The refused coordinator dropped its copy and reads the stored one.
  await p.a.coordinatorsChanged()
  assert.equal(committed(p.a, 't', 0), 2n)

  // A group record written by one is not overwritten by the other's older view.
  const joined = await p.b.joinGroup(
    'g',
    joinReq({ memberId: member, ...SESSION, protocols: [{ name: 'range', metadata: Buffer.from('x') }] }),
  )
  assert.equal(joined.errorCode, ErrorCode.NONE)
  await p.b.syncGroup('g', {
    memberId: member,
    groupInstanceId: null,
    generationId: joined.generationId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: member, assignment: Buffer.from('b') }],
  })
  const stored = (await kv.get('groups', 'g'))?.toString()
  assert.match(stored ?? '', new RegExp(`"generationId":${joined.generationId}`))
  // a's view is older: its member leaves there, and that write is refused.
  assert.equal(p.a.leaveGroup('g', [{ memberId: member, groupInstanceId: null }]).errorCode, ErrorCode.NONE)
  await p.a.close()
  assert.equal((await kv.get('groups', 'g'))?.toString(), stored)
})

test('a coordinator told it lost a group writes nothing for it, even from a timer that was due', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv)
  t.after(() => p.close())
  await formGroup(p.a, 2, SESSION)
  const before = await recordVersion(kv, 'groups')
  // The view changed, but the old coordinator has not been told yet when its timers run out:
  // it evicts nobody in storage (its writes check that it still coordinates the group).
  p.owner.current = 'b'
  p.clock.advance(30_000)
  await p.a.close()
  assert.equal(await recordVersion(kv, 'groups'), before)
  await p.b.coordinatorsChanged()
  assert.equal((p.b.group('g') as ClassicGroup).members.size, 2)
})

test('a group the new coordinator gained is read on its first request, before the pass reaches it', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv)
  t.after(() => p.close())
  const { ids, generationId } = await formGroup(p.a, 1, SESSION)
  const commit = { generationIdOrMemberEpoch: generationId, memberId: ids[0] as string, groupInstanceId: null }
  assert.equal(await p.a.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 5)] }, 8), ErrorCode.NONE)
  p.owner.current = 'b'
  const aDone = p.a.coordinatorsChanged()
  const bDone = p.b.coordinatorsChanged()
  // Not read yet: answered synchronously, the request is told to retry...
  assert.equal(p.b.heartbeat('g', ids[0] as string, null, generationId), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
  // ...or waits for the group, when it can.
  assert.equal(await p.b.commitOffsets('g', { ...commit, offsets: [offset('t', 0, 6)] }, 8), ErrorCode.NONE)
  await Promise.all([aDone, bDone])
  assert.equal(committed(p.b, 't', 0), 6n)
  assert.equal(p.b.heartbeat('g', ids[0] as string, null, generationId), ErrorCode.NONE)
})

test('offsets stored one key per partition by earlier versions are moved into the group records', async (t) => {
  const kv = new MemoryKeyValueStore()
  const legacy = (o: number) => Buffer.from(JSON.stringify({ o: String(o), e: 3, m: 'meta', t: 1, x: null }))
  await kv.put(
    'group-offsets',
    new Map([
      [JSON.stringify(['g', 't', 0]), legacy(10)],
      [JSON.stringify(['g', 't', 1]), legacy(11)],
      [JSON.stringify(['other', 'u', 0]), legacy(12)],
    ]),
  )
  const p = await coordinatorPair(kv)
  t.after(() => p.close())
  assert.equal(committed(p.a, 't', 0), 10n)
  assert.equal(committed(p.a, 't', 1), 11n)
  assert.deepEqual(p.a.fetchOffsets('other', null).topics[0]?.partitions[0]?.committed, {
    offset: 12n,
    leaderEpoch: 3,
    metadata: 'meta',
    commitTimestamp: 1,
    expireTimestamp: null,
  })
  assert.equal((await kv.list('group-offsets')).size, 0)
  assert.deepEqual([...(await kv.list('committed-offsets')).keys()].sort(), ['g', 'other'])
})

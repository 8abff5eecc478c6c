/** The classic group state machine, driven through the coordinator without sockets. */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { ClassicGroup } from '../../src/coordinator/group/classic-group.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { addTopic, formGroup, harness, joinReq, wait } from './helpers.ts'

// Group timers are unref'd (a broker's sockets keep it alive); hold the event loop open here.
const alive = setInterval(() => {}, 60_000)
after(() => clearInterval(alive))

test('KIP-394: a v4+ first join gets MEMBER_ID_REQUIRED, then joins with the id', async (t) => {
  const { coordinator: c } = await harness()
  t.after(() => c.close())
  const first = await c.joinGroup('g', joinReq({ requireKnownMemberId: true, clientId: 'cli' }))
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED)
  assert.match(first.memberId, /^cli-/)
  const second = await c.joinGroup('g', joinReq({ memberId: first.memberId, requireKnownMemberId: true }))
  assert.equal(second.errorCode, ErrorCode.NONE)
  assert.equal(second.generationId, 1)
  assert.equal(second.leader, first.memberId)
  assert.equal(second.protocolName, 'range')
  assert.equal(second.members.length, 1)
  const unknown = await c.joinGroup('g', joinReq({ memberId: 'nobody' }))
  assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
})

test('join checks: group id, session timeout, protocol type and common protocols', async (t) => {
  const { coordinator: c } = await harness({ 'group.max.session.timeout.ms': '5000' })
  t.after(() => c.close())
  assert.equal((await c.joinGroup('', joinReq())).errorCode, ErrorCode.INVALID_GROUP_ID)
  assert.equal((await c.joinGroup('g', joinReq({ sessionTimeoutMs: 5 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT)
  assert.equal(
    (await c.joinGroup('g', joinReq({ sessionTimeoutMs: 6000 }))).errorCode,
    ErrorCode.INVALID_SESSION_TIMEOUT,
  )
  assert.equal((await c.joinGroup('g', joinReq({ protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  const a = await c.joinGroup('g', joinReq({ protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] }))
  assert.equal(a.errorCode, ErrorCode.NONE)
  const wrongType = await c.joinGroup('g', joinReq({ protocolType: 'connect' }))
  assert.equal(wrongType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  const noCommon = await c.joinGroup('g', joinReq({ protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] }))
  assert.equal(noCommon.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
})

test('protocol selection: the most preferred protocol all members support', async (t) => {
  const { coordinator: c } = await harness()
  t.after(() => c.close())
  const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }))
  const a = await c.joinGroup('g', joinReq({ protocols: p('sticky', 'range') }))
  assert.equal(a.protocolName, 'sticky')
  const b = c.joinGroup('g', joinReq({ protocols: p('range', 'roundrobin') }))
  const rejoinA = c.joinGroup('g', joinReq({ memberId: a.memberId, protocols: p('sticky', 'range') }))
  const [ra, rb] = await Promise.all([rejoinA, b])
  assert.equal(ra.protocolName, 'range')
  assert.equal(rb.protocolName, 'range')
  assert.equal(ra.generationId, 2)
  const leader = [ra, rb].find((r) => r.leader === r.memberId)
  assert.equal(leader?.members.length, 2)
  assert.deepEqual(
    leader?.members.map((m) => m.metadata.toString()),
    ['range', 'range'],
  )
})

/** Joins n members and syncs with the leader's assignment; resolves their ids and generation. */
test('sync hands each member its assignment; heartbeat, generation and protocol checks', async (t) => {
  const { coordinator: c } = await harness()
  t.after(() => c.close())
  const { ids, generationId, syncs } = await formGroup(c, 2)
  assert.deepEqual(
    syncs.map((s) => s.assignment.toString()),
    ids,
  )
  assert.equal((c.group('g') as ClassicGroup).state, 'Stable')
  const [a, b] = ids as [string, string]
  assert.equal(c.heartbeat('g', a, null, generationId), ErrorCode.NONE)
  assert.equal(c.heartbeat('g', a, null, generationId + 1), ErrorCode.ILLEGAL_GENERATION)
  assert.equal(c.heartbeat('g', 'x', null, generationId), ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal(c.heartbeat('nope', a, null, generationId), ErrorCode.UNKNOWN_MEMBER_ID)
  const badName = await c.syncGroup('g', {
    memberId: a,
    groupInstanceId: null,
    generationId,
    protocolType: 'consumer',
    protocolName: 'roundrobin',
    assignments: [],
  })
  assert.equal(badName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  // A new member triggers a rebalance: the others learn it from their heartbeat.
  const joining = c.joinGroup('g', joinReq({ sessionTimeoutMs: 200 }))
  assert.equal(c.heartbeat('g', b, null, generationId), ErrorCode.REBALANCE_IN_PROGRESS)
  const rejoins = [a, b].map((id) => c.joinGroup('g', joinReq({ memberId: id, sessionTimeoutMs: 200 })))
  const all = await Promise.all([joining, ...rejoins])
  assert.deepEqual(
    all.map((r) => r.generationId),
    [generationId + 1, generationId + 1, generationId + 1],
  )
  // A member that does not sync within the rebalance timeout is removed.
  await c.close()
})

test('members that do not rejoin within the rebalance timeout are removed', async (t) => {
  const { coordinator: c } = await harness()
  t.after(() => c.close())
  const { ids, generationId } = await formGroup(c, 2)
  const [a, b] = ids as [string, string]
  // a keeps heartbeating but never rejoins; b rejoins with new metadata, starting a rebalance.
  const rejoin = c.joinGroup(
    'g',
    joinReq({
      memberId: b,
      sessionTimeoutMs: 200,
      rebalanceTimeoutMs: 300,
      protocols: [{ name: 'range', metadata: Buffer.from('new') }],
    }),
  )
  const started = Date.now()
  const beating = setInterval(() => c.heartbeat('g', a, null, generationId), 50)
  const r = await rejoin
  clearInterval(beating)
  assert.ok(Date.now() - started >= 250)
  assert.equal(r.errorCode, ErrorCode.NONE)
  assert.equal(r.leader, b)
  assert.equal(r.members.length, 1)
  assert.equal((c.group('g') as ClassicGroup).members.has(a), false)
})

test('a member that stops heartbeating is evicted after its session timeout', async (t) => {
  const { coordinator: c } = await harness()
  t.after(() => c.close())
  const { ids, generationId } = await formGroup(c, 2)
  const [a, b] = ids as [string, string]
  for (let i = 0; i < 5; i++) {
    await wait(80)
    c.heartbeat('g', a, null, generationId)
  }
  assert.equal(c.heartbeat('g', a, null, generationId), ErrorCode.REBALANCE_IN_PROGRESS)
  const g = c.group('g') as ClassicGroup
  assert.equal(g.members.has(b), false)
  const r = await c.joinGroup('g', joinReq({ memberId: a, sessionTimeoutMs: 200 }))
  assert.equal(r.generationId, generationId + 1)
  assert.equal(r.members.length, 1)
})

test('static membership: replacement keeps the assignment, the old id is fenced', async (t) => {
  const { coordinator: c } = await harness()
  t.after(() => c.close())
  const first = await c.joinGroup('g', joinReq({ groupInstanceId: 'i1', requireKnownMemberId: true }))
  assert.equal(first.errorCode, ErrorCode.NONE, 'static members need no member id round trip')
  const sync = await c.syncGroup('g', {
    memberId: first.memberId,
    groupInstanceId: 'i1',
    generationId: first.generationId,
    protocolType: null,
    protocolName: null,
    assignments: [{ memberId: first.memberId, assignment: Buffer.from('mine') }],
  })
  assert.equal(sync.assignment.toString(), 'mine')
  const again = await c.joinGroup('g', joinReq({ groupInstanceId: 'i1' }))
  assert.notEqual(again.memberId, first.memberId)
  assert.equal(again.generationId, first.generationId, 'no rebalance')
  assert.equal(again.skipAssignment, true)
  const resync = await c.syncGroup('g', {
    memberId: again.memberId,
    groupInstanceId: 'i1',
    generationId: again.generationId,
    protocolType: null,
    protocolName: null,
    assignments: [],
  })
  assert.equal(resync.assignment.toString(), 'mine')
  assert.equal(c.heartbeat('g', first.memberId, 'i1', first.generationId), ErrorCode.FENCED_INSTANCE_ID)
  const staleJoin = await c.joinGroup('g', joinReq({ memberId: first.memberId, groupInstanceId: 'i1' }))
  assert.equal(staleJoin.errorCode, ErrorCode.FENCED_INSTANCE_ID)
  const leave = c.leaveGroup('g', [
    { memberId: first.memberId, groupInstanceId: 'i1' },
    { memberId: 'ghost', groupInstanceId: null },
    { memberId: '', groupInstanceId: 'i1' },
  ])
  assert.deepEqual(leave.members, [ErrorCode.FENCED_INSTANCE_ID, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.NONE])
  assert.equal((c.group('g') as ClassicGroup).state, 'Empty')
})

test('offset commits: simple commits, generation checks, and errors', async (t) => {
  const h = await harness()
  const c = h.coordinator
  t.after(() => c.close())
  addTopic(h, 't', 2)
  const offsets = [
    { topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: 'x', commitTimestamp: 1, expireTimestamp: null },
  ]
  const simple = { generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, offsets }
  assert.equal(await c.commitOffsets('solo', simple, 8), ErrorCode.NONE)
  assert.equal(c.fetchOffsets('solo', null).topics[0]?.partitions[0]?.committed?.offset, 5n)
  assert.equal(
    await c.commitOffsets('missing', { ...simple, generationIdOrMemberEpoch: 3, memberId: 'm' }, 8),
    ErrorCode.ILLEGAL_GENERATION,
  )
  assert.equal(
    await c.commitOffsets('missing', { ...simple, generationIdOrMemberEpoch: 3, memberId: 'm' }, 9),
    ErrorCode.GROUP_ID_NOT_FOUND,
  )
  const { ids, generationId } = await formGroup(c, 1)
  const id = ids[0] as string
  assert.equal(await c.commitOffsets('g', simple, 8), ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal(
    await c.commitOffsets('g', { ...simple, memberId: id, generationIdOrMemberEpoch: generationId + 1 }, 8),
    ErrorCode.ILLEGAL_GENERATION,
  )
  assert.equal(
    await c.commitOffsets('g', { ...simple, memberId: id, generationIdOrMemberEpoch: generationId }, 8),
    ErrorCode.NONE,
  )
  // DeleteGroups and OffsetDelete on a group whose member subscribes (metadata 'm' is not a
  // consumer subscription here, so the group's topics are unknown).
  assert.equal(await c.deleteGroup('g'), ErrorCode.NON_EMPTY_GROUP)
  // As in Kafka, unknown topics count as subscribed: their offsets stay.
  assert.deepEqual(await c.deleteOffsets('g', [{ name: 't', partitions: [0] }]), {
    errorCode: ErrorCode.NONE,
    topics: [[ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
  })
  assert.equal(await c.deleteGroup('nope'), ErrorCode.GROUP_ID_NOT_FOUND)
  assert.equal(await c.deleteGroup('solo'), ErrorCode.NONE)
  assert.deepEqual(c.fetchOffsets('solo', null).topics, [])
  assert.equal((await c.deleteOffsets('nope', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
})

test('offsets of empty groups expire after offsets.retention.minutes; topic deletion drops offsets', async (t) => {
  const h = await harness({ 'offsets.retention.minutes': '1' })
  const c = h.coordinator
  t.after(() => c.close())
  addTopic(h, 't', 1)
  addTopic(h, 'u', 1)
  const offset = (topic: string) => ({
    topic,
    partition: 0,
    offset: 1n,
    leaderEpoch: -1,
    metadata: '',
    commitTimestamp: h.clock.now,
    expireTimestamp: null,
  })
  const simple = { generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null }
  await c.commitOffsets('old', { ...simple, offsets: [offset('t'), offset('u')] }, 8)
  h.clock.now += 30_000
  await c.commitOffsets('young', { ...simple, offsets: [offset('t')] }, 8)
  h.clock.now += 31_000
  await c.expireOffsets()
  assert.equal(c.group('old'), undefined)
  assert.ok(c.group('young'))
  await c.onTopicDeleted('t')
  assert.deepEqual(c.fetchOffsets('young', null).topics, [])
  const restarted = await h.restart()
  assert.deepEqual(
    restarted.listGroups([], []).map((g) => g.groupId),
    [],
  )
  await restarted.close()
})

test('group records survive a restart', async (t) => {
  const h = await harness()
  const c = h.coordinator
  const { ids, generationId } = await formGroup(c, 2)
  await c.close()
  const again = await h.restart()
  t.after(() => again.close())
  const g = again.group('g') as ClassicGroup
  assert.equal(g.state, 'Stable')
  assert.equal(g.generationId, generationId)
  assert.deepEqual([...g.members.keys()].sort(), [...ids].sort())
  assert.equal(again.heartbeat('g', ids[0] as string, null, generationId), ErrorCode.NONE)
  assert.equal(g.members.get(ids[1] as string)?.assignment.toString(), ids[1])
})

test('two coordinators over one store: the second writer of a group loses, drops it and reads the stored state', async (t) => {
  const h = await harness()
  const first = h.coordinator
  const second = await h.restart()
  t.after(async () => {
    await first.close()
    await second.close()
  })
  const formed = await formGroup(first, 2)
  await first.close()
  const stored = (await h.kv.get('groups', 'g'))?.toString()
  // The second coordinator never saw that write: its join builds a group of its own, whose
  // write is refused; the held sync is answered NOT_COORDINATOR and the group read again.
  const own = await formGroup(second, 1)
  assert.deepEqual(
    own.syncs.map((r) => r.errorCode),
    [ErrorCode.NOT_COORDINATOR],
  )
  assert.equal((await h.kv.get('groups', 'g'))?.toString(), stored, 'the stored record was not overwritten')
  let adopted = second.group('g')
  while (adopted === undefined) {
    await wait(1)
    adopted = second.group('g')
  }
  assert.equal(adopted.type, 'classic')
  assert.equal((adopted as ClassicGroup).generationId, formed.generationId)
  assert.deepEqual([...adopted.members.keys()].sort(), [...formed.ids].sort())
  assert.equal(
    second.heartbeat('g', own.ids[0] as string, null, own.generationId),
    ErrorCode.UNKNOWN_MEMBER_ID,
    'the member of the dropped group must join again',
  )
})

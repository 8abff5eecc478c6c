/**
 * The pure parts of share groups (KIP-932): a share partition's record states (acquisition,
 * acknowledgement, lock expiry, delivery limit, start offset moves, durable form) and the simple
 * assignor.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AckType, type LogBatch, SharePartition } from '../../src/coordinator/share/share-partition.ts'
import { assignShareGroup } from '../../src/coordinator/share/simple-assignor.ts'

/** Single-record batches for offsets [from, to]. */
const records = (from: number, to: number): LogBatch[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ baseOffset: from + i, lastOffset: from + i, isControl: false }))

const limits = (memberId: string, maxRecords = 500, lockId = 1) => ({
  memberId,
  maxRecords,
  strict: false,
  maxInFlight: 2000,
  lockId,
})

test('acquisition: one member at a time, available records first, ranges with delivery counts', () => {
  const sp = new SharePartition(10)
  const a = sp.acquire(records(10, 14), limits('a', 3))
  assert.deepEqual(a.ranges, [{ firstOffset: 10, lastOffset: 12, deliveryCount: 1 }])
  assert.deepEqual(a.used, [0, 1, 2])
  assert.equal(sp.nextFetchOffset(), 13)
  const b = sp.acquire(records(10, 14), limits('b'))
  assert.deepEqual(b.ranges, [{ firstOffset: 13, lastOffset: 14, deliveryCount: 1 }], 'acquired ones are skipped')
  sp.acknowledge('a', [{ firstOffset: 11, lastOffset: 11, acknowledgeTypes: [AckType.RELEASE] }], 5, 0)
  assert.equal(sp.nextFetchOffset(), 11)
  const again = sp.acquire(records(11, 14), limits('b'))
  assert.deepEqual(again.ranges, [{ firstOffset: 11, lastOffset: 11, deliveryCount: 2 }])
})

test('a multi-record batch is acquired whole unless the record limit is strict', () => {
  const batch: LogBatch[] = [{ baseOffset: 0, lastOffset: 9, isControl: false }]
  assert.deepEqual(new SharePartition(0).acquire(batch, limits('a', 3)).ranges, [
    { firstOffset: 0, lastOffset: 9, deliveryCount: 1 },
  ])
  const strict = new SharePartition(0).acquire(batch, { ...limits('a', 3), strict: true })
  assert.deepEqual(strict.ranges, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }])
})

test('control batches are skipped; group.share.partition.max.record.locks caps what is in flight', () => {
  const sp = new SharePartition(0)
  const got = sp.acquire(
    [
      { baseOffset: 0, lastOffset: 1, isControl: false },
      { baseOffset: 2, lastOffset: 2, isControl: true },
      { baseOffset: 3, lastOffset: 3, isControl: false },
    ],
    limits('a'),
  )
  assert.deepEqual(got.ranges, [
    { firstOffset: 0, lastOffset: 1, deliveryCount: 1 },
    { firstOffset: 3, lastOffset: 3, deliveryCount: 1 },
  ])
  assert.deepEqual(got.used, [0, 2])
  const capped = new SharePartition(0)
  assert.equal(capped.acquire(records(0, 9), { ...limits('a'), maxInFlight: 4 }).ranges[0]?.lastOffset, 3)
  assert.ok(capped.full(4))
})

test('aborted batches (read_committed) are archived, not delivered; markers are passed even at the record limit', () => {
  const sp = new SharePartition(0)
  const got = sp.acquire(
    [
      { baseOffset: 0, lastOffset: 1, isControl: false, aborted: true },
      { baseOffset: 2, lastOffset: 2, isControl: false },
      { baseOffset: 3, lastOffset: 3, isControl: true },
      { baseOffset: 4, lastOffset: 4, isControl: false },
    ],
    limits('a', 1),
  )
  assert.deepEqual(got.ranges, [{ firstOffset: 2, lastOffset: 2, deliveryCount: 1 }])
  assert.deepEqual(got.used, [1], 'the aborted batch is not handed out')
  assert.equal(sp.startOffset, 2, 'the archived records at the start are passed')
  assert.equal(sp.endOffset, 4, 'the marker after the last record taken is passed; the record after it is not')
  assert.deepEqual(sp.toState().batches, [[2, 2, 0, 1]])
  assert.equal(sp.canAcknowledge('a', [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [AckType.ACCEPT] }]), false)
})

test('acknowledgements: only the holder may acknowledge; ACCEPT and REJECT move the start offset', () => {
  const sp = new SharePartition(0)
  sp.acquire(records(0, 3), limits('a'))
  const batch = (types: number[]) => [{ firstOffset: 0, lastOffset: 3, acknowledgeTypes: types }]
  assert.equal(sp.canAcknowledge('b', batch([AckType.ACCEPT])), false)
  assert.equal(sp.canAcknowledge('a', batch([AckType.ACCEPT])), true)
  sp.acknowledge('a', batch([AckType.ACCEPT, AckType.REJECT, AckType.RELEASE, AckType.ACCEPT]), 5, 0)
  assert.equal(sp.startOffset, 2, 'past the accepted and the rejected record')
  assert.deepEqual(sp.counts(), { available: 1, acquired: 0, acknowledged: 1, archived: 0 })
})

test('lock expiry releases what the lock still holds; at the delivery limit records are archived', () => {
  const sp = new SharePartition(0)
  sp.acquire(records(0, 1), limits('a', 500, 7))
  sp.acknowledge('a', [{ firstOffset: 1, lastOffset: 1, acknowledgeTypes: [AckType.RENEW] }], 2, 8)
  assert.equal(sp.expire([0, 1], 7, 2), 1, 'the renewed record is under another lock')
  assert.equal(sp.expire([1], 8, 2), 1)
  sp.acquire(records(0, 1), limits('b', 500, 9))
  assert.equal(sp.releaseMember('b', 2), 2)
  assert.equal(sp.startOffset, 2, 'delivered twice with a limit of 2: archived')
  assert.equal(sp.nextFetchOffset(), 2)
})

test('durable form: acquired records come back available with their delivery counts', () => {
  const sp = new SharePartition(5, 3)
  sp.acquire(records(5, 9), limits('a'))
  sp.acknowledge('a', [{ firstOffset: 6, lastOffset: 6, acknowledgeTypes: [AckType.ACCEPT] }], 5, 0)
  const state = sp.toState()
  assert.deepEqual(state, {
    stateEpoch: 3,
    startOffset: 5,
    endOffset: 10,
    batches: [
      [5, 5, 0, 1],
      [6, 6, 2, 1],
      [7, 9, 0, 1],
    ],
  })
  const back = SharePartition.fromState(JSON.parse(JSON.stringify(state)))
  assert.deepEqual(back.acquire(records(5, 9), limits('b')).ranges, [
    { firstOffset: 5, lastOffset: 5, deliveryCount: 2 },
    { firstOffset: 7, lastOffset: 9, deliveryCount: 2 },
  ])
})

test('the log start moving past the start offset skips the removed records; reset forgets everything', () => {
  const sp = new SharePartition(0)
  sp.acquire(records(0, 4), limits('a'))
  sp.truncateTo(3)
  assert.equal(sp.startOffset, 3)
  assert.deepEqual(sp.counts(), { available: 0, acquired: 2, acknowledged: 0, archived: 0 })
  sp.reset(1)
  assert.deepEqual([sp.startOffset, sp.endOffset, sp.stateEpoch], [1, 1, 1])
})

test('simple assignor: members share partitions when they outnumber them, else each partition goes to one', () => {
  const members = (n: number, topics = ['t']) =>
    Array.from({ length: n }, (_, i) => ({ memberId: `m${i}`, topics: new Set(topics) }))
  const one = assignShareGroup(members(3), new Map([['t', 1]]))
  for (const a of one.values()) assert.deepEqual(a.get('t'), [0])
  const four = assignShareGroup(members(2), new Map([['t', 4]]))
  const parts = [...four.values()].map((a) => a.get('t') ?? [])
  assert.deepEqual(
    parts.map((p) => p.length),
    [2, 2],
  )
  assert.deepEqual(parts.flat().sort(), [0, 1, 2, 3])
  const five = assignShareGroup(members(5), new Map([['t', 3]]))
  const each = [...five.values()].map((a) => a.get('t') ?? [])
  for (const p of each) assert.equal(p.length, 1)
  assert.deepEqual([...new Set(each.flat())].sort(), [0, 1, 2], 'every partition has a member')
  const picky = assignShareGroup(
    [
      { memberId: 'x', topics: new Set(['t']) },
      { memberId: 'y', topics: new Set(['u']) },
    ],
    new Map([
      ['t', 2],
      ['u', 1],
    ]),
  )
  assert.deepEqual(picky.get('x'), new Map([['t', [0, 1]]]))
  assert.deepEqual(picky.get('y'), new Map([['u', [0]]]))
})

/** The range and cooperative-sticky assignors. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type AssignorMember,
  cooperativeStickyAssignor,
  type GroupAssignment,
  rangeAssignor,
} from '../../src/client/group/assignors.ts'

function member(
  memberId: string,
  topics: string[],
  owned: Record<string, number[]> = {},
  generationId = 1,
): AssignorMember {
  return { memberId, topics, owned, generationId }
}

function count(a: GroupAssignment, id: string): number {
  return Object.values(a.get(id) ?? {}).reduce((s, l) => s + l.length, 0)
}

function allAssigned(a: GroupAssignment): string[] {
  return [...a.values()].flatMap((m) => Object.entries(m).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`))).sort()
}

test('range: contiguous ranges per topic, first members get the extra partitions', () => {
  const a = rangeAssignor.assign(
    [member('c', ['t1', 't2']), member('a', ['t1', 't2']), member('b', ['t1'])],
    new Map([
      ['t1', 7],
      ['t2', 3],
    ]),
  )
  // t1: 7 partitions over a,b,c → 3,2,2; t2 over a,c → 2,1
  assert.deepEqual(a.get('a'), { t1: [0, 1, 2], t2: [0, 1] })
  assert.deepEqual(a.get('b'), { t1: [3, 4] })
  assert.deepEqual(a.get('c'), { t1: [5, 6], t2: [2] })
})

test('range: more members than partitions leaves some empty', () => {
  const a = rangeAssignor.assign([member('a', ['t']), member('b', ['t']), member('c', ['t'])], new Map([['t', 2]]))
  assert.deepEqual(a.get('a'), { t: [0] })
  assert.deepEqual(a.get('b'), { t: [1] })
  assert.deepEqual(a.get('c'), {})
})

test('cooperative-sticky: a fresh group is balanced and complete', () => {
  const a = cooperativeStickyAssignor.assign(
    [member('a', ['t', 'u']), member('b', ['t', 'u']), member('c', ['t', 'u'])],
    new Map([
      ['t', 5],
      ['u', 4],
    ]),
  )
  assert.deepEqual([count(a, 'a'), count(a, 'b'), count(a, 'c')], [3, 3, 3])
  assert.equal(allAssigned(a).length, 9)
  assert.equal(new Set(allAssigned(a)).size, 9)
})

test('cooperative-sticky: members keep what they own', () => {
  const counts = new Map([['t', 6]])
  const a = cooperativeStickyAssignor.assign(
    [member('a', ['t'], { t: [1, 3, 5] }), member('b', ['t'], { t: [0, 2, 4] })],
    counts,
  )
  assert.deepEqual(a.get('a'), { t: [1, 3, 5] })
  assert.deepEqual(a.get('b'), { t: [0, 2, 4] })
})

test('cooperative-sticky: a joining member gets partitions only after their owner revoked them', () => {
  const counts = new Map([['t', 4]])
  // Round 1: a owns everything, b joins. a keeps 2; the 2 that move are withheld from b.
  const r1 = cooperativeStickyAssignor.assign([member('a', ['t'], { t: [0, 1, 2, 3] }), member('b', ['t'])], counts)
  const kept = r1.get('a')?.t ?? []
  assert.equal(kept.length, 2)
  assert.deepEqual(r1.get('b'), {})
  // Round 2: a rejoins owning only what it kept; now b receives the released partitions.
  const r2 = cooperativeStickyAssignor.assign([member('a', ['t'], { t: kept }, 2), member('b', ['t'], {}, 2)], counts)
  assert.deepEqual(r2.get('a'), { t: kept })
  assert.deepEqual(
    r2.get('b')?.t,
    [0, 1, 2, 3].filter((p) => !kept.includes(p)),
  )
})

test('cooperative-sticky: partitions of a departed member are redistributed at once', () => {
  const counts = new Map([['t', 6]])
  const a = cooperativeStickyAssignor.assign(
    [member('a', ['t'], { t: [0, 1] }), member('b', ['t'], { t: [2, 3] })],
    counts,
  )
  // c (owning 4, 5) left: nobody else owned them, so they can be handed out immediately.
  assert.equal(count(a, 'a'), 3)
  assert.equal(count(a, 'b'), 3)
  assert.deepEqual(allAssigned(a), ['t/0', 't/1', 't/2', 't/3', 't/4', 't/5'])
})

test('cooperative-sticky: respects differing subscriptions and drops stale ownership', () => {
  const a = cooperativeStickyAssignor.assign(
    [member('a', ['t'], { t: [0], gone: [0] }), member('b', ['t', 'u'], { t: [5] })],
    new Map([
      ['t', 2],
      ['u', 2],
    ]),
  )
  // t/5 does not exist any more and "gone" is not subscribed: both are ignored.
  assert.deepEqual(allAssigned(a), ['t/0', 't/1', 'u/0', 'u/1'])
  for (const tp of Object.keys(a.get('a') ?? {})) assert.equal(tp, 't')
})

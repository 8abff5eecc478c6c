/** The KIP-848 server-side assignors: balance, stickiness and ranges. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type AssignorMember, rangeAssignor, uniformAssignor } from '../../src/coordinator/group/assignors.ts'

const m = (memberId: string, topics: string[], current: [string, number[]][] = []): AssignorMember => ({
  memberId,
  instanceId: null,
  topics: new Set(topics),
  current: new Map(current),
})
const count = (a: Map<string, number[]> | undefined) => [...(a ?? new Map<string, number[]>()).values()].flat().length

test('uniform: balanced, every partition exactly once', () => {
  const out = uniformAssignor.assign({
    members: [m('a', ['t', 'u']), m('b', ['t', 'u']), m('c', ['t', 'u'])],
    partitionCounts: new Map([
      ['t', 12],
      ['u', 5],
    ]),
  })
  const counts = [...out.values()].map(count).sort()
  assert.deepEqual(counts, [5, 6, 6])
  const seen = new Set<string>()
  for (const a of out.values()) for (const [t, ps] of a) for (const p of ps) seen.add(`${t}:${p}`)
  assert.equal(seen.size, 17)
})

test('uniform: sticky when a member joins, only the moved partitions change', () => {
  const current: [string, number[]][] = [['t', [0, 1, 2, 3, 4, 5]]]
  const out = uniformAssignor.assign({
    members: [m('a', ['t'], current), m('b', ['t'], [['t', [6, 7, 8, 9, 10, 11]]]), m('c', ['t'])],
    partitionCounts: new Map([['t', 12]]),
  })
  assert.deepEqual([...out.values()].map(count), [4, 4, 4])
  for (const p of out.get('a')?.get('t') ?? []) assert.ok(p <= 5, 'a keeps its own partitions')
  for (const p of out.get('b')?.get('t') ?? []) assert.ok(p >= 6, 'b keeps its own partitions')
})

test('uniform: heterogeneous subscriptions only get subscribed topics', () => {
  const out = uniformAssignor.assign({
    members: [m('a', ['t']), m('b', ['t', 'u'])],
    partitionCounts: new Map([
      ['t', 4],
      ['u', 4],
    ]),
  })
  assert.equal(out.get('a')?.has('u'), false)
  assert.equal(out.get('b')?.get('u')?.length, 4)
  assert.equal(count(out.get('a')) + count(out.get('b')), 8)
})

test('range: contiguous ranges per topic, extra partitions to the first members', () => {
  const out = rangeAssignor.assign({
    members: [m('b', ['t']), m('a', ['t']), m('c', ['u'])],
    partitionCounts: new Map([
      ['t', 5],
      ['u', 2],
    ]),
  })
  assert.deepEqual(out.get('a')?.get('t'), [0, 1, 2])
  assert.deepEqual(out.get('b')?.get('t'), [3, 4])
  assert.deepEqual(out.get('c')?.get('u'), [0, 1])
})

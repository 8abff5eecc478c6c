/** The client side of incremental fetch sessions (KIP-227). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FetchSession, type FetchTarget } from '../../src/client/fetch-session.ts'

const settings = { maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0 }
const target = (partition: number, offset: bigint): FetchTarget => ({
  topic: 't',
  topicId: '11111111-2222-3333-4444-555555555555',
  partition,
  offset,
  maxBytes: 1000,
})

test('the first request opens a session with every partition; later ones send only changes', () => {
  const s = new FetchSession()
  const full = s.build(12, [target(0, 0n), target(1, 0n)], settings)
  assert.equal(full.sessionId, 0)
  assert.equal(full.sessionEpoch, 0)
  assert.equal(full.topics[0]?.partitions.length, 2)
  s.onResponse(12, 0, 42)
  assert.equal(s.id, 42)
  // Partition 0 advanced, partition 1 did not: only 0 is sent.
  const inc = s.build(12, [target(0, 5n), target(1, 0n)], settings)
  assert.equal(inc.sessionId, 42)
  assert.equal(inc.sessionEpoch, 1)
  assert.deepEqual(
    inc.topics.flatMap((t) => t.partitions.map((p) => [p.partition, p.fetchOffset])),
    [[0, 5n]],
  )
  s.onResponse(12, 0, 42)
  // Dropping partition 1 lists it as forgotten.
  const drop = s.build(12, [target(0, 5n)], settings)
  assert.equal(drop.sessionEpoch, 2)
  assert.equal(drop.topics.length, 0)
  assert.deepEqual(drop.forgottenTopicsData[0]?.partitions, [1])
  assert.equal(drop.forgottenTopicsData[0]?.topic, 't')
})

test('a session error starts over with a full fetch', () => {
  const s = new FetchSession()
  s.build(12, [target(0, 0n)], settings)
  s.onResponse(12, 0, 7)
  s.build(12, [target(0, 1n)], settings)
  s.onResponse(12, 71, 0) // INVALID_FETCH_SESSION_EPOCH
  const again = s.build(12, [target(0, 1n)], settings)
  assert.equal(again.sessionId, 0)
  assert.equal(again.sessionEpoch, 0)
  assert.equal(again.topics[0]?.partitions.length, 1)
})

test('Fetch v13+ names topics by id; before v7 there are no sessions', () => {
  const s = new FetchSession()
  const v13 = s.build(13, [target(0, 0n)], settings)
  assert.equal(v13.topics[0]?.topicId, '11111111-2222-3333-4444-555555555555')
  assert.equal(v13.topics[0]?.topic, '')
  const old = new FetchSession()
  const v4 = old.build(4, [target(0, 0n)], settings)
  assert.equal(v4.sessionEpoch, -1)
  old.onResponse(4, 0, 0)
  assert.equal(old.build(4, [target(0, 3n)], settings).topics[0]?.partitions.length, 1)
})

/**
 * A transactional id changing coordinator, as when brokers sharing one store join or die: two
 * TxnCoordinators over one storage hand ids over through coordinatorsChanged. The new one
 * completes a transaction left prepared (markers and the completed state), keeps an open one's
 * timeout counted from its start and aborts it when it passes; a stale coordinator's writes are
 * refused; producer ids come from the shared allocation.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts'
import { topicMeta } from '../storage/helpers.ts'
import { markersOf, storedTxn, transactionalBatch, txnPair } from './helpers.ts'

const parts = [
  { topic: 't', partition: 0 },
  { topic: 't', partition: 1 },
]

/** InitProducerId's expected pair of a producer without one. */
const FRESH = { producerId: -1, producerEpoch: -1 }

async function pair() {
  const storage = new MemoryStorage()
  await storage.createTopic(topicMeta('t', 2))
  return { storage, ...(await txnPair([storage, storage])) }
}

test('a transaction left prepared is completed by the next coordinator: markers, groups, state', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, FRESH)
  assert.deepEqual(
    (await p.a.txns.addPartitions('tx', producerId, producerEpoch, parts)).map((r) => r.errorCode),
    [0, 0],
  )
  const batch = transactionalBatch(producerId, producerEpoch)
  assert.equal((await p.a.producers.append('t', 0, batch.data, batch.info, true)).errorCode, 0)
  assert.equal(await p.a.txns.addOffsets('tx', producerId, producerEpoch, 'g'), 0)
  // TxnOffsetCommit at the group's coordinator is checked against the transaction.
  assert.equal(await p.a.txns.checkOffsetCommit('tx', 'g', producerId, producerEpoch), 0)
  assert.equal(await p.b.txns.checkOffsetCommit('tx', 'g', producerId, producerEpoch), 0, 'from storage elsewhere')
  assert.equal(
    await p.b.txns.checkOffsetCommit('tx', 'other', producerId, producerEpoch),
    ErrorCode.INVALID_TXN_STATE,
    'a group not added',
  )

  // The commit is decided (PrepareCommit is stored) but the markers cannot be written: the
  // coordinator answers the producer and would try again later; it dies before it does.
  p.a.failMarkers = true
  assert.equal((await p.a.txns.endTxn('tx', producerId, producerEpoch, true, 0)).errorCode, 0)
  assert.equal((await storedTxn(p.storage.kv, 'tx')).state, 'PrepareCommit')
  assert.deepEqual(await markersOf(p.storage, 0), [])

  await p.move('b')
  assert.deepEqual(await markersOf(p.storage, 0), ['commit'])
  assert.deepEqual(await markersOf(p.storage, 1), ['commit'])
  // The first coordinator told the group too (in parallel with the markers that failed): ending twice is harmless.
  assert.deepEqual(
    p.endedGroups.filter((c) => c.by === 'b').map((c) => [c.groupId, c.producerId, c.commit]),
    [['g', producerId, true]],
  )
  assert.equal((await storedTxn(p.storage.kv, 'tx')).state, 'CompleteCommit')
  assert.equal(p.b.txns.get('tx')?.state, 'CompleteCommit')
  // The old coordinator holds nothing and answers NOT_COORDINATOR.
  assert.equal(p.a.txns.get('tx'), undefined)
  assert.equal((await p.a.txns.endTxn('tx', producerId, producerEpoch, true, 0)).errorCode, ErrorCode.NOT_COORDINATOR)
  // A retried EndTxn reaches the new coordinator and is answered as done.
  assert.equal((await p.b.txns.endTxn('tx', producerId, producerEpoch, true, 0)).errorCode, 0)
})

test('an open transaction keeps its timeout from its start across coordinators and is aborted when it passes', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const start = p.clock.now
  const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, FRESH)
  await p.a.txns.addPartitions('tx', producerId, producerEpoch, parts.slice(0, 1))
  const batch = transactionalBatch(producerId, producerEpoch)
  assert.equal((await p.a.producers.append('t', 0, batch.data, batch.info, true)).errorCode, 0)

  p.clock.now = start + 6_000
  await p.move('b')
  await p.b.txns.abortTimedOut()
  assert.equal((await storedTxn(p.storage.kv, 'tx')).state, 'Ongoing', 'not yet: 6 s of 10 s')

  p.clock.now = start + 10_001
  await p.a.txns.abortTimedOut()
  assert.equal((await storedTxn(p.storage.kv, 'tx')).state, 'Ongoing', 'the old coordinator no longer watches it')
  await p.b.txns.abortTimedOut()
  assert.deepEqual(await storedTxn(p.storage.kv, 'tx'), { state: 'CompleteAbort', epoch: producerEpoch + 1 })
  assert.deepEqual(await markersOf(p.storage, 0), ['abort'])
  // The producer that left it open is fenced.
  assert.equal((await p.b.txns.endTxn('tx', producerId, producerEpoch, true, 0)).errorCode, ErrorCode.PRODUCER_FENCED)
})

test('a stale transaction coordinator cannot overwrite what the current one wrote', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, FRESH)
  // Both believe they coordinate the id for a while.
  await p.move('both')
  assert.equal((await p.b.txns.addPartitions('tx', producerId, producerEpoch, parts.slice(0, 1)))[0]?.errorCode, 0)
  assert.deepEqual(
    (await p.a.txns.addPartitions('tx', producerId, producerEpoch, parts.slice(1))).map((r) => r.errorCode),
    [ErrorCode.NOT_COORDINATOR],
  )
  const raw = JSON.parse((await p.storage.kv.get('txn-state', 'tx'))?.toString() ?? '{}') as { parts: unknown }
  assert.deepEqual(raw.parts, [['t', [0]]])
  // The refused coordinator reads the stored state again.
  await p.a.txns.coordinatorsChanged()
  assert.deepEqual([...(p.a.txns.get('tx')?.partitions.get('t') ?? [])], [0])
})

test('a transactional id gained is read on its first request; producer ids come from the shared allocation', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const first = await p.a.txns.initProducerId('tx', 10_000, FRESH)
  p.owner.current = 'b'
  const aDone = p.a.txns.coordinatorsChanged()
  const bDone = p.b.txns.coordinatorsChanged()
  // KIP-360: the producer re-initialises with its pair at the new coordinator, which reads the id first.
  const again = await p.b.txns.initProducerId('tx', 10_000, {
    producerId: first.producerId,
    producerEpoch: first.producerEpoch,
  })
  assert.deepEqual(again, { errorCode: 0, producerId: first.producerId, producerEpoch: first.producerEpoch + 1 })
  await Promise.all([aDone, bDone])
  const ids = [
    (await p.a.txns.initProducerId(null, 0, FRESH)).producerId,
    (await p.b.txns.initProducerId(null, 0, FRESH)).producerId,
    (await p.b.txns.initProducerId('other', 10_000, FRESH)).producerId,
  ]
  assert.equal(new Set([first.producerId, ...ids]).size, 4, 'no producer id handed out twice')
})

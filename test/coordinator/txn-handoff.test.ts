/**
 * A transactional id changing coordinator, as when brokers sharing one store join or die: two
 * TxnCoordinators over one storage hand ids over through coordinatorsChanged. The new one
 * completes a transaction left prepared (markers and the completed state), keeps an open one's
 * timeout counted from its start and aborts it when it passes; a stale coordinator's writes are
 * refused; producer ids come from the shared allocation.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { effectiveBrokerProps } from '../../src/config/broker-configs.ts'
import { ProducerIdManager } from '../../src/coordinator/producer/producer-ids.ts'
import { ProducerStateManager } from '../../src/coordinator/producer/producer-state-manager.ts'
import { TxnCoordinator } from '../../src/coordinator/txn/txn-coordinator.ts'
import type { PendingOffset } from '../../src/coordinator/txn/txn-metadata.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { decodeBatchSync, encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import { ControlType, readEndTxnMarker } from '../../src/protocol/records/control.ts'
import { RecordsError } from '../../src/protocol/records/errors.ts'
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts'
import { topicMeta } from '../storage/helpers.ts'

type Name = 'a' | 'b'

/** Two brokers' transaction coordinators (and producer state) over one storage. */
async function pair() {
  const storage = new MemoryStorage()
  await storage.createTopic(topicMeta('t', 2))
  const props = effectiveBrokerProps({ 'transaction.max.timeout.ms': '60000' })
  const clock = { now: 1_000_000 }
  const owner = { current: 'a' as Name | 'both' }
  const committedOffsets: { by: Name; groupId: string; offsets: PendingOffset[] }[] = []
  const make = async (name: Name) => {
    const side = {
      failMarkers: false,
      txns: undefined as unknown as TxnCoordinator,
      producers: undefined as unknown as ProducerStateManager,
    }
    const producers = new ProducerStateManager({
      storage,
      log: pino({ level: 'silent' }),
      now: () => clock.now,
      prop: (n) => props[n] ?? '',
      verify: (pid, epoch, topic, partition) => side.txns.verify(pid, epoch, topic, partition),
      leaderEpoch: () => 0,
    })
    side.txns = new TxnCoordinator({
      kv: storage.kv,
      ids: new ProducerIdManager(storage.kv),
      producers: {
        writeMarker: (...args) => {
          if (side.failMarkers) return Promise.reject(new Error('the partition leader is unreachable'))
          return producers.writeMarker(...args)
        },
      },
      hasPartition: (topic, partition) => topic === 't' && partition < 2,
      commitOffsets: async (groupId, offsets) => {
        committedOffsets.push({ by: name, groupId, offsets })
        return ErrorCode.NONE
      },
      now: () => clock.now,
      prop: (n) => props[n] ?? '',
      log: pino({ level: 'silent' }),
      coordinates: () => owner.current === name || owner.current === 'both',
    })
    side.producers = producers
    await side.txns.load()
    return side
  }
  const a = await make('a')
  const b = await make('b')
  return {
    storage,
    clock,
    owner,
    a,
    b,
    committedOffsets,
    async move(to: Name | 'both'): Promise<void> {
      owner.current = to
      for (const side of to === 'a' ? [b, a] : [a, b]) await side.txns.coordinatorsChanged()
    },
    async close(): Promise<void> {
      await a.txns.close()
      await b.txns.close()
    },
  }
}

/** The COMMIT/ABORT markers of a partition's log, in order. */
async function markers(storage: MemoryStorage, partition: number): Promise<string[]> {
  const read = await storage.read('t', partition, 0, 1 << 20, { minOneBatch: true })
  const out: string[] = []
  let pos = 0
  while (pos < read.records.length) {
    const info = readBatchHeader(read.records, pos)
    if (info instanceof RecordsError) break
    if (info.isControl) {
      const record = decodeBatchSync(read.records.subarray(pos, pos + info.size)).records[0]
      if (record) out.push(readEndTxnMarker(record).type === ControlType.COMMIT ? 'commit' : 'abort')
    }
    pos += info.size
  }
  return out
}

async function storedState(storage: MemoryStorage, id: string): Promise<{ state: string; epoch: number }> {
  const raw = await storage.kv.get('txn-state', id)
  const s = JSON.parse(raw?.toString() ?? '{}') as { state: string; epoch: number }
  return { state: s.state, epoch: s.epoch }
}

function transactionalBatch(pid: number, epoch: number): { data: Buffer; info: BatchInfo } {
  const data = encodeBatchSync({
    records: [{ value: Buffer.from('in a transaction') }],
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: 0,
    isTransactional: true,
  })
  return { data, info: readBatchHeader(data) as BatchInfo }
}

const parts = [
  { topic: 't', partition: 0 },
  { topic: 't', partition: 1 },
]

test('a transaction left prepared is completed by the next coordinator: markers, offsets, state', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, {
    producerId: -1,
    producerEpoch: -1,
  })
  assert.deepEqual(
    (await p.a.txns.addPartitions('tx', producerId, producerEpoch, parts)).map((r) => r.errorCode),
    [0, 0],
  )
  const batch = transactionalBatch(producerId, producerEpoch)
  assert.equal((await p.a.producers.append('t', 0, batch.data, batch.info, true)).errorCode, 0)
  assert.equal(await p.a.txns.addOffsets('tx', producerId, producerEpoch, 'g'), 0)
  const offset = { topic: 'in', partition: 0, offset: 5n, leaderEpoch: 0, metadata: '', commitTimestamp: 1 }
  assert.equal(await p.a.txns.txnOffsetCommit('tx', 'g', producerId, producerEpoch, [offset]), 0)

  // The commit is decided (PrepareCommit is stored) but the markers cannot be written: the
  // coordinator answers the producer and would try again later; it dies before it does.
  p.a.failMarkers = true
  assert.equal((await p.a.txns.endTxn('tx', producerId, producerEpoch, true, false)).errorCode, 0)
  assert.equal((await storedState(p.storage, 'tx')).state, 'PrepareCommit')
  assert.deepEqual(await markers(p.storage, 0), [])

  await p.move('b')
  assert.deepEqual(await markers(p.storage, 0), ['commit'])
  assert.deepEqual(await markers(p.storage, 1), ['commit'])
  assert.deepEqual(
    p.committedOffsets.map((c) => [c.by, c.groupId, c.offsets]),
    [['b', 'g', [offset]]],
  )
  assert.equal((await storedState(p.storage, 'tx')).state, 'CompleteCommit')
  assert.equal(p.b.txns.get('tx')?.state, 'CompleteCommit')
  // The old coordinator holds nothing and answers NOT_COORDINATOR.
  assert.equal(p.a.txns.get('tx'), undefined)
  assert.equal(
    (await p.a.txns.endTxn('tx', producerId, producerEpoch, true, false)).errorCode,
    ErrorCode.NOT_COORDINATOR,
  )
  // A retried EndTxn reaches the new coordinator and is answered as done.
  assert.equal((await p.b.txns.endTxn('tx', producerId, producerEpoch, true, false)).errorCode, 0)
})

test('an open transaction keeps its timeout from its start across coordinators and is aborted when it passes', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const start = p.clock.now
  const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, {
    producerId: -1,
    producerEpoch: -1,
  })
  await p.a.txns.addPartitions('tx', producerId, producerEpoch, parts.slice(0, 1))
  const batch = transactionalBatch(producerId, producerEpoch)
  assert.equal((await p.a.producers.append('t', 0, batch.data, batch.info, true)).errorCode, 0)

  p.clock.now = start + 6_000
  await p.move('b')
  await p.b.txns.abortTimedOut()
  assert.equal((await storedState(p.storage, 'tx')).state, 'Ongoing', 'not yet: 6 s of 10 s')

  p.clock.now = start + 10_001
  await p.a.txns.abortTimedOut()
  assert.equal((await storedState(p.storage, 'tx')).state, 'Ongoing', 'the old coordinator no longer watches it')
  await p.b.txns.abortTimedOut()
  assert.deepEqual(await storedState(p.storage, 'tx'), { state: 'CompleteAbort', epoch: producerEpoch + 1 })
  assert.deepEqual(await markers(p.storage, 0), ['abort'])
  // The producer that left it open is fenced.
  assert.equal(
    (await p.b.txns.endTxn('tx', producerId, producerEpoch, true, false)).errorCode,
    ErrorCode.PRODUCER_FENCED,
  )
})

test('a stale transaction coordinator cannot overwrite what the current one wrote', async (t) => {
  const p = await pair()
  t.after(() => p.close())
  const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, {
    producerId: -1,
    producerEpoch: -1,
  })
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
  const first = await p.a.txns.initProducerId('tx', 10_000, { producerId: -1, producerEpoch: -1 })
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
    (await p.a.txns.initProducerId(null, 0, { producerId: -1, producerEpoch: -1 })).producerId,
    (await p.b.txns.initProducerId(null, 0, { producerId: -1, producerEpoch: -1 })).producerId,
    (await p.b.txns.initProducerId('other', 10_000, { producerId: -1, producerEpoch: -1 })).producerId,
  ]
  assert.equal(new Set([first.producerId, ...ids]).size, 4, 'no producer id handed out twice')
})

/**
 * Producer state across a change of partition leader: the new leader rebuilds a partition from
 * the previous leader's snapshot and log (reloadPartition), a broker snapshots only partitions it
 * leads, and over shared storage a deposed leader's snapshot never replaces its successor's.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { ProducerStateManager } from '../../src/coordinator/producer/producer-state-manager.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts'
import { topicMeta } from '../storage/helpers.ts'

const SNAPSHOTS = 'producer-state'

function manager(storage: MemoryStorage, leads?: (topic: string, partition: number) => boolean): ProducerStateManager {
  return new ProducerStateManager({
    storage,
    log: pino({ level: 'silent' }),
    now: Date.now,
    prop: (name) => (name === 'producer.id.expiration.ms' ? '86400000' : ''),
    verify: () => ErrorCode.NONE,
    leaderEpoch: () => 0,
    leads,
  })
}

function batch(
  baseSequence: number,
  options: { producerId?: number; transactional?: boolean } = {},
): { data: Buffer; info: BatchInfo } {
  const data = encodeBatchSync({
    records: [{ value: Buffer.from(`seq-${baseSequence}`) }],
    producerId: options.producerId ?? 11,
    producerEpoch: 0,
    baseSequence,
    isTransactional: options.transactional ?? false,
  })
  return { data, info: readBatchHeader(data) as BatchInfo }
}

async function append(
  m: ProducerStateManager,
  partition: number,
  b: { data: Buffer; info: BatchInfo },
): Promise<{ errorCode: number; baseOffset?: number }> {
  const r = await m.append('t', partition, Buffer.from(b.data), b.info, true)
  return 'baseOffset' in r ? { errorCode: r.errorCode, baseOffset: r.baseOffset } : { errorCode: r.errorCode }
}

test('a new leader rebuilds a partition from the previous leader snapshot and the log after it', async () => {
  const storage = new MemoryStorage()
  await storage.createTopic(topicMeta('t'))
  const before = manager(storage)
  await before.load(await storage.listTopics())
  assert.equal((await append(before, 0, batch(0))).baseOffset, 0)
  await before.snapshot()
  // Written after the last snapshot: only the log holds these.
  assert.equal((await append(before, 0, batch(1))).baseOffset, 1)
  assert.equal((await append(before, 0, batch(0, { producerId: 12, transactional: true }))).baseOffset, 2)

  const after = manager(storage)
  await after.reloadPartition('t', 0)
  // The last batch, retried against the new leader, is a duplicate answered with its offset.
  assert.deepEqual(await append(after, 0, batch(1)), { errorCode: 0, baseOffset: 1 })
  assert.equal((await append(after, 0, batch(3))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  assert.deepEqual(await append(after, 0, batch(2)), { errorCode: 0, baseOffset: 3 })
  // The open transaction came through: the last stable offset stays at its first batch.
  assert.equal(after.lastStableOffset('t', 0, 4), 2)

  // Reloading again replaces what the broker held with what storage says now.
  await after.reloadPartition('t', 0)
  assert.deepEqual(await append(after, 0, batch(2)), { errorCode: 0, baseOffset: 3 })
  assert.equal(after.lastStableOffset('t', 0, 4), 2)
})

test('a broker loads and snapshots only the partitions it leads', async () => {
  const storage = new MemoryStorage()
  await storage.createTopic(topicMeta('t', 2))
  const first = manager(storage)
  await first.load(await storage.listTopics())
  await append(first, 0, batch(0))
  await append(first, 1, batch(0, { producerId: 12 }))

  const leadsZero = manager(storage, (_topic, partition) => partition === 0)
  await leadsZero.load(await storage.listTopics())
  assert.notEqual(leadsZero.peek('t', 0), undefined)
  assert.equal(leadsZero.peek('t', 1), undefined, 'a partition led elsewhere is not loaded')
  await append(leadsZero, 0, batch(1))
  // It serves partition 1 for a while all the same (say, before it learns it lost it).
  await append(leadsZero, 1, batch(0, { producerId: 13 }))
  await leadsZero.snapshot()
  assert.deepEqual([...(await storage.kv.list(SNAPSHOTS)).keys()], [JSON.stringify(['t', 0])])
})

test('over shared storage a deposed leader cannot overwrite its successor snapshot', async () => {
  const storage = new MemoryStorage()
  storage.capabilities.shared = true
  await storage.createTopic(topicMeta('t'))
  const old = manager(storage)
  await old.load(await storage.listTopics())
  await old.reloadPartition('t', 0)
  await append(old, 0, batch(0))
  await old.snapshot()

  const next = manager(storage)
  await next.reloadPartition('t', 0)
  const written = (await storage.kv.get(SNAPSHOTS, JSON.stringify(['t', 0])))?.toString()
  assert.match(written ?? '', /"end":1/)
  await append(next, 0, batch(1))

  // The deposed leader still believes it leads, and writes the state it has.
  await append(old, 0, batch(1, { producerId: 14 }))
  await old.snapshot()
  assert.equal(
    (await storage.kv.get(SNAPSHOTS, JSON.stringify(['t', 0])))?.toString(),
    written,
    'the deposed leader snapshot was refused',
  )
  await next.snapshot()
  assert.match((await storage.kv.get(SNAPSHOTS, JSON.stringify(['t', 0])))?.toString() ?? '', /"end":3/)
})

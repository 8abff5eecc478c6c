/**
 * Producer-state snapshots on the local engine: each records how far the log was accounted for,
 * so a start after a crash replays at most what came after the last snapshot, also on
 * partitions that plain (non-idempotent) producers write.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { ProducerStateManager } from '../../src/coordinator/producer/producer-state-manager.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import { LocalStorage } from '../../src/storage/local/local-storage.ts'
import { appendInput, freshDirs, makeBatch, topicMeta } from '../storage/helpers.ts'

const freshDir = freshDirs('samsa-producer-state-')

function manager(storage: LocalStorage): ProducerStateManager {
  return new ProducerStateManager({
    storage,
    log: pino({ level: 'silent' }),
    now: Date.now,
    prop: (name) => (name === 'producer.id.expiration.ms' ? '86400000' : ''),
    verify: () => 0,
    leaderEpoch: () => 0,
  })
}

/** Offsets the producer-state replay reads from, recorded as it asks storage for them. */
function recordReads(storage: LocalStorage): { topic: string; offset: number }[] {
  const reads: { topic: string; offset: number }[] = []
  const read = storage.read.bind(storage)
  storage.read = (topic, partition, offset, maxBytes, options) => {
    reads.push({ topic, offset })
    return read(topic, partition, offset, maxBytes, options)
  }
  return reads
}

async function appendPlain(storage: LocalStorage, topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await storage.append(topic, 0, appendInput(makeBatch([`${topic}-${i}`])), { durable: true, leaderEpoch: 0 })
  }
}

test('a start after a crash replays only what came after the last snapshot, plain partitions included', async () => {
  const dataDir = await freshDir()
  let storage = await LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0 })
  await storage.createTopic(topicMeta('mixed'))
  await storage.createTopic(topicMeta('plain'))
  const first = manager(storage)
  await first.load(await storage.listTopics())

  const idempotent = encodeBatchSync({
    records: [{ value: Buffer.from('once') }],
    producerId: 7,
    producerEpoch: 0,
    baseSequence: 0,
  })
  const info = readBatchHeader(idempotent) as BatchInfo
  assert.deepEqual(await first.append('mixed', 0, idempotent, info, true), {
    errorCode: 0,
    baseOffset: 0,
    logStartOffset: 0,
  })
  await appendPlain(storage, 'mixed', 5)
  await appendPlain(storage, 'plain', 5)
  await first.snapshot()
  // Written after the last snapshot: the next start replays these only.
  await appendPlain(storage, 'mixed', 2)
  // A crash: the manager never closes (no final snapshot); the log itself is synced.
  await storage.close()

  storage = await LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0 })
  const reads = recordReads(storage)
  const second = manager(storage)
  await second.load(await storage.listTopics())
  assert.deepEqual(reads, [{ topic: 'mixed', offset: 6 }], 'only the two batches after the snapshot were read')
  // The idempotent producer's state came through: its batch, sent again, is a duplicate.
  assert.deepEqual(await second.append('mixed', 0, idempotent, info, true), {
    errorCode: 0,
    baseOffset: 0,
    logStartOffset: 0,
  })
  assert.equal((await storage.offsets('mixed', 0)).highWatermark, 8, 'the duplicate was not appended')
  await second.close()
  await storage.close()
})

test('a segment roll takes a snapshot, as Kafka does: the replay after a crash stays within about a segment', async () => {
  const storage = await LocalStorage.open({ dataDir: await freshDir(), retentionCheckIntervalMs: 0 })
  await storage.createTopic(topicMeta('rolling', 1, { 'segment.bytes': '400' }))
  const producers = manager(storage)
  await producers.load(await storage.listTopics())
  const snapshotEnd = async (): Promise<number | undefined> => {
    const raw = (await storage.kv.list('producer-state')).get(JSON.stringify(['rolling', 0]))
    return raw === undefined ? undefined : (JSON.parse(raw.toString()) as { end: number }).end
  }
  await appendPlain(storage, 'rolling', 3)
  assert.equal(await snapshotEnd(), undefined, 'no roll yet, no snapshot')
  let tries = 0
  while (storage.segmentBaseOffsets('rolling', 0).length < 2) {
    await appendPlain(storage, 'rolling', 1)
    assert.ok(++tries < 100, 'the log never rolled')
  }
  const rolledAt = storage.segmentBaseOffsets('rolling', 0)[1] as number
  for (let i = 0; i < 50 && (await snapshotEnd()) === undefined; i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(((await snapshotEnd()) ?? -1) >= rolledAt, `snapshot end ${await snapshotEnd()} covers the rolled segment`)
  await producers.close()
  await storage.close()
})

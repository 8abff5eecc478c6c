/**
 * A retried idempotent batch that matches one still in flight shares the original append's
 * outcome: it is answered once the original is stored (durably, for acks=all), and fails when the
 * original fails, never earlier (the offsets are assigned before the append is durable).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { ProducerStateManager } from '../../src/coordinator/producer/producer-state-manager.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import { MemoryStorage } from '../../src/storage/memory/memory-storage.ts'
import { topicMeta } from '../storage/helpers.ts'

/** A memory engine whose appends have their offsets at once but complete only when released. */
async function slowStorage(): Promise<{ storage: MemoryStorage; release: (err?: Error) => void }> {
  const storage = new MemoryStorage()
  await storage.createTopic(topicMeta('t'))
  const append = storage.append.bind(storage)
  const gates: { resolve: () => void; reject: (err: Error) => void }[] = []
  storage.append = (topic, partition, input, options) => {
    const held = new Promise<void>((resolve, reject) => gates.push({ resolve, reject }))
    return append(topic, partition, input, options).then(async (res) => {
      await held
      return res
    })
  }
  return {
    storage,
    release(err) {
      for (const gate of gates.splice(0)) {
        if (err) gate.reject(err)
        else gate.resolve()
      }
    },
  }
}

function manager(storage: MemoryStorage): ProducerStateManager {
  return new ProducerStateManager({
    storage,
    log: pino({ level: 'silent' }),
    now: Date.now,
    prop: () => '',
    verify: () => 0,
    leaderEpoch: () => 0,
  })
}

function idempotentBatch(): { data: Buffer; info: BatchInfo } {
  const data = encodeBatchSync({
    records: [{ value: Buffer.from('v') }],
    producerId: 3,
    producerEpoch: 0,
    baseSequence: 0,
  })
  return { data, info: readBatchHeader(data) as BatchInfo }
}

/** Whether `p` has settled after the event loop had a chance to run everything ready. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false
  p.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

/** An idempotent batch appended, and sent again while its append is still in flight. */
async function retriedInFlight() {
  const { storage, release } = await slowStorage()
  const producers = manager(storage)
  const batch = idempotentBatch()
  const original = producers.append('t', 0, batch.data, batch.info, true)
  const retry = producers.append('t', 0, Buffer.from(batch.data), batch.info, true)
  return { storage, release, producers, batch, original, retry }
}

test('a retry of a batch in flight is answered only once the original append completed', async () => {
  const { storage, release, original, retry } = await retriedInFlight()
  // Offsets are assigned by now, but the original is not yet durable: neither may answer.
  assert.equal((await storage.offsets('t', 0)).highWatermark, 1)
  assert.equal(await settled(original), false)
  assert.equal(await settled(retry), false, 'the retry waits for the original append')
  release()
  assert.deepEqual(await original, { errorCode: 0, baseOffset: 0, logStartOffset: 0 })
  assert.deepEqual(await retry, { errorCode: 0, baseOffset: 0, logStartOffset: 0 })
})

test('a retry of a batch in flight fails when the original append fails', async () => {
  const { release, producers, batch, original, retry } = await retriedInFlight()
  assert.equal(await settled(retry), false)
  const lost = new Error('the disk went away')
  release(lost)
  await assert.rejects(original, lost)
  await assert.rejects(retry, lost, 'the retry is not acknowledged for an append that failed')
  // The failed batch is forgotten: the next retry is appended afresh.
  const again = producers.append('t', 0, Buffer.from(batch.data), batch.info, true)
  release()
  assert.equal((await again).errorCode, 0)
})

/**
 * Producer ids: brokers sharing one store never hand out the same id (blocks come from the
 * store's atomic allocation), and a restart continues after the blocks already reserved.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdManager } from '../../src/coordinator/producer/producer-ids.ts'
import { openStorage } from '../../src/storage/open-storage.ts'
import { freshDirs } from '../storage/helpers.ts'

const freshDir = freshDirs('samsa-producer-ids-')

test('two managers over one store hand out disjoint ids', async () => {
  const storage = await openStorage({ engine: 'memory' })
  const a = new ProducerIdManager(storage.kv)
  const b = new ProducerIdManager(storage.kv)
  const ids = await Promise.all(
    Array.from({ length: 3 * PRODUCER_ID_BLOCK_SIZE }, (_, i) => (i % 2 === 0 ? a : b).next()),
  )
  assert.equal(new Set(ids).size, ids.length, 'no id twice')
  await storage.close()
})

test('a restart of the local engine continues after the reserved blocks', async () => {
  const dataDir = await freshDir()
  const first = await openStorage({ engine: 'local', dataDir, retentionCheckIntervalMs: 0 })
  const before = new ProducerIdManager(first.kv)
  const handed = [await before.next(), await before.next()]
  await first.close()
  const second = await openStorage({ engine: 'local', dataDir, retentionCheckIntervalMs: 0 })
  const after = await new ProducerIdManager(second.kv).next()
  assert.ok(after > Math.max(...handed), `${after} after ${handed}`)
  assert.equal(after, PRODUCER_ID_BLOCK_SIZE, 'the rest of the first block is skipped')
  await second.close()
})

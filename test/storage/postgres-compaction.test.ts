/**
 * Log compaction on the postgres engine, on an embedded PostgreSQL: what only this engine has.
 * The cleanable range ends at the first batch younger than min.compaction.lag.ms (there is no
 * active segment), the in-memory tail follows the rewrite, retention and compaction both apply to
 * a compact,delete topic, and a deposed leader cannot compact even when it is deposed in the
 * middle of a pass. What every engine does is in compaction.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import { COMPACT, produce, readAll, rounds } from './compaction-helpers.ts'
import { topicMeta } from './helpers.ts'

const skip = (await hasPostgres()) ? undefined : POSTGRES_MISSING

describe('postgres log compaction', { skip }, () => {
  const { open, sql } = postgresOpener({ retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 })

  it('serves from its in-memory tail what the compacted database holds', async () => {
    const url = await freshDatabase()
    const storage = await open(url)
    await storage.createTopic(topicMeta('c', 1, COMPACT))
    await produce(storage, 'c', rounds())
    assert.equal((await storage.runCleaner()).length, 1)
    // The tail (which held every batch) serves what the database holds, byte for byte.
    const untailed = await open(url, { tailBytes: 0 })
    for (let offset = 0; offset < 100; offset += 7) {
      const fromTail = await storage.read('c', 0, offset, 1 << 20, { minOneBatch: true })
      const fromDb = await untailed.read('c', 0, offset, 1 << 20, { minOneBatch: true })
      assert.deepEqual(fromTail.records, fromDb.records, `read at ${offset}`)
    }
  })

  it('ends the cleanable range at the first batch younger than min.compaction.lag.ms', async () => {
    const url = await freshDatabase()
    let now = 1_000_000
    const storage = await open(url, { now: () => now })
    await storage.createTopic(topicMeta('lag', 1, { ...COMPACT, 'min.compaction.lag.ms': '60000' }))
    await produce(storage, 'lag', rounds(2), { timestamp: now - 120_000 })
    await produce(storage, 'lag', rounds(2), { timestamp: now - 1000 })
    const before = await readAll(storage, 'lag')
    assert.deepEqual(
      (await storage.runCleaner()).map((r) => [r.topic, r.cleanedUpTo]),
      [['lag', 20]],
    )
    const afterFirst = await readAll(storage, 'lag')
    assert.deepEqual(
      afterFirst.filter((r) => r.offset >= 20),
      before.filter((r) => r.offset >= 20),
      'the young batches (the active tail) are left alone',
    )
    assert.deepEqual(
      afterFirst.filter((r) => r.offset < 20).map((r) => r.offset),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    )
    assert.deepEqual(await storage.runCleaner(), [])
    now += 120_000
    assert.deepEqual(
      (await storage.runCleaner()).map((r) => [r.topic, r.cleanedUpTo]),
      [['lag', 40]],
    )
    assert.deepEqual(
      (await readAll(storage, 'lag')).map((r) => r.offset),
      [30, 31, 32, 33, 34, 35, 36, 37, 38, 39],
    )
  })

  it('applies retention and compaction both to a compact,delete topic', async () => {
    const url = await freshDatabase()
    const now = 10_000_000
    const storage = await open(url, { now: () => now })
    await storage.createTopic(
      topicMeta('cd', 1, { ...COMPACT, 'cleanup.policy': 'compact,delete', 'retention.ms': '60000' }),
    )
    await produce(
      storage,
      'cd',
      [
        ['a', 'a1'],
        ['b', 'b1'],
        ['a', 'a2'],
      ],
      { timestamp: now - 120_000 },
    )
    await produce(storage, 'cd', [['c', 'c1']], { timestamp: now })
    assert.equal((await storage.runCleaner()).length, 1)
    assert.deepEqual(
      (await readAll(storage, 'cd')).map((r) => `${r.offset}:${r.key}=${r.value}`),
      ['1:b=b1', '2:a=a2', '3:c=c1'],
    )
    await storage.runRetention()
    assert.deepEqual(
      (await readAll(storage, 'cd')).map((r) => `${r.offset}:${r.key}=${r.value}`),
      ['3:c=c1'],
    )
    assert.equal((await storage.offsets('cd', 0)).logStartOffset, 3)
  })

  it('does not compact a partition whose leader epoch moved on, even when it moves during the pass', async () => {
    const url = await freshDatabase()
    const a = await open(url)
    await a.createTopic(topicMeta('f', 1, COMPACT))
    await produce(a, 'f', rounds())
    const db = await sql(url)
    const stored = async (): Promise<number> => Number((await db.query('SELECT count(*) AS n FROM batches')).rows[0].n)
    assert.equal(await stored(), 100)

    // Deposed in the middle of the pass: a transaction holds the partition's row while the pass
    // reads, and raises the epoch once the pass's write waits for the row.
    const holder = await sql(url)
    await holder.query('BEGIN')
    await holder.query('SELECT 1 FROM partitions FOR UPDATE')
    const cleaning = a.runCleaner()
    const watcher = await sql(url)
    const deadline = Date.now() + 10_000
    while (Number((await watcher.query('SELECT count(*) AS n FROM pg_locks WHERE NOT granted')).rows[0].n) === 0) {
      assert.ok(Date.now() < deadline, 'the pass waits for the partition row')
      await new Promise((r) => setTimeout(r, 10))
    }
    await holder.query('UPDATE partitions SET leader_epoch = 1')
    await holder.query('COMMIT')
    assert.deepEqual(await cleaning, [])
    assert.equal(await stored(), 100, 'the deposed leader wrote nothing')
    assert.equal((await readAll(a, 'f')).length, 100)

    // Deposed before the pass: it does not even start.
    assert.deepEqual(await a.runCleaner(), [])
    // The new leader compacts.
    const b = await open(url)
    assert.equal(await b.claimLeadership('f', 0, 1), 1)
    assert.equal((await b.runCleaner()).length, 1)
    assert.equal(await stored(), 10)
  })
})

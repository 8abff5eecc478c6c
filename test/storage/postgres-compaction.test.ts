/**
 * Log compaction on the postgres engine, on an embedded PostgreSQL: the cases of the local
 * engine's compaction.test.ts that do not depend on segment files (last value per key, tombstones
 * and their delete horizon, aborted transactions and their markers, open transactions, the
 * ratio and lags, compact,delete), and what only this engine has: the cleanable range ends at the
 * first batch younger than min.compaction.lag.ms (there is no active segment), the checkpoint
 * lives in the database, the in-memory tail follows the rewrite, and a deposed leader cannot
 * compact even when it is deposed in the middle of a pass.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeBatchesSync } from '../../src/protocol/records/batch.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import {
  assertOffsetsGrow,
  COMPACT,
  controlBatches,
  latest,
  marker,
  produce,
  rawBatches,
  readAll,
  rounds,
  txn,
} from './compaction-helpers.ts'
import { topicMeta } from './helpers.ts'

const skip = (await hasPostgres()) ? undefined : POSTGRES_MISSING

describe('postgres log compaction', { skip }, () => {
  const { open, sql } = postgresOpener({ retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 })

  it('keeps the last record per key at its offset, in the database and in the tail, across a restart', async () => {
    const url = await freshDatabase()
    let storage = await open(url)
    assert.equal(storage.capabilities.compaction, true)
    await storage.createTopic(topicMeta('c', 1, COMPACT))
    await produce(storage, 'c', rounds())
    const before = await readAll(storage, 'c')
    const sizeBefore = await storage.partitionSize('c', 0)
    const results = await storage.runCleaner()
    assert.deepEqual(
      results.map((r) => [r.topic, r.partition, r.cleanedUpTo, r.recordsRemoved]),
      [['c', 0, 100, 90]],
    )
    const after = await readAll(storage, 'c')
    assertOffsetsGrow(after)
    assert.deepEqual(latest(after), latest(before))
    const byOffset = new Map(before.map((r) => [r.offset, r]))
    for (const r of after) assert.deepEqual(byOffset.get(r.offset), r)
    // No active segment: the whole committed log was cleanable, so each key is there once.
    assert.equal(after.length, 10)
    assert.ok((await storage.partitionSize('c', 0)) < sizeBefore / 3)
    assert.deepEqual(await storage.offsets('c', 0), { logStartOffset: 0, highWatermark: 100, lastStableOffset: 100 })
    // The tail (which held every batch) serves what the database holds, byte for byte.
    const untailed = await open(url, { tailBytes: 0 })
    for (let offset = 0; offset < 100; offset += 7) {
      const fromTail = await storage.read('c', 0, offset, 1 << 20, { minOneBatch: true })
      const fromDb = await untailed.read('c', 0, offset, 1 << 20, { minOneBatch: true })
      assert.deepEqual(fromTail.records, fromDb.records, `read at ${offset}`)
    }
    assert.deepEqual(await storage.runCleaner(), [], 'a second pass finds nothing to do')
    await storage.close()

    storage = await open(url)
    assert.deepEqual(await readAll(storage, 'c'), after)
    assert.deepEqual(await storage.runCleaner(), [], 'the checkpoint is in the database')
    await produce(storage, 'c', [['key-0', 'after']])
    assert.deepEqual((await readAll(storage, 'c')).at(-1), { offset: 100, key: 'key-0', value: 'after' })
  })

  it('never touches a topic with cleanup.policy=delete, nor batches younger than min.compaction.lag.ms', async () => {
    const url = await freshDatabase()
    let now = 1_000_000
    const storage = await open(url, { now: () => now })
    await storage.createTopic(topicMeta('del', 1, { ...COMPACT, 'cleanup.policy': 'delete' }))
    await storage.createTopic(topicMeta('lag', 1, { ...COMPACT, 'min.compaction.lag.ms': '60000' }))
    await produce(storage, 'del', rounds(3))
    await produce(storage, 'lag', rounds(2), { timestamp: now - 120_000 })
    await produce(storage, 'lag', rounds(2), { timestamp: now - 1000 })
    const before = await readAll(storage, 'lag')
    assert.deepEqual(
      (await storage.runCleaner()).map((r) => [r.topic, r.cleanedUpTo]),
      [['lag', 20]],
    )
    assert.equal((await readAll(storage, 'del')).length, 30)
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

  it('honours min.cleanable.dirty.ratio and max.compaction.lag.ms', async () => {
    const url = await freshDatabase()
    let now = 10_000
    const storage = await open(url, { now: () => now })
    await storage.createTopic(topicMeta('r', 1, { ...COMPACT, 'min.cleanable.dirty.ratio': '0.5' }))
    await produce(
      storage,
      'r',
      Array.from({ length: 60 }, (_, i): [string, string] => [`unique-${i}`, 'v']),
      { timestamp: 1000 },
    )
    assert.equal((await storage.runCleaner()).length, 1)
    await produce(storage, 'r', rounds(2), { timestamp: 2000 })
    assert.deepEqual(await storage.runCleaner(), [], 'below the ratio')
    await storage.setTopicConfigs('r', {
      ...COMPACT,
      'min.cleanable.dirty.ratio': '0.5',
      'max.compaction.lag.ms': '5000',
    })
    now = 20_000
    const results = await storage.runCleaner()
    assert.deepEqual(
      results.map((r) => r.recordsRemoved),
      [10],
      'old dirty data is due by max.compaction.lag.ms',
    )
  })

  it('keeps tombstones until delete.retention.ms after the pass that first kept them, across a restart', async () => {
    const url = await freshDatabase()
    let now = 1_000_000
    let storage = await open(url, { now: () => now })
    await storage.createTopic(topicMeta('t', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
    await produce(storage, 't', [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', null],
      ['c', 'c1'],
    ])
    await produce(storage, 't', rounds(2))
    await storage.runCleaner()
    assert.deepEqual(
      (await readAll(storage, 't')).filter((r) => r.key === 'a'),
      [{ offset: 2, key: 'a', value: null }],
      'the tombstone stays, the older value goes',
    )
    now += 30_000
    await produce(storage, 't', [['z', 'z1']])
    assert.equal((await storage.runCleaner()).length, 1)
    assert.equal((await readAll(storage, 't')).filter((r) => r.key === 'a').length, 1, 'not yet')
    const tombstoneBatch = (await rawBatches(storage, 't')).find((b) => Number(b.baseOffset) === 2)
    assert.deepEqual(
      [tombstoneBatch?.hasDeleteHorizon, Number(tombstoneBatch?.baseTimestamp)],
      [true, 1_060_000],
      'the horizon is in the batch (KIP-534)',
    )
    await storage.close()
    storage = await open(url, { now: () => now })
    assert.deepEqual(await storage.runCleaner(), [], 'not due before the horizon')
    now += 31_000
    assert.equal((await storage.runCleaner()).length, 1, 'an expired delete horizon starts a pass, after a restart too')
    const recs = await readAll(storage, 't')
    assert.deepEqual(
      recs.filter((r) => r.key === 'a'),
      [],
    )
    assert.deepEqual(
      recs.filter((r) => r.key === 'b' || r.key === 'c').map((r) => r.value),
      ['b1', 'c1'],
    )
    assertOffsetsGrow(recs)
  })

  it('removes aborted transactions, deduplicates committed ones, keeps markers until their data is gone and the horizon passed', async () => {
    const url = await freshDatabase()
    let now = 1_000_000
    const storage = await open(url, { now: () => now })
    await storage.createTopic(topicMeta('x', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
    // As in compaction.test.ts: producer 7 commits A = {k1, k2} (marker 2), producer 8 aborts
    // B = {k1, k3} (marker 5), producer 7 commits C = {k2} (7), superseded by a plain k2 (8), and
    // D = {k4} (10).
    await txn(storage, 'x', 7, 0, [
      ['k1', 'c1'],
      ['k2', 'c2'],
    ])
    await marker(storage, 'x', 7, 'commit')
    await txn(storage, 'x', 8, 0, [
      ['k1', 'a1'],
      ['k3', 'a3'],
    ])
    await marker(storage, 'x', 8, 'abort')
    await txn(storage, 'x', 7, 2, [['k2', 'c2b']])
    await marker(storage, 'x', 7, 'commit')
    await produce(storage, 'x', [['k2', 'plain']])
    await txn(storage, 'x', 7, 3, [['k4', 'c4']])
    await marker(storage, 'x', 7, 'commit')
    await produce(storage, 'x', rounds(3))

    assert.equal((await storage.runCleaner()).length, 1)
    const early = async (): Promise<string[]> =>
      (await readAll(storage, 'x')).filter((r) => r.offset < 11).map((r) => `${r.offset}:${r.key}=${r.value}`)
    assert.deepEqual(await early(), ['0:k1=c1', '8:k2=plain', '9:k4=c4'])
    assert.deepEqual(
      (await controlBatches(storage, 'x')).map((c) => [c.offset, c.horizon]),
      [
        [2, false],
        [5, false],
        [7, false],
        [10, false],
      ],
      'every marker stays in the pass that removes its data',
    )
    const empty = (await rawBatches(storage, 'x')).find((b) => Number(b.producerId) === 8 && !b.isControl)
    assert.deepEqual(
      [Number(empty?.baseOffset), empty?.lastOffsetDelta, empty?.records.length, empty?.isTransactional],
      [3, 1, 0, true],
      'producer 8’s last batch stays, empty, for its sequence',
    )

    await produce(storage, 'x', rounds(3))
    assert.equal((await storage.runCleaner()).length, 1)
    let controls = await controlBatches(storage, 'x')
    assert.deepEqual(
      controls.map((c) => [c.offset, c.horizon]),
      [
        [2, false],
        [5, false],
        [7, true],
        [10, false],
      ],
    )
    assert.equal(controls.find((c) => c.offset === 7)?.baseTimestamp, now + 60_000)
    now += 30_000
    await produce(storage, 'x', rounds(1))
    await storage.runCleaner()
    assert.ok(
      (await controlBatches(storage, 'x')).some((c) => c.offset === 7),
      'not before the horizon',
    )
    now += 31_000
    assert.equal((await storage.runCleaner()).length, 1, 'the marker horizon starts a pass by itself')
    controls = await controlBatches(storage, 'x')
    assert.deepEqual(
      controls.map((c) => c.offset),
      [2, 5, 10],
    )
    assert.deepEqual(await early(), ['0:k1=c1', '8:k2=plain', '9:k4=c4'])
    assertOffsetsGrow(await readAll(storage, 'x'))
    assert.deepEqual(await storage.offsets('x', 0), { logStartOffset: 0, highWatermark: 81, lastStableOffset: 81 })
  })

  it('removes an ABORT marker only once the aborted-transaction index forgot its transaction and the horizon passed', async () => {
    const url = await freshDatabase()
    let now = 1_000_000
    let storage = await open(url, { now: () => now })
    await storage.createTopic(topicMeta('ab', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
    await txn(storage, 'ab', 8, 0, [
      ['k1', 'a1'],
      ['k2', 'a2'],
    ])
    await marker(storage, 'ab', 8, 'abort')
    await txn(storage, 'ab', 8, 2, [['k3', 'c3']])
    await marker(storage, 'ab', 8, 'commit')
    await produce(storage, 'ab', rounds(3))
    const pass = async (): Promise<void> => {
      await produce(storage, 'ab', rounds(3))
      assert.equal((await storage.runCleaner()).length, 1)
    }
    const controls = async () => (await controlBatches(storage, 'ab')).map((c) => [c.offset, c.horizon])

    await pass()
    assert.deepEqual(await controls(), [
      [2, false],
      [4, false],
    ])
    await pass()
    assert.deepEqual(
      await controls(),
      [
        [2, false],
        [4, false],
      ],
      'with no aborted-transaction index to tell, the ABORT marker stays',
    )
    const told: string[] = []
    storage.onAbortedTxnsCleaned(async (topic, partition, txns) => {
      for (const t of txns) told.push(`${topic}-${partition}: ${t.producerId}@${t.markerOffset}`)
    })
    await pass()
    assert.deepEqual(told, ['ab-0: 8@2'])
    assert.deepEqual(await controls(), [
      [2, true],
      [4, false],
    ])
    now += 61_000
    assert.equal((await storage.runCleaner()).length, 1, 'the horizon starts a pass')
    assert.deepEqual(await controls(), [[4, false]], 'the marker is gone; the producer’s last batch stays')
    const data = (await readAll(storage, 'ab')).filter((r) => r.offset < 5)
    assert.deepEqual(
      data.map((r) => `${r.offset}:${r.key}=${r.value}`),
      ['3:k3=c3'],
    )
    await storage.close()
    storage = await open(url, { now: () => now })
    assert.deepEqual(await controls(), [[4, false]])
    assert.deepEqual(
      (await readAll(storage, 'ab')).filter((r) => r.offset < 5),
      data,
    )
  })

  it('never cleans from a transaction without a marker on', async () => {
    const url = await freshDatabase()
    const storage = await open(url)
    await storage.createTopic(topicMeta('o', 1, COMPACT))
    await produce(storage, 'o', rounds(3))
    await txn(storage, 'o', 9, 0, [
      ['key-1', 'open'],
      ['key-2', 'open'],
    ])
    await produce(storage, 'o', rounds(3))
    const before = await readAll(storage, 'o')
    assert.deepEqual(
      (await storage.runCleaner()).map((r) => r.cleanedUpTo),
      [30],
    )
    const after = await readAll(storage, 'o')
    assert.deepEqual(
      after.filter((r) => r.offset >= 30),
      before.filter((r) => r.offset >= 30),
      'nothing from the open transaction on changes',
    )
    assert.equal(after.filter((r) => r.offset < 30).length, 10)
    assert.deepEqual(await storage.runCleaner(), [], 'nothing more to do while the transaction is open')

    await marker(storage, 'o', 9, 'abort')
    await produce(storage, 'o', rounds(2))
    const beforeAbortPass = await readAll(storage, 'o')
    assert.equal((await storage.runCleaner()).length, 1)
    const cleaned = await readAll(storage, 'o')
    assert.deepEqual(
      cleaned.filter((r) => r.value === 'open'),
      [],
    )
    const keys = cleaned.map((r) => r.key)
    assert.equal(new Set(keys).size, keys.length, 'each key once')
    assert.deepEqual(latest(cleaned), latest(beforeAbortPass))
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

  it('runs on its timer and stops it on close', async () => {
    const url = await freshDatabase()
    const storage = await open(url, { cleanerBackoffMs: 20 })
    await storage.createTopic(topicMeta('auto', 1, COMPACT))
    await produce(storage, 'auto', rounds())
    const deadline = Date.now() + 5000
    while ((await readAll(storage, 'auto')).length > 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.equal((await readAll(storage, 'auto')).length, 10)
    await storage.close()
  })

  it('serves reads and appends while a large log is cleaned', async () => {
    const url = await freshDatabase()
    const storage = await open(url, { tailBytes: 64 << 10 })
    await storage.createTopic(topicMeta('big', 1, COMPACT))
    // 6000 single-record batches, from 20 producers at once (their order does not matter here).
    await Promise.all(
      Array.from({ length: 20 }, (_, p) =>
        produce(
          storage,
          'big',
          Array.from({ length: 300 }, (_, i): [string, string] => [`key-${(i * 20 + p) % 500}`, `value-${p}-${i}`]),
        ),
      ),
    )
    const expected = latest(await readAll(storage, 'big'))
    let appends = 0
    const cleaning = storage.runCleaner()
    let done = false
    cleaning.finally(() => {
      done = true
    })
    while (!done) {
      await produce(storage, 'big', [[`live-${appends}`, 'v']])
      const read = await storage.read('big', 0, 0, 4096, { minOneBatch: true })
      assert.ok(decodeBatchesSync(read.records).length > 0)
      appends++
    }
    const results = await cleaning
    assert.equal(results.length, 1)
    assert.ok(appends > 0, 'appends went on during the pass')
    const after = await readAll(storage, 'big')
    assertOffsetsGrow(after)
    const last = latest(after)
    for (const [k, v] of expected) assert.equal(last.get(k), v)
    for (let i = 0; i < appends; i++) assert.equal(last.get(`live-${i}`), 'v')
  })
})

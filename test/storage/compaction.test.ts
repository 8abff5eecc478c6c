/**
 * Log compaction in every engine that compacts (local, and postgres on an embedded PostgreSQL):
 * what stays, offsets, tombstones and their delete horizon, keyless records, transactions and
 * their markers, open transactions, the ratio and lags, the timer, and appends during a pass.
 * What only one engine does is in local-compaction.test.ts and postgres-compaction.test.ts.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { decodeBatchesSync, encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { Compression } from '../../src/protocol/records/compression.ts'
import { LocalStorage } from '../../src/storage/local/local-storage.ts'
import type { PostgresStorage } from '../../src/storage/postgres/postgres-storage.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import {
  assertOffsetsGrow,
  COMPACT,
  controlBatches,
  lastPerKey,
  latest,
  marker,
  produce,
  rawBatches,
  readAll,
  rounds,
  txn,
} from './compaction-helpers.ts'
import { appendInput, freshDirs, topicMeta } from './helpers.ts'

type CompactingStorage = LocalStorage | PostgresStorage

interface OpenOptions {
  now?: () => number
  cleanerBackoffMs?: number
  /** postgres: bytes of recent batches kept in memory. */
  tailBytes?: number
}

interface CompactingEngine {
  name: string
  skip?: string
  /**
   * Call inside the suite: `fresh` makes an empty place for the engine's data (a directory, a
   * database), `open` opens the engine there (again: a restart). Engines left open close after
   * the suite.
   */
  opener(): {
    fresh(): Promise<string>
    open(place: string, options?: OpenOptions): Promise<CompactingStorage>
  }
  /** The longest an append may wait on a pass (postgres: appends wait for a pass's write). */
  appendWaitLimitMs?: number
}

const engines: CompactingEngine[] = [
  {
    name: 'local',
    opener() {
      const opened: LocalStorage[] = []
      after(async () => {
        for (const storage of opened) await storage.close()
      })
      return {
        fresh: freshDirs('samsa-compaction-'),
        async open(dataDir, { now, cleanerBackoffMs = 0 } = {}) {
          const storage = await LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0, cleanerBackoffMs, now })
          opened.push(storage)
          return storage
        },
      }
    },
    // The cleaner swaps segments in a moment.
    appendWaitLimitMs: 500,
  },
  {
    name: 'postgres',
    skip: (await hasPostgres()) ? undefined : POSTGRES_MISSING,
    opener() {
      const { open } = postgresOpener({ retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 })
      return { fresh: freshDatabase, open }
    },
  },
]

/**
 * Where a pass that may not clean `offset` stops: the base of that offset's segment in the local
 * engine (a pass cleans whole segments, never the active one), the offset itself in postgres.
 */
function cleanLimit(storage: CompactingStorage, topic: string, offset: number): number {
  if (!(storage instanceof LocalStorage)) return offset
  return storage
    .segmentBaseOffsets(topic, 0)
    .filter((base) => base <= offset)
    .at(-1) as number
}

const highWatermark = async (storage: CompactingStorage, topic: string): Promise<number> =>
  (await storage.offsets(topic, 0)).highWatermark

for (const engine of engines) {
  describe(`log compaction: ${engine.name}`, { skip: engine.skip }, () => {
    const { fresh, open } = engine.opener()

    it('keeps the last record per key at its offset, across a restart', async () => {
      const place = await fresh()
      let storage = await open(place)
      assert.equal(storage.capabilities.compaction, true)
      await storage.createTopic(topicMeta('c', 1, COMPACT))
      await produce(storage, 'c', rounds())
      const before = await readAll(storage, 'c')
      const sizeBefore = await storage.partitionSize('c', 0)
      const limit = cleanLimit(storage, 'c', 100)
      assert.ok(limit >= 50, `most of the log is cleanable (up to ${limit})`)
      const results = await storage.runCleaner()
      const after = await readAll(storage, 'c')
      assert.deepEqual(
        results.map((r) => [r.topic, r.partition, r.cleanedUpTo, r.recordsRemoved]),
        [['c', 0, limit, before.length - after.length]],
      )
      assert.ok(before.length - after.length > 50)
      assertOffsetsGrow(after)
      assert.deepEqual(latest(after), latest(before))
      // Every kept record is an original record at its original offset.
      const byOffset = new Map(before.map((r) => [r.offset, r]))
      for (const r of after) assert.deepEqual(byOffset.get(r.offset), r)
      // Within the cleaned range each key appears once.
      assert.deepEqual(
        after.filter((r) => r.offset < limit),
        lastPerKey(before.filter((r) => r.offset < limit)),
      )
      assert.ok((await storage.partitionSize('c', 0)) < sizeBefore / 3)
      assert.deepEqual(await storage.offsets('c', 0), { logStartOffset: 0, highWatermark: 100, lastStableOffset: 100 })
      assert.deepEqual(await storage.runCleaner(), [], 'a second pass finds nothing new to do')
      await storage.close()

      storage = await open(place)
      assert.deepEqual(await readAll(storage, 'c'), after)
      assert.deepEqual(await storage.runCleaner(), [], 'the checkpoint survives a restart')
      // Appending after the clean continues at the high watermark.
      await produce(storage, 'c', [['key-0', 'after']])
      assert.deepEqual((await readAll(storage, 'c')).at(-1), { offset: 100, key: 'key-0', value: 'after' })
      await storage.close()
    })

    it('never touches a topic with cleanup.policy=delete', async () => {
      const storage = await open(await fresh())
      await storage.createTopic(topicMeta('del', 1, { ...COMPACT, 'cleanup.policy': 'delete' }))
      await produce(storage, 'del', rounds(3))
      assert.deepEqual(await storage.runCleaner(), [])
      assert.equal((await readAll(storage, 'del')).length, 30)
      await storage.close()
    })

    it('keeps tombstones until delete.retention.ms after the pass that first kept them, across a restart', async () => {
      const place = await fresh()
      let now = 1_000_000
      let storage = await open(place, { now: () => now })
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
      await produce(storage, 't', rounds(2))
      assert.equal((await storage.runCleaner()).length, 1)
      assert.equal((await readAll(storage, 't')).filter((r) => r.key === 'a').length, 1, 'not yet')
      const tombstoneBatch = (await rawBatches(storage, 't')).find((b) => Number(b.baseOffset) === 2)
      assert.deepEqual(
        [tombstoneBatch?.hasDeleteHorizon, Number(tombstoneBatch?.baseTimestamp)],
        [true, 1_060_000],
        'the horizon is in the batch (KIP-534)',
      )
      await storage.close()
      storage = await open(place, { now: () => now })
      assert.deepEqual(await storage.runCleaner(), [], 'not due before the horizon')
      now += 31_000
      assert.equal(
        (await storage.runCleaner()).length,
        1,
        'an expired delete horizon starts a pass, after a restart too',
      )
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
      await storage.close()
    })

    it('drops records without a key, keeps timestamps, compression and producer fields', async () => {
      const storage = await open(await fresh())
      await storage.createTopic(topicMeta('z', 1, COMPACT))
      await produce(storage, 'z', [[null, 'no key']], { timestamp: 5000 })
      // Two gzip batches of 10 keys from producer 42; the second loses keys 0-4 to later records.
      for (let b = 0; b < 2; b++) {
        const batch = encodeBatchSync({
          records: Array.from({ length: 10 }, (_, k) => ({
            key: Buffer.from(`key-${k}`),
            value: Buffer.from(`gz-${b}-${k}`),
            timestamp: 7000 + k,
          })),
          compression: Compression.GZIP,
          producerId: 42,
          producerEpoch: 3,
          baseSequence: b * 10,
        })
        await storage.append('z', 0, appendInput(batch), { durable: false, leaderEpoch: 0 })
      }
      await produce(storage, 'z', rounds(3, 5))
      await produce(
        storage,
        'z',
        rounds(3, 5).map(([k, v]) => [`other-${k}`, v]),
      )
      await storage.runCleaner()
      const res = await storage.read('z', 0, 0, 1 << 20, { minOneBatch: true })
      const batches = decodeBatchesSync(res.records)
      assert.ok(!batches.some((b) => b.records.some((r) => r.key === null)))
      const gz = batches.filter((b) => b.compression === Compression.GZIP)
      assert.equal(gz.length, 1, 'the first gzip batch is gone, the second re-encoded')
      const b = gz[0] as (typeof gz)[number]
      assert.equal(b.producerId, 42n)
      assert.equal(b.producerEpoch, 3)
      assert.equal(b.baseSequence, 10)
      assert.equal(Number(b.baseOffset), 11)
      assert.equal(b.lastOffsetDelta, 9, 'the batch keeps its offset range')
      assert.deepEqual(
        b.records.map((r) => [
          r.offsetDelta,
          r.key?.toString(),
          r.value?.toString(),
          Number(b.baseTimestamp) + r.timestampDelta,
        ]),
        [5, 6, 7, 8, 9].map((k) => [k, `key-${k}`, `gz-1-${k}`, 7000 + k]),
      )
      assert.equal(Number(b.maxTimestamp), 7009)
      await storage.close()
    })

    it('removes aborted transactions, deduplicates committed ones, keeps markers until their data is gone and the horizon passed', async () => {
      let now = 1_000_000
      const storage = await open(await fresh(), { now: () => now })
      await storage.createTopic(topicMeta('x', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
      // Producer 7: A = {k1, k2} committed (marker at 2); producer 8: B = {k1, k3} aborted (marker
      // at 5); producer 7: C = {k2} committed (7), superseded by a plain k2 (8); D = {k4} committed (10).
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
      const early = async (): Promise<string[]> =>
        (await readAll(storage, 'x')).filter((r) => r.offset < 11).map((r) => `${r.offset}:${r.key}=${r.value}`)
      assert.deepEqual(await early(), ['0:k1=c1', '1:k2=c2', '3:k1=a1', '4:k3=a3', '6:k2=c2b', '8:k2=plain', '9:k4=c4'])
      assert.ok(cleanLimit(storage, 'x', await highWatermark(storage, 'x')) > 11, 'the transactions are cleanable')

      assert.equal((await storage.runCleaner()).length, 1)
      assert.deepEqual(
        await early(),
        ['0:k1=c1', '8:k2=plain', '9:k4=c4'],
        'aborted records are gone (and did not supersede k1=c1), committed ones deduplicated by key',
      )
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

      // Second pass (new dirty data): C's marker has no data left and gets its delete horizon.
      await produce(storage, 'x', rounds(3))
      assert.equal((await storage.runCleaner()).length, 1)
      let controls = await controlBatches(storage, 'x')
      assert.deepEqual(
        controls.map((c) => [c.offset, c.horizon]),
        [
          [2, false], // A still has k1=c1
          [5, false], // producer 8's last batch
          [7, true],
          [10, false], // producer 7's last batch
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
      await storage.close()
    })

    it('removes an ABORT marker once its data is gone, the index forgot the transaction and the horizon passed', async () => {
      const place = await fresh()
      let now = 1_000_000
      let storage = await open(place, { now: () => now })
      await storage.createTopic(topicMeta('ab', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
      // Producer 8: {k1, k2} aborted (marker at 2), then {k3} committed (marker at 4, its last batch).
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
      assert.deepEqual(told, ['ab-0: 8@2'], 'the index hears of the transaction whose data is gone')
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
      storage = await open(place, { now: () => now })
      assert.deepEqual(await controls(), [[4, false]])
      assert.deepEqual(
        (await readAll(storage, 'ab')).filter((r) => r.offset < 5),
        data,
      )
      await storage.close()
    })

    it('never cleans from a transaction without a marker on (the last stable offset)', async () => {
      const storage = await open(await fresh())
      await storage.createTopic(topicMeta('o', 1, COMPACT))
      await produce(storage, 'o', rounds(3))
      const openAt = await highWatermark(storage, 'o')
      await txn(storage, 'o', 9, 0, [
        ['key-1', 'open'],
        ['key-2', 'open'],
      ])
      await produce(storage, 'o', rounds(3))
      const before = await readAll(storage, 'o')
      const limit = cleanLimit(storage, 'o', openAt)
      assert.ok(limit > 0 && cleanLimit(storage, 'o', await highWatermark(storage, 'o')) > limit)
      assert.deepEqual(
        (await storage.runCleaner()).map((r) => r.cleanedUpTo),
        [limit],
      )
      const after = await readAll(storage, 'o')
      assert.deepEqual(
        after.filter((r) => r.offset >= limit),
        before.filter((r) => r.offset >= limit),
        'nothing from the open transaction on changes',
      )
      assert.deepEqual(
        after.filter((r) => r.offset < limit),
        lastPerKey(before.filter((r) => r.offset < limit)),
      )
      assert.deepEqual(await storage.runCleaner(), [], 'nothing more to do while the transaction is open')

      // Aborted: its records go in the next pass, and the log behind it is cleaned.
      await marker(storage, 'o', 9, 'abort')
      await produce(storage, 'o', rounds(2))
      const beforeAbortPass = await readAll(storage, 'o')
      const cleanable = cleanLimit(storage, 'o', await highWatermark(storage, 'o'))
      assert.equal((await storage.runCleaner()).length, 1)
      const cleaned = await readAll(storage, 'o')
      assert.deepEqual(
        cleaned.filter((r) => r.value === 'open'),
        [],
      )
      const keys = cleaned.filter((r) => r.offset < cleanable).map((r) => r.key)
      assert.equal(new Set(keys).size, keys.length, 'each key once in the cleaned range')
      assert.deepEqual(latest(cleaned), latest(beforeAbortPass))
      await storage.close()
    })

    it('honours min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms', async () => {
      let now = 10_000
      const storage = await open(await fresh(), { now: () => now })
      await storage.createTopic(topicMeta('r', 1, { ...COMPACT, 'min.cleanable.dirty.ratio': '0.5' }))
      await produce(
        storage,
        'r',
        Array.from({ length: 60 }, (_, i): [string, string] => [`unique-${i}`, 'v']),
        { timestamp: 1000 },
      )
      assert.equal((await storage.runCleaner()).length, 1)
      // A little new dirty data: below the ratio, nothing happens.
      await produce(storage, 'r', rounds(2), { timestamp: 2000 })
      assert.deepEqual(await storage.runCleaner(), [], 'below the ratio')
      // max.compaction.lag.ms makes old dirty data due regardless of the ratio.
      await storage.setTopicConfigs('r', {
        ...COMPACT,
        'min.cleanable.dirty.ratio': '0.5',
        'max.compaction.lag.ms': '5000',
      })
      now = 20_000
      const dueByLag = cleanLimit(storage, 'r', await highWatermark(storage, 'r'))
      const before = await readAll(storage, 'r')
      const results = await storage.runCleaner()
      const removed = before.length - (await readAll(storage, 'r')).length
      assert.ok(removed > 0)
      assert.deepEqual(
        results.map((r) => [r.topic, r.cleanedUpTo, r.recordsRemoved]),
        [['r', dueByLag, removed]],
        'old dirty data is due by max.compaction.lag.ms',
      )

      // min.compaction.lag.ms keeps young records out of reach.
      await storage.createTopic(topicMeta('m', 1, { ...COMPACT, 'min.compaction.lag.ms': '60000' }))
      await produce(storage, 'm', rounds(4), { timestamp: now - 1000 })
      assert.deepEqual(await storage.runCleaner(), [])
      now += 120_000
      assert.deepEqual(
        (await storage.runCleaner()).map((r) => r.topic),
        ['m'],
      )
      await storage.close()
    })

    it('runs on its timer and stops it on close', async () => {
      const storage = await open(await fresh(), { cleanerBackoffMs: 20 })
      await storage.createTopic(topicMeta('auto', 1, COMPACT))
      await produce(storage, 'auto', rounds())
      const limit = cleanLimit(storage, 'auto', 100)
      await waitUntil('a pass of the timer', async () => {
        const below = (await readAll(storage, 'auto')).filter((r) => r.offset < limit)
        return below.length === new Set(below.map((r) => r.key)).size
      })
      await storage.close()
    })

    it('serves reads and appends while a large log is cleaned', async () => {
      const storage = await open(await fresh(), { tailBytes: 64 << 10 })
      await storage.createTopic(topicMeta('big', 1, { ...COMPACT, 'segment.bytes': '65536' }))
      // 6000 single-record batches, from 20 producers at once (their order does not matter here).
      await Promise.all(
        Array.from({ length: 20 }, (_, p) =>
          produce(
            storage,
            'big',
            Array.from({ length: 300 }, (_, i): [string, string] => [
              `key-${(i * 20 + p) % 500}`,
              `value-${p}-${i}-${'x'.repeat(60)}`,
            ]),
          ),
        ),
      )
      const expected = latest(await readAll(storage, 'big'))
      let appends = 0
      let longestWait = 0
      const cleaning = storage.runCleaner()
      let done = false
      cleaning.finally(() => {
        done = true
      })
      let last = performance.now()
      while (!done) {
        await produce(storage, 'big', [[`live-${appends}`, 'v']])
        const read = await storage.read('big', 0, 0, 4096, { minOneBatch: true })
        assert.ok(decodeBatchesSync(read.records).length > 0)
        appends++
        const t = performance.now()
        longestWait = Math.max(longestWait, t - last)
        last = t
      }
      const results = await cleaning
      assert.equal(results.length, 1)
      assert.ok(appends > 0, 'appends went on during the pass')
      const limit = engine.appendWaitLimitMs
      if (limit !== undefined) assert.ok(longestWait < limit, `an append waited ${longestWait} ms`)
      const after = await readAll(storage, 'big')
      assertOffsetsGrow(after)
      const lastValues = latest(after)
      for (const [k, v] of expected) assert.equal(lastValues.get(k), v)
      for (let i = 0; i < appends; i++) assert.equal(lastValues.get(`live-${i}`), 'v')
      await storage.close()
    })
  })
}

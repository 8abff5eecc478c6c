/** Log compaction in the local engine: what stays, offsets, tombstones, lags, ratio, crash safety. */
import assert from 'node:assert/strict'
import { readdir, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { decodeBatchesSync, encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { Compression } from '../../src/protocol/records/compression.ts'
import { systemError } from '../../src/storage/local/faults.ts'
import { LocalStorage, type LocalStorageOptions } from '../../src/storage/local/local-storage.ts'
import {
  assertOffsetsGrow,
  COMPACT,
  controlBatches,
  latest,
  marker,
  produce,
  type Rec,
  rawBatches,
  readAll,
  rounds,
  txn,
} from './compaction-helpers.ts'
import { appendInput, freshDirs, topicMeta } from './helpers.ts'

const freshDir = freshDirs('samsa-compaction-')

function open(dataDir: string, extra: Partial<LocalStorageOptions> = {}): Promise<LocalStorage> {
  return LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0, ...extra })
}

describe('log compaction', () => {
  it('keeps the latest record per key in closed segments, with their offsets', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('c', 1, COMPACT))
    await produce(storage, 'c', rounds())
    const before = await readAll(storage, 'c')
    const sizeBefore = await storage.partitionSize('c', 0)
    assert.ok(storage.segmentBaseOffsets('c', 0).length > 3)
    const results = await storage.runCleaner()
    assert.equal(results.length, 1)
    assert.ok((results[0]?.recordsRemoved ?? 0) > 50)
    const after = await readAll(storage, 'c')
    assertOffsetsGrow(after)
    assert.deepEqual(latest(after), latest(before))
    // Every kept record is an original record at its original offset.
    const byOffset = new Map(before.map((r) => [r.offset, r]))
    for (const r of after) assert.deepEqual(byOffset.get(r.offset), r)
    // Within the cleaned range each key appears once.
    const activeBase = storage.segmentBaseOffsets('c', 0).at(-1) as number
    const cleanedKeys = after.filter((r) => r.offset < activeBase).map((r) => r.key)
    assert.equal(new Set(cleanedKeys).size, cleanedKeys.length)
    assert.ok((await storage.partitionSize('c', 0)) < sizeBefore / 3)
    assert.deepEqual(await storage.offsets('c', 0), { logStartOffset: 0, highWatermark: 100, lastStableOffset: 100 })
    // A second pass finds nothing new to do.
    assert.deepEqual(await storage.runCleaner(), [])
    await storage.close()

    storage = await open(dir)
    assert.deepEqual(await readAll(storage, 'c'), after)
    assert.deepEqual(await storage.runCleaner(), [], 'the checkpoint survives a restart')
    // Appending after the clean continues at the high watermark.
    await produce(storage, 'c', [['key-0', 'after']])
    assert.deepEqual((await readAll(storage, 'c')).at(-1), { offset: 100, key: 'key-0', value: 'after' })
    await storage.close()
  })

  it('never touches the active segment, nor a topic with cleanup.policy=delete', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(topicMeta('one', 1, { ...COMPACT, 'segment.bytes': '1000000' }))
    await storage.createTopic(topicMeta('del', 1, { ...COMPACT, 'cleanup.policy': 'delete' }))
    await produce(storage, 'one', rounds(3))
    await produce(storage, 'del', rounds(3))
    assert.deepEqual(await storage.runCleaner(), [])
    assert.equal((await readAll(storage, 'one')).length, 30)
    assert.equal((await readAll(storage, 'del')).length, 30)
    await storage.close()
  })

  it('keeps tombstones until delete.retention.ms after the pass that first kept them, across a restart', async () => {
    const dir = await freshDir()
    let now = 1_000_000
    let storage = await open(dir, { now: () => now })
    await storage.createTopic(topicMeta('t', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
    await produce(storage, 't', [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', null],
      ['c', 'c1'],
    ])
    await produce(storage, 't', rounds(2))
    await storage.runCleaner()
    let recs = await readAll(storage, 't')
    assert.deepEqual(
      recs.filter((r) => r.key === 'a'),
      [{ offset: 2, key: 'a', value: null }],
      'the tombstone stays, the older value goes',
    )
    now += 30_000
    await produce(storage, 't', [['z', 'z1']])
    await storage.runCleaner()
    assert.equal((await readAll(storage, 't')).filter((r) => r.key === 'a').length, 1, 'not yet')
    const tombstoneBatch = (await rawBatches(storage, 't')).find((b) => Number(b.baseOffset) === 2)
    assert.deepEqual(
      [tombstoneBatch?.hasDeleteHorizon, Number(tombstoneBatch?.baseTimestamp)],
      [true, 1_060_000],
      'the horizon is in the batch (KIP-534)',
    )
    await storage.close()
    storage = await open(dir, { now: () => now })
    now += 31_000
    const results = await storage.runCleaner()
    assert.equal(results.length, 1, 'an expired delete horizon starts a pass by itself, after a restart too')
    recs = await readAll(storage, 't')
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

  it('keeps the segments’ modification time, by which retention ages records without timestamps', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(
      topicMeta('m', 1, { ...COMPACT, 'cleanup.policy': 'compact,delete', 'retention.ms': '3600000' }),
    )
    await produce(storage, 'm', rounds(3), { timestamp: -1 })
    const partitionDir = join(dir, 'm-0')
    const twoHoursAgo = Date.now() - 2 * 3600_000
    const logs = (await readdir(partitionDir)).filter((n) => n.endsWith('.log')).sort()
    for (const name of logs.slice(0, -1)) await utimes(join(partitionDir, name), twoHoursAgo / 1000, twoHoursAgo / 1000)
    assert.equal((await storage.runCleaner()).length, 1)
    const closed = storage.segmentBaseOffsets('m', 0).slice(0, -1)
    for (const base of closed) {
      const { mtimeMs } = await stat(join(partitionDir, `${String(base).padStart(20, '0')}.log`))
      assert.ok(
        Math.abs(mtimeMs - twoHoursAgo) < 1000,
        `segment ${base} modified at ${new Date(mtimeMs).toISOString()}`,
      )
    }
    await storage.runRetention()
    assert.equal(storage.segmentBaseOffsets('m', 0).length, 1, 'only the active segment is young')
    await storage.close()
  })

  it('drops records without a key, keeps timestamps, compression and producer fields', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
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
    const dir = await freshDir()
    let now = 1_000_000
    const storage = await open(dir, { now: () => now })
    await storage.createTopic(topicMeta('x', 1, { ...COMPACT, 'delete.retention.ms': '60000' }))
    // Producer 7: A = {k1, k2} committed (marker at 2); producer 8: B = {k1, k3} aborted (marker
    // at 5); producer 7: C = {k2} committed (7), superseded by a plain k2 (8); D = {k4} committed (10).
    let seq7 = 0
    await txn(storage, 'x', 7, seq7, [
      ['k1', 'c1'],
      ['k2', 'c2'],
    ])
    seq7 += 2
    await marker(storage, 'x', 7, 'commit')
    await txn(storage, 'x', 8, 0, [
      ['k1', 'a1'],
      ['k3', 'a3'],
    ])
    await marker(storage, 'x', 8, 'abort')
    await txn(storage, 'x', 7, seq7++, [['k2', 'c2b']])
    await marker(storage, 'x', 7, 'commit')
    await produce(storage, 'x', [['k2', 'plain']])
    await txn(storage, 'x', 7, seq7++, [['k4', 'c4']])
    await marker(storage, 'x', 7, 'commit')
    await produce(storage, 'x', rounds(3))
    const before = await readAll(storage, 'x')
    assert.deepEqual(
      before.slice(0, 8).map((r) => `${r.offset}:${r.key}=${r.value}`),
      ['0:k1=c1', '1:k2=c2', '3:k1=a1', '4:k3=a3', '6:k2=c2b', '8:k2=plain', '9:k4=c4', '11:key-0=value-0-0'],
    )
    const activeBase = () => storage.segmentBaseOffsets('x', 0).at(-1) as number
    assert.ok(activeBase() > 11, 'the transactions sit in closed segments')

    assert.equal((await storage.runCleaner()).length, 1)
    let recs = await readAll(storage, 'x')
    assert.deepEqual(
      recs.filter((r) => r.offset < 11).map((r) => `${r.offset}:${r.key}=${r.value}`),
      ['0:k1=c1', '8:k2=plain', '9:k4=c4'],
      'aborted records are gone (and did not supersede k1=c1), committed ones deduplicated by key',
    )
    assert.deepEqual(
      (await controlBatches(storage, 'x')).map((c) => c.offset),
      [2, 5, 7, 10],
      'every marker stays in the pass that removes its data',
    )
    assert.deepEqual(
      (await controlBatches(storage, 'x')).map((c) => c.horizon),
      [false, false, false, false],
    )
    // Producer 8's last batch stays, empty, for its sequence; the marker of C had data at the pass's start.
    const empty = (await rawBatches(storage, 'x')).find((b) => Number(b.producerId) === 8 && !b.isControl)
    assert.deepEqual(
      [Number(empty?.baseOffset), empty?.lastOffsetDelta, empty?.records.length, empty?.isTransactional],
      [3, 1, 0, true],
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
    const results = await storage.runCleaner()
    assert.equal(results.length, 1, 'the marker horizon starts a pass by itself')
    controls = await controlBatches(storage, 'x')
    assert.deepEqual(
      controls.map((c) => c.offset),
      [2, 5, 10],
    )
    recs = await readAll(storage, 'x')
    assertOffsetsGrow(recs)
    assert.deepEqual(
      recs.filter((r) => r.offset < 11).map((r) => `${r.offset}:${r.key}=${r.value}`),
      ['0:k1=c1', '8:k2=plain', '9:k4=c4'],
    )
    assert.deepEqual(await storage.offsets('x', 0), {
      logStartOffset: 0,
      highWatermark: 81,
      lastStableOffset: 81,
    })
    await storage.close()
  })

  it('removes an ABORT marker once its data is gone, the index forgot the transaction and the horizon passed', async () => {
    const dir = await freshDir()
    let now = 1_000_000
    let storage = await open(dir, { now: () => now })
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
    storage = await open(dir, { now: () => now })
    assert.deepEqual(await controls(), [[4, false]])
    assert.deepEqual(
      (await readAll(storage, 'ab')).filter((r) => r.offset < 5),
      data,
    )
    await storage.close()
  })

  it('never cleans from a transaction without a marker on (the last stable offset)', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(topicMeta('o', 1, COMPACT))
    await produce(storage, 'o', rounds(3))
    const openAt = (await storage.offsets('o', 0)).highWatermark
    await txn(storage, 'o', 9, 0, [
      ['key-1', 'open'],
      ['key-2', 'open'],
    ])
    await produce(storage, 'o', rounds(3))
    const before = await readAll(storage, 'o')
    const openSegment = storage
      .segmentBaseOffsets('o', 0)
      .filter((b) => b <= openAt)
      .at(-1) as number
    assert.ok(openSegment > 0 && storage.segmentBaseOffsets('o', 0).at(-1) !== openSegment)
    assert.equal((await storage.runCleaner()).length, 1)
    const after = await readAll(storage, 'o')
    assert.deepEqual(
      after.filter((r) => r.offset >= openSegment),
      before.filter((r) => r.offset >= openSegment),
      'nothing from the open transaction’s segment on changes',
    )
    assert.ok(after.filter((r) => r.offset < openSegment).length < before.filter((r) => r.offset < openSegment).length)
    assert.deepEqual(await storage.runCleaner(), [], 'nothing more to do while the transaction is open')

    // Aborted: its records go in the next pass, and the log behind it is cleaned.
    await marker(storage, 'o', 9, 'abort')
    await produce(storage, 'o', rounds(2))
    const beforeAbortPass = await readAll(storage, 'o')
    assert.equal((await storage.runCleaner()).length, 1)
    const cleaned = await readAll(storage, 'o')
    assert.deepEqual(
      cleaned.filter((r) => r.value === 'open'),
      [],
    )
    const activeBase = storage.segmentBaseOffsets('o', 0).at(-1) as number
    const keys = cleaned.filter((r) => r.offset < activeBase).map((r) => r.key)
    assert.equal(new Set(keys).size, keys.length, 'each key once in the cleaned range')
    assert.deepEqual(latest(cleaned), latest(beforeAbortPass))
    await storage.close()
  })

  it('honours min.cleanable.dirty.ratio, min.compaction.lag.ms and max.compaction.lag.ms', async () => {
    const dir = await freshDir()
    let now = 10_000
    const storage = await open(dir, { now: () => now })
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
    assert.deepEqual(await storage.runCleaner(), [])
    // max.compaction.lag.ms makes old dirty data due regardless of the ratio.
    await storage.setTopicConfigs('r', {
      ...COMPACT,
      'min.cleanable.dirty.ratio': '0.5',
      'max.compaction.lag.ms': '5000',
    })
    now = 20_000
    assert.equal((await storage.runCleaner()).length, 1)

    // min.compaction.lag.ms keeps young segments out of reach.
    await storage.createTopic(topicMeta('m', 1, { ...COMPACT, 'min.compaction.lag.ms': '60000' }))
    await produce(storage, 'm', rounds(4), { timestamp: now - 1000 })
    assert.deepEqual(await storage.runCleaner(), [])
    now += 120_000
    const results = await storage.runCleaner()
    assert.deepEqual(
      results.map((r) => r.topic),
      ['m'],
    )
    await storage.close()
  })

  it('runs on its timer and stops it on close', async () => {
    const dir = await freshDir()
    const storage = await open(dir, { cleanerBackoffMs: 20 })
    await storage.createTopic(topicMeta('auto', 1, COMPACT))
    await produce(storage, 'auto', rounds())
    const deadline = Date.now() + 5000
    while ((await readAll(storage, 'auto')).length > 40 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    assert.ok((await readAll(storage, 'auto')).length <= 40)
    await storage.close()
  })

  it('serves reads and appends while a large log is cleaned', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(topicMeta('big', 1, { ...COMPACT, 'segment.bytes': '65536' }))
    const entries: [string, string][] = []
    for (let i = 0; i < 6000; i++) entries.push([`key-${i % 500}`, `value-${i}-${'x'.repeat(60)}`])
    await produce(storage, 'big', entries)
    const expected = latest(await readAll(storage, 'big'))
    let appends = 0
    let longestGap = 0
    const cleaning = storage.runCleaner()
    let done = false
    cleaning.finally(() => (done = true))
    let last = performance.now()
    while (!done) {
      await produce(storage, 'big', [[`live-${appends}`, 'v']])
      await storage.read('big', 0, 0, 4096, { minOneBatch: true })
      appends++
      const t = performance.now()
      longestGap = Math.max(longestGap, t - last)
      last = t
    }
    const results = await cleaning
    assert.equal(results.length, 1)
    assert.ok(appends > 0, 'appends went on during the pass')
    assert.ok(longestGap < 500, `an append waited ${longestGap} ms`)
    const after = latest(await readAll(storage, 'big'))
    for (const [k, v] of expected) assert.equal(after.get(k), v)
    await storage.close()
  })
})

describe('log compaction crash safety', () => {
  /** Fails the n-th rename of the cleaner's swap, abandons the engine as a crash would, and reopens. */
  async function crashAtRename(n: number): Promise<{ before: Rec[]; after: Rec[]; files: string[] }> {
    const dir = await freshDir()
    let renames = 0
    const crashed = await open(dir, {
      faults: {
        beforeRename: () => {
          if (renames++ === n) throw systemError('EIO')
        },
      },
    })
    await crashed.createTopic(topicMeta('s', 1, COMPACT))
    await produce(crashed, 's', rounds())
    const before = await readAll(crashed, 's')
    await crashed.runCleaner()
    // No close: the files stay as the failed step left them (the engine's handles leak; fine in a test).
    await crashed.abandon()
    const storage = await open(dir)
    const after = await readAll(storage, 's')
    const files = await readdir(join(dir, 's-0'))
    await storage.runCleaner()
    const again = await readAll(storage, 's')
    assert.deepEqual(latest(again), latest(before))
    await storage.close()
    return { before, after, files }
  }

  for (const step of [0, 1, 2, 3, 99]) {
    it(`leaves a correct log when the swap fails at rename ${step}`, async () => {
      const { before, after, files } = await crashAtRename(step)
      assert.deepEqual(latest(after), latest(before))
      assertOffsetsGrow(after)
      const byOffset = new Map(before.map((r) => [r.offset, r]))
      for (const r of after) assert.deepEqual(byOffset.get(r.offset), r)
      assert.ok(!files.some((f) => f.endsWith('.cleaned') || f.endsWith('.swap')), files.join(' '))
      assert.deepEqual(after.at(-1)?.offset, 99)
    })
  }
})

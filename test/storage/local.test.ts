/** The local engine's own guarantees: restart, crash recovery, indexes, segments, retention, group commit. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFile, readdir, readFile, stat, truncate, unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { validateBatches } from '../../src/protocol/records/batch-validate.ts'
import { RecordsError } from '../../src/protocol/records/errors.ts'
import { CLEAN_SHUTDOWN_FILE } from '../../src/storage/local/file-names.ts'
import { LocalStorage, type LocalStorageOptions } from '../../src/storage/local/local-storage.ts'
import { JOURNAL_FILE } from '../../src/storage/local/metadata-store.ts'
import { appendInput, batchRanges, freshDirs, makeBatch, topicMeta, withOffset } from './helpers.ts'

const ALL = { minOneBatch: true }
const freshDir = freshDirs()

function open(dataDir: string, extra: Partial<LocalStorageOptions> = {}): Promise<LocalStorage> {
  return LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0, ...extra })
}

async function logFiles(dir: string, suffix = '.log'): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(suffix)).sort()
}

/** Appends `count` single-record batches with timestamps start, start+step, ...; returns their bytes. */
async function fill(storage: LocalStorage, topic: string, count: number, start = 1000, step = 1): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const batch = makeBatch([`value-${i}-${'p'.repeat(100)}`], { timestamps: [start + i * step] })
    out.push(withOffset(batch, i))
    await storage.append(topic, 0, appendInput(batch), { durable: false, leaderEpoch: 0 })
  }
  return out
}

describe('local storage', () => {
  it('reads everything back after a restart', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('keep', 2, { 'segment.bytes': '1000' }))
    const batches = await fill(storage, 'keep', 20)
    await storage.deleteRecordsBefore('keep', 0, 3)
    await storage.kv.put('groups', new Map([['g', Buffer.from('state')]]))
    const topics = await storage.listTopics()
    await storage.close()

    storage = await open(dir)
    assert.deepEqual(await storage.listTopics(), topics)
    assert.deepEqual(await storage.offsets('keep', 0), { logStartOffset: 3, highWatermark: 20, lastStableOffset: 20 })
    assert.deepEqual(await storage.kv.get('groups', 'g'), Buffer.from('state'))
    const read: Buffer[] = []
    for (let offset = 3; offset < 20; ) {
      const r = await storage.read('keep', 0, offset, 1 << 20, ALL)
      read.push(r.records)
      offset = (batchRanges(r.records).at(-1)?.[1] ?? offset) + 1
    }
    assert.deepEqual(Buffer.concat(read), Buffer.concat(batches.slice(3)))
    assert.equal(
      (await storage.append('keep', 0, appendInput(makeBatch(['n'])), { durable: true, leaderEpoch: 0 })).baseOffset,
      20,
    )
    await storage.close()
  })

  it('cuts a torn tail at the last whole batch and continues at the right offset', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('torn'))
    const batches = await fill(storage, 'torn', 5)
    await storage.close()
    const partDir = join(dir, 'torn-0')
    const segment = join(partDir, (await logFiles(partDir))[0] as string)
    await truncate(segment, (await stat(segment)).size - 10)

    storage = await open(dir)
    assert.equal((await storage.offsets('torn', 0)).highWatermark, 4)
    const next = makeBatch(['after'])
    assert.equal((await storage.append('torn', 0, appendInput(next), { durable: true, leaderEpoch: 0 })).baseOffset, 4)
    await storage.close()

    // Garbage after the last batch (a half-written header, a batch with a bad CRC) is cut too.
    const corrupt = withOffset(next, 5)
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1)
    await appendFile(segment, Buffer.concat([corrupt, Buffer.from([0, 0, 0, 0, 0, 0, 0, 6, 0, 0])]))
    storage = await open(dir)
    assert.equal((await storage.offsets('torn', 0)).highWatermark, 5)
    const all = await storage.read('torn', 0, 0, 1 << 20, ALL)
    assert.deepEqual(all.records, Buffer.concat([...batches.slice(0, 4), withOffset(next, 4)]))
    assert.equal((await stat(segment)).size, all.records.length)
    await storage.close()
  })

  it('after a clean stop trusts the last segment’s indexes (no CRC scan), after a crash does not', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('clean', 1, { 'index.interval.bytes': '300' }))
    const batches = await fill(storage, 'clean', 10, 5000, 7)
    await storage.close()
    const marker = join(dir, CLEAN_SHUTDOWN_FILE)
    assert.ok((await stat(marker)).isFile(), 'a clean stop leaves the mark')
    // A payload byte of the last batch flipped on disk: only a CRC scan would notice.
    const partDir = join(dir, 'clean-0')
    const segment = join(partDir, (await logFiles(partDir))[0] as string)
    const bytes = await readFile(segment)
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff
    await writeFile(segment, bytes)

    const logged: { obj: object; msg?: string }[] = []
    const record = (obj: object, msg?: string) => logged.push({ obj, msg })
    const logger = { info: record, warn: record, error: record }
    storage = await open(dir, { logger })
    assert.ok(logged.some((l) => l.msg === 'loaded the logs after a clean shutdown'))
    await assert.rejects(stat(marker), { code: 'ENOENT' }, 'the mark is gone once opened')
    assert.equal((await storage.offsets('clean', 0)).highWatermark, 10)
    assert.deepEqual(await storage.maxTimestamp('clean', 0), { offset: 9, timestamp: 5063 })
    assert.equal((await storage.read('clean', 0, 0, 1 << 20, ALL)).records.length, bytes.length)
    assert.equal(
      (await storage.append('clean', 0, appendInput(makeBatch(['next'])), { durable: true, leaderEpoch: 0 }))
        .baseOffset,
      10,
    )
    const appended = (await stat(segment)).size
    await storage.close()
    // Stopped cleanly again: the new batch is found from the indexes.
    storage = await open(dir)
    assert.equal((await storage.offsets('clean', 0)).highWatermark, 11)
    await storage.close()

    // Without the mark (a crash), the whole last segment is checked and the bad batch cut.
    await unlink(marker)
    logged.length = 0
    storage = await open(dir, { logger })
    assert.ok(logged.some((l) => l.msg?.startsWith('recovered the logs after an unclean shutdown')))
    assert.ok(logged.some((l) => l.msg === 'truncating the invalid tail of a log segment'))
    assert.equal((await storage.offsets('clean', 0)).highWatermark, 9)
    assert.ok((await stat(segment)).size < appended)
    assert.deepEqual((await storage.read('clean', 0, 0, 1 << 20, ALL)).records, Buffer.concat(batches.slice(0, 9)))
    await storage.close()
  })

  it('falls back to a full scan after a clean stop when the last segment no longer fits its indexes', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('shrunk', 1, { 'index.interval.bytes': '0' }))
    const batches = await fill(storage, 'shrunk', 6)
    await storage.close()
    const partDir = join(dir, 'shrunk-0')
    const segment = join(partDir, (await logFiles(partDir))[0] as string)
    await truncate(segment, (await stat(segment)).size - 10)
    storage = await open(dir)
    assert.equal((await storage.offsets('shrunk', 0)).highWatermark, 5)
    assert.deepEqual((await storage.read('shrunk', 0, 0, 1 << 20, ALL)).records, Buffer.concat(batches.slice(0, 5)))
    await storage.close()
  })

  it('rolls segments by size and by time, and rebuilds missing or corrupt indexes', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('roll', 1, { 'segment.bytes': '1000', 'index.interval.bytes': '0' }))
    await fill(storage, 'roll', 40, 1000, 10)
    const bases = storage.segmentBaseOffsets('roll', 0)
    assert.ok(bases.length >= 6, `expected several segments, got ${bases}`)
    assert.equal(bases[0], 0)
    await storage.close()
    const partDir = join(dir, 'roll-0')
    assert.equal((await logFiles(partDir)).length, bases.length)
    assert.equal((await logFiles(partDir))[1], `${String(bases[1]).padStart(20, '0')}.log`)
    const originals = new Map<string, Buffer>()
    for (const name of await readdir(partDir)) originals.set(name, await readFile(join(partDir, name)))

    const indexes = await logFiles(partDir, '.index')
    const timeIndexes = await logFiles(partDir, '.timeindex')
    await writeFile(join(partDir, indexes[0] as string), Buffer.from([0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff])) // past the end
    await writeFile(join(partDir, indexes[1] as string), Buffer.from([0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]))
    await truncate(join(partDir, timeIndexes[2] as string), 5)
    await writeFile(join(partDir, indexes[3] as string), Buffer.alloc(16, 0xff))
    await writeFile(join(partDir, timeIndexes[3] as string), Buffer.alloc(0))
    await unlink(join(partDir, indexes[4] as string))

    storage = await open(dir)
    for (let offset = 0; offset < 40; offset++) {
      const r = await storage.read('roll', 0, offset, 1, ALL)
      assert.deepEqual(batchRanges(r.records), [[offset, offset]])
      assert.deepEqual(await storage.offsetForTimestamp('roll', 0, 1000 + offset * 10 - 5), {
        offset,
        timestamp: 1000 + offset * 10,
      })
    }
    assert.deepEqual(await storage.maxTimestamp('roll', 0), { offset: 39, timestamp: 1390 })
    await storage.close()
    // The rebuilt files are identical to what the writer produced.
    for (const name of [...indexes.slice(0, 5), ...timeIndexes.slice(0, 5)]) {
      assert.deepEqual(await readFile(join(partDir, name)), originals.get(name), name)
    }

    storage = await open(dir)
    await storage.createTopic(topicMeta('timed', 1, { 'segment.ms': '1000' }))
    for (const ts of [10_000, 10_500, 11_000, 11_001, 11_500, 12_002]) {
      await storage.append('timed', 0, appendInput(makeBatch(['x'], { timestamps: [ts] })), {
        durable: false,
        leaderEpoch: 0,
      })
    }
    assert.deepEqual(storage.segmentBaseOffsets('timed', 0), [0, 3, 5])
    await storage.close()
  })

  it('applies retention by time and by size, never deleting the active segment', async () => {
    const dir = await freshDir()
    let now = 100_000
    const storage = await open(dir, { now: () => now })
    await storage.createTopic(topicMeta('aged', 1, { 'segment.bytes': '1000', 'retention.ms': '5000' }))
    await fill(storage, 'aged', 30, 90_000, 500) // timestamps 90000 .. 104500
    const before = storage.segmentBaseOffsets('aged', 0)
    await storage.runRetention()
    const kept = storage.segmentBaseOffsets('aged', 0)
    assert.ok(kept.length < before.length && kept.length > 1, `${before} → ${kept}`)
    const logStart = kept[0] as number
    assert.deepEqual(await storage.offsets('aged', 0), {
      logStartOffset: logStart,
      highWatermark: 30,
      lastStableOffset: 30,
    })
    // Every deleted segment's newest record was older than retention.ms.
    assert.ok(90_000 + (logStart - 1) * 500 < now - 5000)
    assert.equal((await storage.read('aged', 0, logStart - 1, 1000, ALL)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
    assert.equal((await logFiles(join(dir, 'aged-0'))).length, kept.length)
    // Everything expired: the active segment is rolled so it can go too; the log stays usable.
    now = 1_000_000
    await storage.runRetention()
    assert.deepEqual(storage.segmentBaseOffsets('aged', 0), [30])
    assert.deepEqual(await storage.offsets('aged', 0), { logStartOffset: 30, highWatermark: 30, lastStableOffset: 30 })
    assert.equal(
      (await storage.append('aged', 0, appendInput(makeBatch(['n'])), { durable: false, leaderEpoch: 0 })).baseOffset,
      30,
    )

    await storage.createTopic(topicMeta('big', 1, { 'segment.bytes': '1000', 'retention.bytes': '2500' }))
    await fill(storage, 'big', 40)
    await storage.runRetention()
    const size = await storage.partitionSize('big', 0)
    assert.ok(size <= 2500 + 1000 && size > 1000, `size ${size}`)
    assert.equal(storage.segmentBaseOffsets('big', 0).at(-1), storage.segmentBaseOffsets('big', 0).at(-1))
    assert.equal((await storage.offsets('big', 0)).highWatermark, 40)
    await storage.close()
  })

  it('ages segments without timestamps by their file’s last-modified time (retention.ms)', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(topicMeta('untimed', 1, { 'segment.bytes': '1000', 'retention.ms': '3600000' }))
    await fill(storage, 'untimed', 30, -1, 0)
    const before = storage.segmentBaseOffsets('untimed', 0)
    assert.ok(before.length > 3)
    await storage.runRetention()
    assert.deepEqual(storage.segmentBaseOffsets('untimed', 0), before, 'files written just now are young')
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000)
    for (const name of (await logFiles(join(dir, 'untimed-0'))).slice(0, 2)) {
      await utimes(join(dir, 'untimed-0', name), twoHoursAgo, twoHoursAgo)
    }
    await storage.runRetention()
    assert.deepEqual(storage.segmentBaseOffsets('untimed', 0), before.slice(2))
    assert.equal((await storage.offsets('untimed', 0)).logStartOffset, before[2])
    await storage.close()
  })

  it('shares fdatasyncs between concurrent durable appends (group commit)', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(topicMeta('gc'))
    const before = storage.stats.fdatasyncs
    const n = 50
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        storage.append('gc', 0, appendInput(makeBatch([`m${i}`])), { durable: true, leaderEpoch: 0 }),
      ),
    )
    assert.deepEqual(
      results.map((r) => r.baseOffset),
      Array.from({ length: n }, (_, i) => i),
    )
    const syncs = storage.stats.fdatasyncs - before
    assert.ok(syncs >= 1 && syncs < n, `${syncs} fdatasyncs for ${n} appends`)
    // flush.messages syncs acks=1 data in the background.
    await storage.setTopicConfigs('gc', { 'flush.messages': '1' })
    const mid = storage.stats.fdatasyncs
    await storage.append('gc', 0, appendInput(makeBatch(['x'])), { durable: false, leaderEpoch: 0 })
    assert.ok(storage.stats.fdatasyncs > mid)
    await storage.close()
  })

  it('writes concurrent appends to a partition together, in order, rolling segments where they must', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('together', 1, { 'segment.bytes': '2000' }))
    const batches = Array.from({ length: 60 }, (_, i) => makeBatch([`v${i}-${'q'.repeat(60)}`, `w${i}`]))
    const writesBefore = storage.stats.writes
    const results = await Promise.all(
      batches.map((b, i) => storage.append('together', 0, appendInput(b), { durable: i % 2 === 0, leaderEpoch: 0 })),
    )
    assert.deepEqual(
      results.map((r) => r.baseOffset),
      batches.map((_, i) => 2 * i),
      'offsets follow call order',
    )
    const writes = storage.stats.writes - writesBefore
    assert.ok(writes < batches.length, `${writes} writes for ${batches.length} appends`)
    const bases = storage.segmentBaseOffsets('together', 0)
    assert.ok(bases.length > 3, `rolled into ${bases.length} segments`)
    await storage.close()
    const partDir = join(dir, 'together-0')
    for (const name of await logFiles(partDir)) {
      assert.ok((await stat(join(partDir, name))).size <= 2000, `${name} within segment.bytes`)
    }
    storage = await open(dir)
    const read: Buffer[] = []
    for (let offset = 0; offset < 120; ) {
      const r = await storage.read('together', 0, offset, 1 << 20, ALL)
      read.push(r.records)
      offset = (batchRanges(r.records).at(-1)?.[1] ?? offset) + 1
    }
    assert.deepEqual(Buffer.concat(read), Buffer.concat(batches.map((b, i) => withOffset(b, 2 * i))))
    await storage.close()
  })

  it('deletes topic directories and survives a torn metadata journal', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    await storage.createTopic(topicMeta('gone', 2))
    await storage.createTopic(topicMeta('stays'))
    await storage.deleteTopic('gone')
    assert.ok(!(await readdir(dir)).some((n) => n === 'gone-0' || n === 'gone-1'))
    await storage.close()
    assert.ok(!(await readdir(dir)).some((n) => n.startsWith('gone-')))
    await appendFile(join(dir, JOURNAL_FILE), Buffer.from([0, 0, 1, 0, 1, 2, 3]))
    storage = await open(dir)
    assert.deepEqual(
      (await storage.listTopics()).map((t) => t.name),
      ['stays'],
    )
    await storage.createTopic(topicMeta('later'))
    await storage.close()
    storage = await open(dir)
    assert.deepEqual((await storage.listTopics()).map((t) => t.name).sort(), ['later', 'stays'])
    await storage.close()
  })

  it('compacts the metadata journal and removes only its own orphan directories', async () => {
    const dir = await freshDir()
    let storage = await open(dir)
    const value = Buffer.alloc(4096, 7)
    // Far more journal bytes than the compaction threshold, over few keys.
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          storage.kv.put('offsets', new Map([[`k${i}`, Buffer.concat([value, Buffer.from([round])])]])),
        ),
      )
    }
    await storage.close()
    assert.ok((await stat(join(dir, JOURNAL_FILE))).size < 1024 * 1024)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(join(dir, 'ghost-0'))
    await writeFile(join(dir, 'ghost-0', '00000000000000000000.log'), Buffer.alloc(0))
    await mkdir(join(dir, 'backup-2024'))
    await writeFile(join(dir, 'backup-2024', 'notes.txt'), 'mine')
    storage = await open(dir)
    const listed = await storage.kv.list('offsets')
    assert.equal(listed.size, 50)
    assert.deepEqual(listed.get('k7'), Buffer.concat([value, Buffer.from([5])]))
    await storage.close()
    const names = await readdir(dir)
    assert.ok(names.includes('backup-2024'))
    assert.ok(!names.some((n) => n.startsWith('ghost-0')))
  })

  it('keeps every acknowledged durable batch across kill -9', async () => {
    const dir = await freshDir()
    const script = join(dir, 'producer.mjs')
    const dist = new URL('../../', import.meta.url).href
    await writeFile(
      script,
      `import { LocalStorage } from '${dist}src/storage/local/local-storage.js'
import { appendInput, makeBatch } from '${dist}test/storage/helpers.js'
const storage = await LocalStorage.open({ dataDir: process.argv[2], retentionCheckIntervalMs: 0 })
await storage.createTopic({ name: 'k9', topicId: crypto.randomUUID(), partitionCount: 1, configs: { 'segment.bytes': '200000' } })
for (let i = 0; ; i++) {
  const appends = [0, 1, 2, 3].map((k) =>
    storage.append('k9', 0, appendInput(makeBatch([i + '-' + k, 'x'.repeat(1000 * k)])), { durable: true, leaderEpoch: 0 }))
  for (const r of await Promise.all(appends)) process.stdout.write(r.baseOffset + '\\n')
}
`,
    )
    const data = join(dir, 'data')
    const child = spawn(process.execPath, [script, data], { stdio: ['ignore', 'pipe', 'inherit'] })
    const acked: number[] = []
    let pending = ''
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', () => resolve())
      child.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString()
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) acked.push(Number(line))
        if (acked.length >= 400 && child.exitCode === null) child.kill('SIGKILL')
      })
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
    })
    assert.ok(acked.length >= 400, `only ${acked.length} acknowledged`)

    const storage = await open(data)
    const { highWatermark } = await storage.offsets('k9', 0)
    const bases = new Set<number>()
    for (let offset = 0; offset < highWatermark; ) {
      const r = await storage.read('k9', 0, offset, 1 << 20, ALL)
      const infos = validateBatches(r.records)
      assert.ok(!(infos instanceof RecordsError), 'every stored batch passes its CRC')
      for (const info of infos) {
        assert.equal(info.baseOffset, offset)
        bases.add(info.baseOffset)
        offset = info.baseOffset + info.lastOffsetDelta + 1
      }
    }
    for (const offset of acked) assert.ok(bases.has(offset), `acknowledged offset ${offset} is stored`)
    await storage.close()
  })
})

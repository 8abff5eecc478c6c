/**
 * Log compaction in the local engine, where it works on segment files: the active segment is
 * never cleaned, segments keep their modification time, and a crash in the middle of a segment
 * swap leaves a correct log. What every engine does is in compaction.test.ts.
 */
import assert from 'node:assert/strict'
import { readdir, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { systemError } from '../../src/storage/local/faults.ts'
import { LocalStorage, type LocalStorageOptions } from '../../src/storage/local/local-storage.ts'
import { assertOffsetsGrow, COMPACT, latest, produce, type Rec, readAll, rounds } from './compaction-helpers.ts'
import { freshDirs, topicMeta } from './helpers.ts'

const freshDir = freshDirs('samsa-compaction-')

function open(dataDir: string, extra: Partial<LocalStorageOptions> = {}): Promise<LocalStorage> {
  return LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0, ...extra })
}

describe('local log compaction', () => {
  it('never touches the active segment', async () => {
    const dir = await freshDir()
    const storage = await open(dir)
    await storage.createTopic(topicMeta('one', 1, { ...COMPACT, 'segment.bytes': '1000000' }))
    await produce(storage, 'one', rounds(3))
    assert.deepEqual(await storage.runCleaner(), [])
    assert.equal((await readAll(storage, 'one')).length, 30)
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
})

describe('local log compaction crash safety', () => {
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

/**
 * Disk errors in the local engine: failed writes and fsyncs (through the fault-injection seam,
 * and for real on a full tmpfs when the test runs as root) fail the append with an I/O error the
 * broker answers as KAFKA_STORAGE_ERROR; the engine keeps working and resumes once the fault is
 * gone, without holes or duplicates from the failed appends.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type StorageFaults, systemError } from '../../src/storage/local/faults.ts'
import { LocalStorage } from '../../src/storage/local/local-storage.ts'
import { kafkaErrorCodeOf } from '../../src/storage/storage-error.ts'
import { appendInput, batchRanges, freshDirs, makeBatch, topicMeta } from './helpers.ts'

const freshDir = freshDirs('samsa-disk-')

/** Faults switched on and off by the test. */
function switchableFaults(): { faults: StorageFaults; write: string | null; sync: string | null } {
  const state: { faults: StorageFaults; write: string | null; sync: string | null } = {
    write: null,
    sync: null,
    faults: {
      beforeWrite: () => {
        if (state.write !== null) throw systemError(state.write)
      },
      beforeSync: () => {
        if (state.sync !== null) throw systemError(state.sync)
      },
    },
  }
  return state
}

async function offsetsRead(storage: LocalStorage, topic: string): Promise<[number, number][]> {
  const res = await storage.read(topic, 0, 0, 1 << 20, { minOneBatch: true })
  return batchRanges(res.records)
}

async function rejectsWithStorageError(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal(kafkaErrorCodeOf(err), ErrorCode.KAFKA_STORAGE_ERROR)
    return true
  })
}

describe('disk errors', () => {
  it('a failed write fails the append, and appends resume where the log was', async () => {
    const dir = await freshDir()
    const state = switchableFaults()
    let storage = await LocalStorage.open({ dataDir: dir, retentionCheckIntervalMs: 0, faults: state.faults })
    await storage.createTopic(topicMeta('w', 1, { 'segment.bytes': '2000' }))
    const append = (v: string, durable = false) =>
      storage.append('w', 0, appendInput(makeBatch([v, v])), { durable, leaderEpoch: 0 })
    assert.equal((await append('a')).baseOffset, 0)
    state.write = 'ENOSPC'
    await rejectsWithStorageError(append('lost'))
    await rejectsWithStorageError(append('lost', true))
    state.write = null
    assert.equal((await append('b', true)).baseOffset, 2, 'failed appends took no offsets')
    // Across segment rolls too.
    for (let i = 0; i < 30; i++) {
      state.write = i % 3 === 0 ? 'EIO' : null
      if (state.write) await rejectsWithStorageError(append(`x${i}`))
      else await append(`x${i}`)
    }
    state.write = null
    const ranges = await offsetsRead(storage, 'w')
    assert.deepEqual(ranges[0], [0, 1])
    await storage.close()
    storage = await LocalStorage.open({ dataDir: dir, retentionCheckIntervalMs: 0 })
    assert.equal((await storage.offsets('w', 0)).highWatermark, 2 + 2 + 20 * 2)
    let next = 0
    let offset = 0
    while (offset < 44) {
      const res = await storage.read('w', 0, offset, 1 << 20, { minOneBatch: true })
      for (const [base, last] of batchRanges(res.records)) {
        assert.equal(base, next, 'contiguous offsets after recovery')
        next = last + 1
      }
      offset = next
    }
    await storage.close()
  })

  it('a failed write fails every append it carried; the next ones take their offsets', async () => {
    const dir = await freshDir()
    const state = switchableFaults()
    const storage = await LocalStorage.open({ dataDir: dir, retentionCheckIntervalMs: 0, faults: state.faults })
    await storage.createTopic(topicMeta('c'))
    const append = (v: string) =>
      storage.append('c', 0, appendInput(makeBatch([v])), { durable: false, leaderEpoch: 0 })
    assert.equal((await append('a')).baseOffset, 0)
    // Appends made while the partition is busy share one write, so they fail together.
    let writes = 0
    state.faults.beforeWrite = () => {
      writes++
      throw systemError('EIO')
    }
    const outcomes = await Promise.allSettled(['b', 'c', 'd'].map(append))
    assert.equal(writes, 1, 'one write for the three appends')
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected')
      await rejectsWithStorageError(Promise.reject((o as PromiseRejectedResult).reason))
    }
    state.faults.beforeWrite = undefined
    assert.equal((await append('e')).baseOffset, 1, 'the failed appends took no offsets')
    assert.deepEqual(await offsetsRead(storage, 'c'), [
      [0, 0],
      [1, 1],
    ])
    await storage.close()
  })

  it('a failed fdatasync fails durable appends only, and the next sync writes the data again', async () => {
    const dir = await freshDir()
    const state = switchableFaults()
    const storage = await LocalStorage.open({ dataDir: dir, retentionCheckIntervalMs: 0, faults: state.faults })
    await storage.createTopic(topicMeta('s'))
    const append = (v: string, durable: boolean) =>
      storage.append('s', 0, appendInput(makeBatch([v])), { durable, leaderEpoch: 0 })
    await append('a', true)
    state.sync = 'EIO'
    await rejectsWithStorageError(append('b', true))
    assert.equal((await append('c', false)).baseOffset, 2, 'acks=1 appends go on')
    let rewrites = 0
    state.sync = null
    state.faults.beforeWrite = () => {
      rewrites++
    }
    assert.equal((await append('d', true)).baseOffset, 3)
    assert.equal(rewrites, 2, 'one rewrite of the unsynced range, one append')
    assert.deepEqual(await offsetsRead(storage, 's'), [
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 3],
    ])
    await storage.close()
  })

  it('fills a real 2 MiB tmpfs until ENOSPC and resumes once space is back', async (t) => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
      t.skip('needs root on Linux to mount a size-limited tmpfs')
      return
    }
    const mountPoint = await mkdtemp(join(tmpdir(), 'samsa-tmpfs-'))
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint])
    if (mounted.status !== 0) {
      await rm(mountPoint, { recursive: true, force: true })
      t.skip(`cannot mount a tmpfs here: ${mounted.stderr.toString().trim()}`)
      return
    }
    t.after(async () => {
      spawnSync('umount', [mountPoint])
      await rm(mountPoint, { recursive: true, force: true })
    })
    const storage = await LocalStorage.open({ dataDir: mountPoint, retentionCheckIntervalMs: 0 })
    await storage.createTopic(topicMeta('full'))
    await storage.createTopic(topicMeta('ballast'))
    const value = 'v'.repeat(16 * 1024)
    // Ballast first, so that deleting it makes room later.
    let ballast = 0
    try {
      for (; ballast < 40; ballast++) {
        await storage.append('ballast', 0, appendInput(makeBatch([value])), { durable: true, leaderEpoch: 0 })
      }
    } catch {}
    let acked = 0
    let failure: unknown
    for (let i = 0; i < 1000 && failure === undefined; i++) {
      try {
        await storage.append('full', 0, appendInput(makeBatch([value])), { durable: true, leaderEpoch: 0 })
        acked++
      } catch (err) {
        failure = err
      }
    }
    assert.ok(failure !== undefined, 'the disk filled up')
    assert.equal(kafkaErrorCodeOf(failure), ErrorCode.KAFKA_STORAGE_ERROR, String(failure))
    await rejectsWithStorageError(
      storage.append('full', 0, appendInput(makeBatch([value])), { durable: true, leaderEpoch: 0 }),
    )
    await storage.deleteTopic('ballast')
    // Topic deletion removes the files in the background; wait for the space.
    let res: { baseOffset: number } | undefined
    for (let i = 0; i < 100 && res === undefined; i++) {
      res = await storage
        .append('full', 0, appendInput(makeBatch([value])), { durable: true, leaderEpoch: 0 })
        .catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 20)))
    }
    assert.equal(res?.baseOffset, acked, 'the first append after the fault continues the log')
    assert.deepEqual((await storage.offsets('full', 0)).highWatermark, acked + 1)
    await storage.close()
    const reopened = await LocalStorage.open({ dataDir: mountPoint, retentionCheckIntervalMs: 0 })
    assert.equal((await reopened.offsets('full', 0)).highWatermark, acked + 1)
    await reopened.close()
  })
})

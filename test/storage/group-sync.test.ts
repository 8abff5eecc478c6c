/** Group commit and the engine-wide bound on concurrent fdatasyncs, with syncs the test completes by hand. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { StorageMetrics } from '../../src/storage/engine/storage-metrics.ts'
import { GroupSync, SyncSlots, type SyncStats } from '../../src/storage/local/group-sync.ts'

/** A sync function whose calls stay pending until the test finishes them. */
function manualSync(): { sync: () => Promise<void>; pending: (() => void)[] } {
  const pending: (() => void)[] = []
  return { sync: () => new Promise<void>((resolve) => pending.push(resolve)), pending }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A partition with no write under way. */
const idle = () => false

function freshStats(): SyncStats {
  return { fdatasyncs: 0, appends: 0, writes: 0 }
}

describe('group sync', () => {
  it('one sync covers every write completed before it starts', async () => {
    const a = manualSync()
    const stats = freshStats()
    const g = new GroupSync(a.sync, new SyncSlots(4), stats, idle)
    const done: number[] = []
    const first = g.waitFor(g.wrote(1, 0)).then(() => done.push(1))
    await tick()
    assert.equal(a.pending.length, 1)
    // Written while the first sync runs: they need the next one.
    const later = [g.wrote(1, 0), g.wrote(1, 0), g.wrote(1, 0)].map((seq) => g.waitFor(seq).then(() => done.push(seq)))
    a.pending.shift()?.()
    await first
    await tick()
    assert.deepEqual(done, [1])
    assert.equal(a.pending.length, 1, 'one more sync for the three later writes')
    a.pending.shift()?.()
    await Promise.all(later)
    assert.deepEqual(done, [1, 2, 3, 4])
    assert.equal(stats.fdatasyncs, 2)
    assert.equal(g.dirty, false)
  })

  it('bounds concurrent syncs across partitions; a waiting sync covers what was written meanwhile', async () => {
    const slots = new SyncSlots(1, 1)
    const a = manualSync()
    const b = manualSync()
    const stats = freshStats()
    const ga = new GroupSync(a.sync, slots, stats, idle)
    const gb = new GroupSync(b.sync, slots, stats, idle)
    const aDone = ga.waitFor(ga.wrote(1, 0))
    const bFirst = gb.waitFor(gb.wrote(1, 0))
    await tick()
    assert.equal(a.pending.length, 1)
    assert.equal(b.pending.length, 0, 'partition b waits for the slot')
    const bSecond = gb.waitFor(gb.wrote(1, 0))
    a.pending.shift()?.()
    await aDone
    await tick()
    assert.equal(b.pending.length, 1)
    b.pending.shift()?.()
    await Promise.all([bFirst, bSecond])
    assert.equal(stats.fdatasyncs, 2, "b's two writes shared the sync that waited for the slot")
  })

  it('past the limit, only a partition with no write under way starts a sync at once (up to the burst)', async () => {
    const slots = new SyncSlots(1, 2)
    const [a, b, c, d] = [manualSync(), manualSync(), manualSync(), manualSync()]
    const stats = freshStats()
    const ga = new GroupSync(a.sync, slots, stats, idle)
    const busy = new GroupSync(b.sync, slots, stats, () => true)
    const quiet = new GroupSync(c.sync, slots, stats, idle)
    const late = new GroupSync(d.sync, slots, stats, idle)
    const done = [ga, busy, quiet, late].map((g) => g.waitFor(g.wrote(1, 0)))
    await tick()
    assert.deepEqual(
      [a, b, c, d].map((x) => x.pending.length),
      [1, 0, 1, 0],
      'a takes the slot, the busy partition waits to cover more, the quiet one bursts, the burst is full',
    )
    c.pending.shift()?.()
    await tick()
    assert.deepEqual([b.pending.length, d.pending.length], [0, 1], 'the freed burst slot goes to the quiet waiter')
    a.pending.shift()?.()
    await tick()
    assert.equal(b.pending.length, 0, 'the burst sync still counts against the limit')
    d.pending.shift()?.()
    await tick()
    assert.equal(b.pending.length, 1, 'under the limit again: the busy partition starts')
    b.pending.shift()?.()
    await Promise.all(done)
    assert.equal(stats.fdatasyncs, 4)
  })

  it('a failed sync rejects the writes it covered; the next sync serves later ones', async () => {
    let fail = true
    const stats = freshStats()
    const slots = new SyncSlots(1, 1)
    const g = new GroupSync(() => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve()), slots, stats, idle)
    await assert.rejects(g.waitFor(g.wrote(1, 0)), /EIO/)
    fail = false
    await g.waitFor(g.wrote(1, 0))
    assert.equal(g.dirty, false)
    // The failed sync gave its slot back: another partition can sync.
    const other = new GroupSync(() => Promise.resolve(), slots, stats, idle)
    other.wrote(1, 0)
    await other.flush()
    assert.equal(stats.fdatasyncs, 3)
  })
  it('measures each sync: the appends and bytes it made durable, a failed one counted with the next', async () => {
    const a = manualSync()
    const metrics = new StorageMetrics()
    let fail = false
    const g = new GroupSync(
      () => (fail ? Promise.reject(new Error('EIO')) : a.sync()),
      new SyncSlots(4),
      freshStats(),
      idle,
      metrics,
    )
    const first = g.waitFor(g.wrote(3, 3000))
    await tick()
    // Two writes while the first sync runs: the second sync covers both.
    const second = [g.wrote(1, 100), g.wrote(2, 200)].map((seq) => g.waitFor(seq))
    a.pending.shift()?.()
    await first
    await tick()
    a.pending.shift()?.()
    await Promise.all(second)
    assert.equal(metrics.syncAppends.count, 2)
    assert.equal(metrics.syncAppends.sum, 6)
    assert.equal(metrics.syncBytes.sum, 3300)
    fail = true
    await assert.rejects(g.waitFor(g.wrote(4, 400)), /EIO/)
    fail = false
    const last = g.waitFor(g.wrote(1, 10))
    await tick()
    a.pending.shift()?.()
    await last
    assert.equal(metrics.syncAppends.count, 3, 'the failed sync is not a group commit')
    assert.equal(metrics.syncAppends.sum, 11)
    assert.equal(metrics.syncBytes.sum, 3710)
  })
})

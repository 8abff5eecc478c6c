/**
 * What only the postgres engine does, on an embedded PostgreSQL: fencing across engines sharing
 * a database, allocation racing from two pools, data that outlives the engine, group commit
 * across partitions, a lost connection, and metadata changes seen by another engine.
 */
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import type pg from 'pg'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { PostgresStorage } from '../../src/storage/postgres/postgres-storage.ts'
import { isStorageError } from '../../src/storage/storage-error.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import { appendInput, batchRanges, makeBatch, proxies, topicMeta, waitFor, withOffset } from './helpers.ts'

const ALL = { minOneBatch: true }
const skip = (await hasPostgres()) ? undefined : POSTGRES_MISSING

describe('postgres engine', { skip }, () => {
  const { open, sql } = postgresOpener({ retentionCheckIntervalMs: 0 })
  /** A proxy in front of the database, and the database's URL through it. */
  const proxied = proxies()
  let url: string

  before(async () => {
    url = await freshDatabase()
  })

  it('names its database without the password', async () => {
    const storage = await open(url)
    assert.equal(storage.location.includes('samsa-test'), false)
    assert.match(storage.location, /^postgres:\/\/samsa@127\.0\.0\.1:\d+\//)
    assert.deepEqual(storage.capabilities, {
      durable: true,
      shared: true,
      segments: false,
      compaction: true,
      logDir: undefined,
      keepsAppendedBytes: true,
    })
  })

  it('refuses an append with a stale epoch from a deposed leader, writing nothing', async () => {
    const db = await freshDatabase()
    const a = await open(db)
    const b = await open(db)
    await a.createTopic(topicMeta('fenced', 1))
    await waitFor(async () => (await b.listTopics()).length === 1)
    await waitFor(async () => (await b.offsets('fenced', 0).catch(() => null)) !== null)
    assert.equal(
      (await a.append('fenced', 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 0 })).baseOffset,
      0,
    )
    // b takes over: a still believes it leads at epoch 0, and only the database can tell it otherwise.
    assert.equal(await b.claimLeadership('fenced', 0, 1), 1)
    const refused = await a
      .append('fenced', 0, appendInput(makeBatch(['stale', 'write'])), { durable: true, leaderEpoch: 0 })
      .catch((err: unknown) => err)
    assert.equal((refused as { errorCode?: number }).errorCode, ErrorCode.FENCED_LEADER_EPOCH)
    assert.equal(isStorageError(refused), false)
    const client = await sql(db)
    const rows = await client.query('SELECT base_offset, last_offset FROM batches ORDER BY base_offset')
    assert.deepEqual(
      rows.rows.map((r) => [Number(r.base_offset), Number(r.last_offset)]),
      [[0, 0]],
    )
    const stored = await client.query('SELECT high_watermark, leader_epoch FROM partitions')
    assert.deepEqual(
      stored.rows.map((r) => [Number(r.high_watermark), r.leader_epoch]),
      [[1, 1]],
    )
    // The new leader continues where the old one stopped; the old one stays fenced.
    assert.equal(
      (await b.append('fenced', 0, appendInput(makeBatch(['b'])), { durable: true, leaderEpoch: 1 })).baseOffset,
      1,
    )
    await assert.rejects(a.append('fenced', 0, appendInput(makeBatch(['x'])), { durable: true, leaderEpoch: 0 }), {
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
    })
    assert.equal(await a.leaderEpoch('fenced', 0), 1)
    // a leads again at a higher epoch: it takes the log end b left.
    assert.equal(await a.claimLeadership('fenced', 0, 2), 2)
    assert.equal(
      (await a.append('fenced', 0, appendInput(makeBatch(['c'])), { durable: true, leaderEpoch: 2 })).baseOffset,
      2,
    )
    assert.deepEqual(batchRanges((await a.read('fenced', 0, 0, 1 << 20, ALL)).records), [
      [0, 0],
      [1, 1],
      [2, 2],
    ])
  })

  it('never hands out overlapping ranges from two engines allocating at once', async () => {
    const db = await freshDatabase()
    const a = await open(db, { poolSize: 4 })
    const b = await open(db, { poolSize: 4 })
    const ranges: [number, number][] = []
    const round = async (kv: PostgresStorage['kv'], n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const count = 1 + (i % 7)
        const start = await kv.allocate('producer-ids', 'block', count)
        ranges.push([start, start + count])
      }
    }
    await Promise.all([round(a.kv, 150), round(b.kv, 150), round(a.kv, 150), round(b.kv, 150)])
    ranges.sort((x, y) => x[0] - y[0])
    let end = 0
    for (const [start, stop] of ranges) {
      assert.equal(start, end, `range [${start}, ${stop}) does not start where the previous one ended (${end})`)
      end = stop
    }
    assert.equal(ranges.length, 600)
  })

  it('keeps topics, batches, offsets, epochs and kv across close and reopen', async () => {
    const db = await freshDatabase()
    const first = await open(db)
    await first.createTopic(topicMeta('kept', 2, { 'retention.ms': '-1' }))
    const b1 = makeBatch(['a', 'b'], { timestamps: [10, 20] })
    const b2 = makeBatch(['c'], { timestamps: [30] })
    await first.append('kept', 1, appendInput(b1), { durable: true, leaderEpoch: 0 })
    await first.append('kept', 1, appendInput(b2), { durable: false, leaderEpoch: 0 })
    await first.deleteRecordsBefore('kept', 1, 1)
    await first.claimLeadership('kept', 0, 4)
    await first.kv.put('groups', new Map([['g', Buffer.from('state')]]))
    await first.close()

    const second = await open(db)
    assert.deepEqual(await second.listTopics(), [
      {
        name: 'kept',
        topicId: (await second.listTopics())[0]?.topicId,
        partitionCount: 2,
        configs: { 'retention.ms': '-1' },
      },
    ])
    assert.deepEqual(await second.offsets('kept', 1), { logStartOffset: 1, highWatermark: 3, lastStableOffset: 3 })
    const read = await second.read('kept', 1, 1, 1 << 20, ALL)
    assert.deepEqual(read.records, Buffer.concat([withOffset(b1, 0), withOffset(b2, 2)]))
    assert.deepEqual(await second.offsetForTimestamp('kept', 1, 15), { offset: 1, timestamp: 20 })
    assert.equal(await second.leaderEpoch('kept', 0), 4)
    assert.deepEqual(await second.kv.get('groups', 'g'), Buffer.from('state'))
    assert.equal(
      (await second.append('kept', 1, appendInput(makeBatch(['d'])), { durable: true, leaderEpoch: 0 })).baseOffset,
      3,
    )
  })

  it('commits appends to many partitions that arrive together in one transaction (one committer)', async () => {
    const storage = await open(await freshDatabase(), { committers: 1 })
    const partitions = 64
    await storage.createTopic(topicMeta('wide', partitions))
    const before = storage.stats
    const results = await Promise.all(
      Array.from({ length: partitions * 4 }, (_, i) =>
        storage.append('wide', i % partitions, appendInput(makeBatch([`v${i}`])), {
          durable: i % 2 === 0,
          leaderEpoch: 0,
        }),
      ),
    )
    const after = storage.stats
    assert.equal(after.commits - before.commits, 1)
    assert.equal(after.maxPartitionsPerCommit, partitions)
    assert.equal(after.appends - before.appends, partitions * 4)
    for (let i = 0; i < results.length; i++) assert.equal(results[i]?.baseOffset, Math.floor(i / partitions))
    for (let p = 0; p < partitions; p++) {
      assert.deepEqual(await storage.offsets('wide', p), { logStartOffset: 0, highWatermark: 4, lastStableOffset: 4 })
    }
    // A steady stream: appends arriving during a commit share the next one.
    const streamed = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i % 40))
        return storage.append('wide', i % partitions, appendInput(makeBatch([`s${i}`])), {
          durable: true,
          leaderEpoch: 0,
        })
      }),
    )
    assert.equal(streamed.length, 400)
    const commits = storage.stats.commits - after.commits
    assert.ok(commits < 400 / 2, `${commits} commits for 400 appends`)
  })

  it('runs several commits at once, each for its own partitions, each partition in order', async () => {
    const db = await freshDatabase()
    // Every queued byte is worth a commit of its own: the committers share any load.
    const storage = await open(db, { committers: 4, parallelCommitBytes: 0 })
    const partitions = 64
    await storage.createTopic(topicMeta('lanes', partitions))
    const before = storage.stats
    const results = await Promise.all(
      Array.from({ length: partitions * 4 }, (_, i) =>
        storage.append('lanes', i % partitions, appendInput(makeBatch([`v${String(i).padStart(3, '0')}`])), {
          durable: true,
          leaderEpoch: 0,
        }),
      ),
    )
    const after = storage.stats
    // One commit per committer, a quarter of the partitions each, all four in flight together.
    assert.equal(after.commits - before.commits, 4)
    assert.equal(after.maxPartitionsPerCommit, partitions / 4)
    assert.equal(after.maxCommitsInFlight, 4)
    for (let i = 0; i < results.length; i++) assert.equal(results[i]?.baseOffset, Math.floor(i / partitions))
    // A steady stream from many writers: every partition's appends land in call order.
    let calls = 0
    const streamed = await Promise.all(
      Array.from({ length: 768 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i % 25))
        const call = calls++
        const { baseOffset } = await storage.append('lanes', i % partitions, appendInput(makeBatch([`s${i}`])), {
          durable: true,
          leaderEpoch: 0,
        })
        return { call, baseOffset }
      }),
    )
    for (let p = 0; p < partitions; p++) {
      const offsets = streamed
        .filter((_, i) => i % partitions === p)
        .sort((a, b) => a.call - b.call)
        .map((r) => r.baseOffset)
      assert.deepEqual(
        offsets,
        offsets.map((_, k) => 4 + k),
      )
      assert.deepEqual(await storage.offsets('lanes', p), {
        logStartOffset: 0,
        highWatermark: 4 + 768 / partitions,
        lastStableOffset: 4 + 768 / partitions,
      })
    }
    // The leader's claim waits for the commits in flight and holds the next ones back.
    const claims = await Promise.all([
      storage.claimLeadership('lanes', 3, 1),
      storage.append('lanes', 3, appendInput(makeBatch(['late'])), { durable: true, leaderEpoch: 0 }).catch((e) => e),
      storage.append('lanes', 4, appendInput(makeBatch(['other'])), { durable: true, leaderEpoch: 0 }),
    ])
    assert.equal(claims[0], 1)
    assert.equal((claims[1] as { errorCode?: number }).errorCode, ErrorCode.FENCED_LEADER_EPOCH)
    const client = await sql(db)
    const { rows } = await client.query(
      'SELECT partition, count(*)::int AS n, max(last_offset)::int AS last FROM batches GROUP BY partition',
    )
    assert.equal(rows.length, partitions)
    for (const r of rows) assert.equal(r.n, r.last + 1, `partition ${r.partition}: contiguous`)
  })

  it('fails appends in flight when the database drops its connections, then recovers', async () => {
    const db = await freshDatabase()
    const storage = await open(db)
    await storage.createTopic(topicMeta('cut', 2))
    await storage.append('cut', 0, appendInput(makeBatch(['before'])), { durable: true, leaderEpoch: 0 })
    const admin = await sql(db)
    // Hold the commit inside the database: it waits for the lock, then loses its connection, and
    // so does every further attempt.
    const lock = await lockBatches(admin, await sql(db))
    let settled = false
    const inFlight = Promise.all(
      [0, 1, 0].map((p, i) =>
        storage
          .append('cut', p, appendInput(makeBatch([`lost${i}`])), { durable: true, leaderEpoch: 0 })
          .catch((err: unknown) => err),
      ),
    ).finally(() => {
      settled = true
    })
    while (!settled) {
      await waitFor(async () => settled || (await lock.waiters()) > 0)
      await lock.terminateOthers()
    }
    await lock.release()
    for (const err of await inFlight) {
      assert.equal(isStorageError(err), true, String(err))
      assert.equal((err as { errorCode?: number }).errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
    }
    // Nothing of the failed commit is visible, and the next append takes the next offsets.
    assert.deepEqual(await storage.offsets('cut', 0), { logStartOffset: 0, highWatermark: 1, lastStableOffset: 1 })
    const next = await storage.append('cut', 0, appendInput(makeBatch(['after'])), { durable: true, leaderEpoch: 0 })
    assert.equal(next.baseOffset, 1)
    assert.equal(
      (await storage.append('cut', 1, appendInput(makeBatch(['p1'])), { durable: true, leaderEpoch: 0 })).baseOffset,
      0,
    )
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM batches WHERE partition = 0')
    assert.equal(rows[0].n, 2)
    assert.deepEqual(batchRanges((await storage.read('cut', 0, 0, 1 << 20, ALL)).records), [
      [0, 0],
      [1, 1],
    ])
    // One failed commit per committer that held some of them.
    assert.ok(storage.stats.failedCommits >= 1)
    assert.equal(storage.stats.inDoubtLanded, 0)
    // The key-value store works again too.
    assert.equal(await storage.kv.allocate('ids', 'n', 5), 0)
  })

  it('sends a commit again when its connection is lost once', async () => {
    const db = await freshDatabase()
    const storage = await open(db)
    await storage.createTopic(topicMeta('retried', 1))
    const lock = await lockBatches(await sql(db), await sql(db))
    const appended = storage.append('retried', 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 0 })
    await waitFor(async () => (await lock.waiters()) > 0)
    await lock.terminateOthers()
    await waitFor(async () => storage.stats.retriedCommits >= 1 && (await lock.waiters()) > 0)
    await lock.release()
    assert.equal((await appended).baseOffset, 0)
    assert.deepEqual(await storage.offsets('retried', 0), { logStartOffset: 0, highWatermark: 1, lastStableOffset: 1 })
    assert.equal(storage.stats.failedCommits, 0)
  })

  it('answers a commit whose reply was lost once the database tells it landed, and stores it once', async () => {
    const db = await freshDatabase()
    const { proxy, url: through } = await proxied(db)
    const storage = await open(through)
    await storage.createTopic(topicMeta('lost-reply', 2))
    await storage.append('lost-reply', 0, appendInput(makeBatch(['before'])), { durable: true, leaderEpoch: 0 })
    // The commit reaches PostgreSQL and commits there; its answer is lost, and so is the link.
    const lost = proxy.intercept('samsa-commit', 'lose-reply', { cut: true })
    const first = settle(
      storage.append('lost-reply', 0, appendInput(makeBatch(['landed'])), { durable: true, leaderEpoch: 0 }),
    )
    await lost.caught
    await waitFor(async () => storage.stats.commitsInDoubt === 1)
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal(first.outcome, undefined, 'answered while the database could not tell')
    // Back, but the partition's row is locked: the engine's question waits, and meanwhile the
    // partition in doubt takes no commit while another partition's commits go on.
    proxy.restore()
    const admin = await sql(db)
    await admin.query('BEGIN')
    await admin.query('SELECT * FROM partitions WHERE partition = 0 FOR UPDATE')
    const second = settle(
      storage.append('lost-reply', 0, appendInput(makeBatch(['after'])), { durable: true, leaderEpoch: 0 }),
    )
    const other = await storage.append('lost-reply', 1, appendInput(makeBatch(['elsewhere'])), {
      durable: true,
      leaderEpoch: 0,
    })
    assert.equal(other.baseOffset, 0)
    assert.equal(first.outcome, undefined)
    assert.equal(second.outcome, undefined)
    await admin.query('COMMIT')
    assert.deepEqual(await first.done, { baseOffset: 1, logStartOffset: 0 })
    assert.deepEqual(await second.done, { baseOffset: 2, logStartOffset: 0 })
    const stats = storage.stats
    assert.equal(stats.inDoubtLanded, 1)
    assert.equal(stats.failedCommits, 0)
    const { rows } = await admin.query('SELECT base_offset FROM batches WHERE partition = 0 ORDER BY base_offset')
    assert.deepEqual(
      rows.map((r) => Number(r.base_offset)),
      [0, 1, 2],
    )
    assert.deepEqual(batchRanges((await storage.read('lost-reply', 0, 0, 1 << 20, ALL)).records), [
      [0, 0],
      [1, 1],
      [2, 2],
    ])
  })

  it('fails a commit that never reached the database, and a late copy of it cannot land', async () => {
    const db = await freshDatabase()
    const { proxy, url: through } = await proxied(db)
    const storage = await open(through)
    await storage.createTopic(topicMeta('held', 1))
    await storage.append('held', 0, appendInput(makeBatch(['before'])), { durable: true, leaderEpoch: 0 })
    // The commit's bytes stay in the network; the engine's connection dies, and so does the link.
    const held = proxy.intercept('samsa-commit', 'hold-request', { cut: true })
    const lost = settle(storage.append('held', 0, appendInput(makeBatch(['never'])), { durable: true, leaderEpoch: 0 }))
    await held.caught
    await waitFor(async () => storage.stats.commitsInDoubt === 1)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(lost.outcome, undefined, 'answered while the database could not tell')
    proxy.restore()
    const err = await lost.done.catch((e: unknown) => e)
    assert.equal(isStorageError(err), true, String(err))
    assert.equal((err as { errorCode?: number }).errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
    assert.equal(storage.stats.failedCommits, 1)
    assert.equal(storage.stats.inDoubtLanded, 0)
    // The held bytes reach PostgreSQL now: the statement runs, and the fence refuses it.
    await held.release()
    const admin = await sql(db)
    const stored = async (): Promise<number[][]> =>
      (await admin.query('SELECT base_offset, last_offset FROM batches ORDER BY base_offset')).rows.map((r) => [
        Number(r.base_offset),
        Number(r.last_offset),
      ])
    assert.deepEqual(await stored(), [[0, 0]])
    assert.equal(Number((await admin.query('SELECT high_watermark FROM partitions')).rows[0].high_watermark), 1)
    const next = await storage.append('held', 0, appendInput(makeBatch(['next'])), { durable: true, leaderEpoch: 0 })
    assert.equal(next.baseOffset, 1)
    assert.deepEqual(await stored(), [
      [0, 0],
      [1, 1],
    ])
  })

  it('closes while a commit is in doubt, failing its appends', async () => {
    const { proxy, url: through } = await proxied(await freshDatabase())
    const storage = await open(through)
    await storage.createTopic(topicMeta('closing', 1))
    const lost = proxy.intercept('samsa-commit', 'lose-reply', { cut: true })
    const appended = storage
      .append('closing', 0, appendInput(makeBatch(['x'])), { durable: true, leaderEpoch: 0 })
      .catch((err: unknown) => err)
    await lost.caught
    await waitFor(async () => storage.stats.commitsInDoubt === 1)
    await storage.close()
    const err = await appended
    assert.equal(isStorageError(err), true, String(err))
    assert.equal((err as { reason?: string }).reason, 'CLOSED')
  })

  it('tells another engine on the same database about topic changes', async () => {
    const db = await freshDatabase()
    const a = await open(db)
    const b = await open(db)
    const seen: string[] = []
    b.onMetadataChange((topic) => seen.push(topic))
    await a.createTopic(topicMeta('shared', 1))
    await waitFor(async () => seen.length === 1)
    // b can append to it at once: it read the new topic's partitions before telling its listeners.
    assert.equal(
      (await b.append('shared', 0, appendInput(makeBatch(['x'])), { durable: true, leaderEpoch: 0 })).baseOffset,
      0,
    )
    await a.createPartitions('shared', 3)
    await waitFor(async () => seen.length === 2)
    assert.deepEqual(await b.offsets('shared', 2), { logStartOffset: 0, highWatermark: 0, lastStableOffset: 0 })
    await a.deleteTopic('shared')
    await waitFor(async () => seen.length === 3)
    assert.deepEqual(seen, ['shared', 'shared', 'shared'])
    await assert.rejects(b.offsets('shared', 0), { reason: 'UNKNOWN_TOPIC_OR_PARTITION' })
  })

  it('applies retention.bytes by deleting the oldest rows', async () => {
    const db = await freshDatabase()
    const storage = await open(db)
    const batches = Array.from({ length: 5 }, (_, i) => makeBatch([`r${i}`], { timestamps: [Date.now()] }))
    const size = batches[0]?.length ?? 0
    await storage.createTopic(topicMeta('sized', 1, { 'retention.bytes': String(size * 2) }))
    for (const b of batches) await storage.append('sized', 0, appendInput(b), { durable: true, leaderEpoch: 0 })
    await storage.runRetention()
    assert.deepEqual(await storage.offsets('sized', 0), { logStartOffset: 3, highWatermark: 5, lastStableOffset: 5 })
    assert.equal(await storage.partitionSize('sized', 0), size * 2)
    const client = await sql(db)
    const { rows } = await client.query('SELECT base_offset FROM batches ORDER BY base_offset')
    assert.deepEqual(
      rows.map((r) => Number(r.base_offset)),
      [3, 4],
    )
  })

  it('fails to open on an unreachable database with a storage error', async () => {
    const err = await PostgresStorage.open({ url: 'postgres://nobody:secret@127.0.0.1:1/none' }).catch(
      (e: unknown) => e,
    )
    assert.equal(isStorageError(err), true)
    assert.equal(String((err as Error).message).includes('secret'), false)
  })

  it('reads old batches from the database and recent ones from its tail, alike', async () => {
    const storage = await open(await freshDatabase(), { tailBytes: 300 })
    await storage.createTopic(topicMeta('tail', 1))
    const batches = Array.from({ length: 20 }, (_, i) => makeBatch([`record-${i}`.repeat(3)]))
    for (const b of batches) await storage.append('tail', 0, appendInput(b), { durable: true, leaderEpoch: 0 })
    const all = Buffer.concat(batches.map((b, i) => withOffset(b, i)))
    assert.deepEqual((await storage.read('tail', 0, 0, 1 << 20, ALL)).records, all)
    for (const offset of [0, 5, 17, 19]) {
      const read = await storage.read('tail', 0, offset, 1 << 20, ALL)
      assert.deepEqual(read.records, Buffer.concat(batches.slice(offset).map((b, i) => withOffset(b, offset + i))))
    }
    const size = batches[0]?.length ?? 0
    const limited = await storage.read('tail', 0, 2, size * 3 + 1, { minOneBatch: false })
    assert.deepEqual(batchRanges(limited.records), [
      [2, 2],
      [3, 3],
      [4, 4],
    ])
  })
})

/**
 * A second connection next to one that holds a lock in a transaction: pg_stat_activity is a
 * snapshot per transaction, so the lock holder cannot watch the others.
 */
interface Locked {
  /** Connections of the database waiting for a lock. */
  waiters: () => Promise<number>
  /** Cuts every connection to the database but the lock holder's and the monitor's. */
  terminateOthers: () => Promise<void>
  release: () => Promise<void>
}

/** Takes an exclusive lock on the batches table, so that commits wait inside the database. */
async function lockBatches(holder: pg.Client, monitor: pg.Client): Promise<Locked> {
  await holder.query('BEGIN')
  await holder.query('LOCK TABLE batches IN ACCESS EXCLUSIVE MODE')
  const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
  return {
    waiters: async () => {
      const { rows } = await monitor.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      )
      return rows[0].n
    },
    terminateOthers: async () => {
      await monitor.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1`,
        [holderPid],
      )
    },
    release: async () => {
      await holder.query('ROLLBACK')
    },
  }
}

/** A promise and, once it settled, its outcome (a result or an error). */
function settle<T>(promise: Promise<T>): { done: Promise<T>; outcome: T | unknown } {
  const watched: { done: Promise<T>; outcome: T | unknown } = { done: promise, outcome: undefined }
  promise.then(
    (result) => {
      watched.outcome = result
    },
    (err: unknown) => {
      watched.outcome = err
    },
  )
  return watched
}

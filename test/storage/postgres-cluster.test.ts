/**
 * Several postgres engines on one database, as brokers of a cluster share it: each hears of the
 * others' commits, log start moves, compactions and leadership claims (LISTEN/NOTIFY on
 * samsa_partitions) within a fraction of a second, wakes its listeners, and serves reads of the
 * partitions it does not lead from the database, never above what it holds. A listener that lost
 * its connection re-reads every partition and converges.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type pg from 'pg'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { silentLogger } from '../../src/storage/engine/logger.ts'
import {
  decodePartitionNotice,
  encodePartitionNotice,
  MAX_PAYLOAD_BYTES,
  NOTICE_GAP_MS,
  type PartitionNoticeEntry,
  PartitionNotifier,
} from '../../src/storage/postgres/partition-notifications.ts'
import { PartitionState } from '../../src/storage/postgres/partition-state.ts'
import type { PostgresStorage } from '../../src/storage/postgres/postgres-storage.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import { appendInput, batchRanges, makeBatch, proxies, topicMeta, waitFor, withOffset } from './helpers.ts'

const ALL = { minOneBatch: true }
const skip = (await hasPostgres()) ? undefined : POSTGRES_MISSING

/** What an engine's listeners heard, in order. */
function heard(storage: PostgresStorage): { appends: string[]; epochs: string[]; hw: Map<string, number> } {
  const out = { appends: [] as string[], epochs: [] as string[], hw: new Map<string, number>() }
  storage.onAppend((topic, partition, hw) => {
    out.appends.push(`${topic}-${partition}@${hw}`)
    out.hw.set(`${topic}-${partition}`, Math.max(out.hw.get(`${topic}-${partition}`) ?? 0, hw))
  })
  storage.onLeaderEpoch((topic, partition, epoch) => out.epochs.push(`${topic}-${partition}@${epoch}`))
  return out
}

describe('partition notices', () => {
  it('round-trip, split under the payload limit, one topic id per run of its partitions', () => {
    const topics = [crypto.randomUUID(), crypto.randomUUID()]
    const entries: PartitionNoticeEntry[] = []
    for (const topicId of topics) {
      for (let p = 0; p < 700; p++) {
        entries.push({
          topicId,
          partition: p,
          logStartOffset: 2 ** 40 + p,
          highWatermark: Number.MAX_SAFE_INTEGER - p,
          leaderEpoch: 2 ** 31 - 1,
          rewritten: p % 3 === 0,
        })
      }
    }
    const origin = crypto.randomUUID()
    const payloads = encodePartitionNotice({ origin, entries })
    assert.ok(payloads.length > 1)
    for (const payload of payloads) assert.ok(Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES, `${payload.length}`)
    const decoded = payloads.map((p) => decodePartitionNotice(p))
    for (const d of decoded) assert.equal(d?.origin, origin)
    assert.deepEqual(
      decoded.flatMap((d) => d?.entries ?? []),
      entries,
    )
    // A small notice: the origin, then the topic id once.
    const [small] = encodePartitionNotice({ origin: 'o', entries: entries.slice(0, 2) })
    assert.equal(
      small,
      `o ${(topics[0] as string).replaceAll('-', '')}/0:${2 ** 40}:${Number.MAX_SAFE_INTEGER}:${2 ** 31 - 1}:c,1:${2 ** 40 + 1}:${Number.MAX_SAFE_INTEGER - 1}:${2 ** 31 - 1}`,
    )
  })

  it('reads an origin alone as a hello, and refuses what is not a notice', () => {
    assert.deepEqual(decodePartitionNotice('o'), { origin: 'o', entries: [] })
    const id = crypto.randomUUID().replaceAll('-', '')
    for (const bad of [
      undefined,
      '',
      `o ${id}`,
      `o ${id}/1:2:3`,
      `o ${id}/1:2:3:4:x`,
      `o zz/1:2:3:4`,
      `o ${id}/1:-2:3:4`,
      `o ${id}/1:2:3:4,`,
    ]) {
      assert.equal(decodePartitionNotice(bad), null, String(bad))
    }
  })
})

describe('the partition notifier', () => {
  /** A notifier over a pool that records the payloads it is asked to send. */
  function recording(): { notifier: PartitionNotifier; sent: PartitionNoticeEntry[][] } {
    const sent: PartitionNoticeEntry[][] = []
    const pool = {
      query: async (config: { values: [string, string[]] }) => {
        sent.push(config.values[1].flatMap((p) => decodePartitionNotice(p)?.entries ?? []))
        return { rows: [] }
      },
    }
    return { notifier: new PartitionNotifier(pool as unknown as pg.Pool, 'me', silentLogger), sent }
  }
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  const state = (partition: number, highWatermark: number): PartitionState =>
    new PartitionState(
      't',
      TOPIC_ID,
      partition,
      { logStartOffset: 0, highWatermark, leaderEpoch: 0, commitFence: 0 },
      0,
    )
  const TOPIC_ID = crypto.randomUUID()

  it('sends nothing while alone, then everything changed meanwhile once another engine appears', async () => {
    const { notifier, sent } = recording()
    const [p0, p1] = [state(0, 5), state(1, 7)]
    notifier.changed(p0)
    notifier.changed(p1, true)
    notifier.changed(p0)
    await tick()
    assert.equal(sent.length, 0)
    assert.equal(notifier.heard('other'), true, 'a new engine')
    assert.equal(notifier.heard('other'), false, 'heard of already')
    await tick()
    assert.deepEqual(
      sent.map((entries) => entries.map((e) => `${e.partition}@${e.highWatermark}${e.rewritten ? 'c' : ''}`)),
      [['0@5', '1@7c']],
    )
  })

  it('coalesces what changes while a notice is in flight or just sent, newest state once', async () => {
    const { notifier, sent } = recording()
    notifier.heard('other')
    const p0 = state(0, 1)
    notifier.changed(p0)
    await tick()
    const first = Date.now()
    for (let hw = 2; hw <= 10; hw++) {
      p0.highWatermark = hw
      notifier.changed(p0)
    }
    await waitFor(() => sent.length === 2, 1000)
    assert.ok(Date.now() - first >= NOTICE_GAP_MS - 1, 'notices start apart')
    assert.deepEqual(
      sent.map((entries) => entries.map((e) => e.highWatermark)),
      [[1], [10]],
    )
  })
})

describe('postgres engines sharing a database', { skip }, () => {
  const { open, sql } = postgresOpener({ retentionCheckIntervalMs: 0 })
  const proxied = proxies()

  /** Two engines on a fresh database, a topic both know. */
  async function pair(topic: string, partitions = 1): Promise<{ db: string; a: PostgresStorage; b: PostgresStorage }> {
    const db = await freshDatabase()
    const a = await open(db)
    const b = await open(db)
    await a.createTopic(topicMeta(topic, partitions))
    await waitFor(async () => (await b.offsets(topic, partitions - 1).catch(() => null)) !== null)
    return { db, a, b }
  }

  it('sends no partition notice while alone on its database, and does once another engine listens', async () => {
    const db = await freshDatabase()
    const a = await open(db)
    await a.createTopic(topicMeta('lonely', 2))
    await a.append('lonely', 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 0 })
    await a.claimLeadership('lonely', 1, 1)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(a.stats.notices, 0)
    const b = await open(db)
    const bHeard = heard(b)
    // What changed while a was alone is told once b is heard of.
    await waitFor(() => a.stats.notices === 1, 1000)
    await a.append('lonely', 0, appendInput(makeBatch(['b'])), { durable: true, leaderEpoch: 0 })
    await waitFor(() => bHeard.hw.get('lonely-0') === 2, 1000)
    assert.equal(a.stats.notices, 2)
  })

  it("hears another engine's appends within a second and serves them from the database", async () => {
    const { a, b } = await pair('seen')
    const bHeard = heard(b)
    assert.equal(await a.claimLeadership('seen', 0, 1), 1)
    await waitFor(() => bHeard.epochs.length === 1, 1000)
    assert.deepEqual(bHeard.epochs, ['seen-0@1'])
    const batches = [makeBatch(['a', 'b']), makeBatch(['c'])]
    const started = Date.now()
    await a.append('seen', 0, appendInput(batches[0] as Buffer), { durable: true, leaderEpoch: 1 })
    await a.append('seen', 0, appendInput(batches[1] as Buffer), { durable: true, leaderEpoch: 1 })
    await waitFor(() => bHeard.hw.get('seen-0') === 3, 1000)
    assert.ok(Date.now() - started < 1000)
    assert.deepEqual(await b.offsets('seen', 0), { logStartOffset: 0, highWatermark: 3, lastStableOffset: 3 })
    const read = await b.read('seen', 0, 0, 1 << 20, ALL)
    assert.deepEqual(
      read.records,
      Buffer.concat([withOffset(batches[0] as Buffer, 0), withOffset(batches[1] as Buffer, 2)]),
    )
    assert.equal(await b.leaderEpoch('seen', 0), 1)
    assert.deepEqual(bHeard.epochs, ['seen-0@1'], 'an epoch is told once')
  })

  it('fences the deposed leader, which then sees the new leader and its appends', async () => {
    const { db, a, b } = await pair('moved')
    const aHeard = heard(a)
    assert.equal(await a.claimLeadership('moved', 0, 1), 1)
    await a.append('moved', 0, appendInput(makeBatch(['a0'])), { durable: true, leaderEpoch: 1 })
    // a holds its batch in its tail; b takes over.
    await waitFor(async () => (await b.offsets('moved', 0)).highWatermark === 1)
    assert.equal(await b.claimLeadership('moved', 0, 2), 2)
    await waitFor(() => aHeard.epochs.includes('moved-0@2'), 1000)
    await assert.rejects(a.append('moved', 0, appendInput(makeBatch(['stale'])), { durable: true, leaderEpoch: 1 }), {
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
    })
    const b1 = makeBatch(['b1', 'b2'])
    assert.equal((await b.append('moved', 0, appendInput(b1), { durable: true, leaderEpoch: 2 })).baseOffset, 1)
    await waitFor(() => aHeard.hw.get('moved-0') === 3, 1000)
    assert.deepEqual(await a.offsets('moved', 0), { logStartOffset: 0, highWatermark: 3, lastStableOffset: 3 })
    assert.deepEqual(batchRanges((await a.read('moved', 0, 0, 1 << 20, ALL)).records), [
      [0, 0],
      [1, 2],
    ])
    assert.deepEqual((await a.read('moved', 0, 1, 1 << 20, ALL)).records, withOffset(b1, 1))
    // The stale append wrote nothing.
    const client = await sql(db)
    const { rows } = await client.query('SELECT base_offset, last_offset FROM batches ORDER BY base_offset')
    assert.deepEqual(
      rows.map((r) => [Number(r.base_offset), Number(r.last_offset)]),
      [
        [0, 0],
        [1, 2],
      ],
    )
    // a leads again and continues where b stopped.
    assert.equal(await a.claimLeadership('moved', 0, 3), 3)
    assert.equal(
      (await a.append('moved', 0, appendInput(makeBatch(['a3'])), { durable: true, leaderEpoch: 3 })).baseOffset,
      3,
    )
  })

  it('sees DeleteRecords and retention through another engine', async () => {
    const { a, b } = await pair('trim', 2)
    for (let i = 0; i < 4; i++) {
      await a.append('trim', 0, appendInput(makeBatch([`v${i}`])), { durable: true, leaderEpoch: 0 })
    }
    await waitFor(async () => (await b.offsets('trim', 0)).highWatermark === 4)
    assert.equal(await a.deleteRecordsBefore('trim', 0, 2), 2)
    await waitFor(async () => (await b.offsets('trim', 0)).logStartOffset === 2, 1000)
    assert.equal((await b.read('trim', 0, 1, 1 << 20, ALL)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
    assert.deepEqual(batchRanges((await b.read('trim', 0, 2, 1 << 20, ALL)).records), [
      [2, 2],
      [3, 3],
    ])
    // Through the engine that does not lead, seen by the leader (whose tail drops what went).
    assert.equal(await b.deleteRecordsBefore('trim', 0, 3), 3)
    await waitFor(async () => (await a.offsets('trim', 0)).logStartOffset === 3, 1000)
    assert.deepEqual(batchRanges((await a.read('trim', 0, 3, 1 << 20, ALL)).records), [[3, 3]])
    // An offset above what b heard of yet, below the stored high watermark: b asks the database.
    await a.append('trim', 1, appendInput(makeBatch(['x', 'y'])), { durable: true, leaderEpoch: 0 })
    assert.equal(await b.deleteRecordsBefore('trim', 1, 2), 2)
  })

  it("tells many partitions' changes in notices under PostgreSQL's payload limit", async () => {
    const partitions = 600
    const { a, b } = await pair('wide', partitions)
    const bHeard = heard(b)
    await Promise.all(
      Array.from({ length: partitions }, (_, p) =>
        a.append('wide', p, appendInput(makeBatch([`v${p}`])), { durable: true, leaderEpoch: 0 }),
      ),
    )
    await waitFor(() => bHeard.hw.size === partitions, 2000)
    for (let p = 0; p < partitions; p += 97) {
      assert.deepEqual(await b.offsets('wide', p), { logStartOffset: 0, highWatermark: 1, lastStableOffset: 1 })
    }
  })

  it('takes notices for partitions it has not read yet once it reads them', async () => {
    const db = await freshDatabase()
    const a = await open(db)
    const b = await open(db)
    await a.createTopic(topicMeta('fresh', 1))
    await a.append('fresh', 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 0 })
    await a.createPartitions('fresh', 3)
    await a.append('fresh', 2, appendInput(makeBatch(['b', 'c'])), { durable: true, leaderEpoch: 0 })
    await waitFor(async () => (await b.offsets('fresh', 2).catch(() => null))?.highWatermark === 2)
    assert.equal((await b.offsets('fresh', 0)).highWatermark, 1)
  })

  it('converges after its listening connection was lost, by re-reading every partition', async () => {
    const db = await freshDatabase()
    const a = await open(db)
    const { proxy, url } = await proxied(db)
    const b = await open(url)
    await a.createTopic(topicMeta('cut', 2))
    await waitFor(async () => (await b.offsets('cut', 1).catch(() => null)) !== null)
    const bHeard = heard(b)
    await a.append('cut', 0, appendInput(makeBatch(['before'])), { durable: true, leaderEpoch: 0 })
    await waitFor(() => bHeard.hw.get('cut-0') === 1, 1000)
    // b hears nothing while cut off: a claims and appends meanwhile.
    proxy.cut()
    assert.equal(await a.claimLeadership('cut', 1, 5), 5)
    await a.append('cut', 1, appendInput(makeBatch(['x', 'y', 'z'])), { durable: true, leaderEpoch: 5 })
    await a.append('cut', 0, appendInput(makeBatch(['during'])), { durable: true, leaderEpoch: 0 })
    await a.deleteRecordsBefore('cut', 0, 1)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(bHeard.epochs.length, 0)
    proxy.restore()
    await waitFor(() => bHeard.hw.get('cut-1') === 3 && bHeard.hw.get('cut-0') === 2, 8000)
    assert.deepEqual(bHeard.epochs, ['cut-1@5'])
    assert.deepEqual(await b.offsets('cut', 0), { logStartOffset: 1, highWatermark: 2, lastStableOffset: 2 })
    assert.deepEqual(await b.offsets('cut', 1), { logStartOffset: 0, highWatermark: 3, lastStableOffset: 3 })
    assert.deepEqual(batchRanges((await b.read('cut', 1, 0, 1 << 20, ALL)).records), [[0, 2]])
    await assert.rejects(b.append('cut', 1, appendInput(makeBatch(['stale'])), { durable: true, leaderEpoch: 0 }), {
      errorCode: ErrorCode.FENCED_LEADER_EPOCH,
    })
    // Listening again: the next change arrives as a notice.
    await a.append('cut', 1, appendInput(makeBatch(['after'])), { durable: true, leaderEpoch: 5 })
    await waitFor(() => bHeard.hw.get('cut-1') === 4, 1000)
  })
})

/**
 * Group commit for the postgres engine: appends that arrive while a commit is in flight wait,
 * and the next commit takes all of them, for every partition, in one statement. That statement
 * is one transaction: it moves each partition's high watermark only where the partition's stored
 * leader epoch and high watermark are the ones the leader assigned offsets from, and inserts the
 * batches of exactly those partitions (one multi-row insert; the bytes travel as one binary
 * parameter that the rows slice). A fenced partition's batches are not written; a commit that
 * fails writes nothing at all. Both acks=1 and acks=all resolve after the commit.
 *
 * Offsets are assigned when a commit is built, from the partition's committed high watermark, in
 * the order appends were called; onAssigned runs then. Only one commit is in flight, so a commit
 * that fails leaves no later commit holding offsets after the lost ones.
 *
 * Between commits, exclusive tasks (a partition reload, a leadership claim) run with no commit
 * in flight.
 */
import type pg from 'pg'
import { assignOffsets } from '../../protocol/records/batch-patch.ts'
import { EngineIoError, fencedLeaderEpoch, unknownPartition } from '../engine/storage-error.ts'
import type { AppendInput, AppendResult } from '../types.ts'
import { ioError, retryOnLostConnection } from './db.ts'
import type { PartitionState, TailBatch } from './partition-state.ts'

/** Counters for tests and metrics. */
export interface CommitStats {
  /** Commit statements sent (each one transaction). */
  commits: number
  /** Commits that failed (nothing of them was written, or the engine re-reads what was). */
  failedCommits: number
  /** Commits sent a second time after a lost connection. */
  retriedCommits: number
  /** Appends committed. */
  appends: number
  /** Batches committed. */
  batches: number
  /** Bytes of batches committed. */
  bytes: number
  /** The most partitions one commit held. */
  maxPartitionsPerCommit: number
}

interface PendingAppend {
  state: PartitionState
  input: AppendInput
  epoch: number
  resolve: (result: AppendResult) => void
  reject: (err: unknown) => void
}

/** An append placed in a commit: its offsets are assigned. */
interface PlacedAppend extends PendingAppend {
  baseOffset: number
  nextOffset: number
}

/** One partition's share of a commit. */
interface PartitionCommit {
  state: PartitionState
  epoch: number
  oldHighWatermark: number
  newHighWatermark: number
  appends: PlacedAppend[]
}

/** What the committer needs from its engine. */
export interface CommitterContext {
  pool: pg.Pool
  now: () => number
  /** Reloads the given partitions' offsets and epochs from the database. */
  reload: (states: PartitionState[]) => Promise<void>
  /** Called after each committed append with the partition's new high watermark. */
  appended: (state: PartitionState, highWatermark: number) => void
  stats: CommitStats
}

const COMMIT_SQL = `
WITH v AS (
  SELECT * FROM unnest($1::int4[], $2::uuid[], $3::int4[], $4::int8[], $5::int8[], $6::int4[])
    AS v(idx, topic_id, partition, old_hw, new_hw, epoch)
),
upd AS (
  UPDATE partitions p SET high_watermark = v.new_hw
  FROM v
  WHERE p.topic_id = v.topic_id AND p.partition = v.partition
    AND p.leader_epoch = v.epoch AND p.high_watermark = v.old_hw
  RETURNING v.idx
),
ins AS (
  INSERT INTO batches (topic_id, partition, base_offset, last_offset, max_timestamp, append_time, size,
    producer_id, producer_epoch, base_sequence, last_sequence, is_transactional, is_control, data)
  SELECT v.topic_id, v.partition, b.base_offset, b.last_offset, b.max_timestamp, $7::int8, b.size,
    b.producer_id, b.producer_epoch, b.base_sequence, b.last_sequence, b.is_transactional, b.is_control,
    substring($8::bytea FROM b.pos FOR b.size)
  FROM unnest($9::int4[], $10::int8[], $11::int8[], $12::int8[], $13::int4[], $14::int8[], $15::int2[],
      $16::int4[], $17::int4[], $18::bool[], $19::bool[], $20::int4[])
    AS b(idx, base_offset, last_offset, max_timestamp, size, producer_id, producer_epoch,
      base_sequence, last_sequence, is_transactional, is_control, pos)
  JOIN upd ON upd.idx = b.idx
  JOIN v ON v.idx = b.idx
  RETURNING 1
)
SELECT v.idx, upd.idx IS NOT NULL AS ok, p.leader_epoch, p.high_watermark
FROM v
LEFT JOIN upd ON upd.idx = v.idx
LEFT JOIN partitions p ON p.topic_id = v.topic_id AND p.partition = v.partition
`

interface CommitRow {
  idx: number
  ok: boolean
  leader_epoch: number | null
  high_watermark: number | null
}

/** Keeps the request's bytes when they are most of their allocation; copies small slices. */
function retainable(data: Buffer): Buffer {
  return data.length * 2 >= data.buffer.byteLength ? data : Buffer.from(data)
}

/** The group committer of one engine. */
export class GroupCommitter {
  readonly #ctx: CommitterContext
  readonly #maxCommitBytes: number
  #pending: PendingAppend[] = []
  #exclusive: { task: () => Promise<void> }[] = []
  #running: Promise<void> | undefined

  constructor(ctx: CommitterContext, maxCommitBytes: number) {
    this.#ctx = ctx
    this.#maxCommitBytes = maxCommitBytes
  }

  /** Queues an append for the next commit; resolves once it is committed. */
  append(state: PartitionState, input: AppendInput, epoch: number): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ state, input, epoch, resolve, reject })
      this.#kick()
    })
  }

  /** Runs `task` between commits, with none in flight. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#exclusive.push({ task: () => task().then(resolve, reject) })
      this.#kick()
    })
  }

  /** Resolves once nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  /** Fails everything queued (close). */
  failPending(err: unknown): void {
    const pending = this.#pending
    this.#pending = []
    for (const p of pending) p.reject(err)
  }

  #kick(): void {
    if (this.#running !== undefined) return
    // Started on the next turn of the event loop, so appends called together share the first commit.
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#loop())
      .finally(() => {
        this.#running = undefined
        if (this.#pending.length > 0 || this.#exclusive.length > 0) this.#kick()
      })
  }

  async #loop(): Promise<void> {
    while (this.#pending.length > 0 || this.#exclusive.length > 0) {
      const exclusive = this.#exclusive
      this.#exclusive = []
      for (const { task } of exclusive) await task()
      if (this.#pending.length > 0) await this.#commitNext()
    }
  }

  /** Takes the queued appends (up to the byte budget) and commits them. */
  async #commitNext(): Promise<void> {
    let bytes = 0
    let count = 0
    while (count < this.#pending.length && (count === 0 || bytes < this.#maxCommitBytes)) {
      bytes += (this.#pending[count] as PendingAppend).input.data.length
      count++
    }
    const taken = this.#pending.splice(0, count)
    const stale = [...new Set(taken.filter((p) => p.state.needsReload && !p.state.deleted).map((p) => p.state))]
    if (stale.length > 0) {
      try {
        await this.#ctx.reload(stale)
      } catch (err) {
        for (const p of taken) p.reject(ioError(err, 'reloading partitions'))
        return
      }
    }
    const { partitions, deferred } = this.#place(taken)
    // Appends of a partition behind one with another epoch go first in the next commit.
    this.#pending.unshift(...deferred)
    if (partitions.length > 0) await this.#send(partitions)
  }

  /** Assigns offsets in call order, one epoch per partition and commit. */
  #place(taken: PendingAppend[]): { partitions: PartitionCommit[]; deferred: PendingAppend[] } {
    const byState = new Map<PartitionState, PartitionCommit>()
    const deferredStates = new Set<PartitionState>()
    const deferred: PendingAppend[] = []
    for (const p of taken) {
      const { state } = p
      if (deferredStates.has(state)) {
        deferred.push(p)
        continue
      }
      if (state.deleted) {
        p.reject(unknownPartition(state.topic, state.partition))
        continue
      }
      if (p.epoch < state.leaderEpoch) {
        p.reject(fencedLeaderEpoch(state.topic, state.partition, p.epoch, state.leaderEpoch))
        continue
      }
      let commit = byState.get(state)
      if (commit !== undefined && commit.epoch !== p.epoch) {
        deferredStates.add(state)
        deferred.push(p)
        continue
      }
      const baseOffset = commit?.newHighWatermark ?? state.highWatermark
      const nextOffset = assignOffsets(p.input.data, p.input.batches, baseOffset)
      try {
        p.input.onAssigned?.(baseOffset)
      } catch (err) {
        p.reject(err)
        continue
      }
      if (commit === undefined) {
        commit = { state, epoch: p.epoch, oldHighWatermark: baseOffset, newHighWatermark: nextOffset, appends: [] }
        byState.set(state, commit)
      }
      commit.newHighWatermark = nextOffset
      commit.appends.push({ ...p, baseOffset, nextOffset })
    }
    return { partitions: [...byState.values()], deferred }
  }

  /**
   * Sends one commit and settles its appends. A commit whose connection was lost is sent again
   * on another (retryOnLostConnection): the statement only writes where the stored high watermark is still the old
   * one, so it cannot write twice, and a partition found at exactly the new high watermark with
   * the same epoch is this commit's first attempt, landed (no other writer has that epoch).
   */
  async #send(partitions: PartitionCommit[]): Promise<void> {
    const stats = this.#ctx.stats
    stats.commits++
    stats.maxPartitionsPerCommit = Math.max(stats.maxPartitionsPerCommit, partitions.length)
    const config = { name: 'samsa-commit', text: COMMIT_SQL, values: params(partitions, this.#ctx.now()) }
    let rows: CommitRow[]
    let retried = false
    try {
      rows = await retryOnLostConnection(async (retry) => {
        if (retry > 0) {
          retried = true
          stats.retriedCommits++
        }
        return (await this.#ctx.pool.query<CommitRow>(config)).rows
      })
    } catch (err) {
      stats.failedCommits++
      // The outcome is unknown if the connection died after the commit was sent: read it back first.
      const failure = ioError(err, 'commit')
      for (const c of partitions) {
        c.state.needsReload = true
        for (const a of c.appends) a.reject(failure)
      }
      return
    }
    const byIdx = new Map(rows.map((r) => [r.idx, r]))
    const settled: (() => void)[] = []
    partitions.forEach((c, idx) => {
      const row = byIdx.get(idx)
      const landedBefore =
        retried && row?.leader_epoch === c.epoch && row.high_watermark === c.newHighWatermark && row.ok === false
      if (row?.ok === true || landedBefore) settled.push(this.#committed(c))
      else this.#refused(c, row)
    })
    for (const settle of settled) settle()
  }

  /** Applies a partition's committed appends; returns what tells the callers. */
  #committed(c: PartitionCommit): () => void {
    const { state } = c
    state.highWatermark = c.newHighWatermark
    state.leaderEpoch = Math.max(state.leaderEpoch, c.epoch)
    const tail: TailBatch[] = []
    const stats = this.#ctx.stats
    for (const a of c.appends) {
      const data = retainable(a.input.data)
      for (const info of a.input.batches) {
        tail.push({
          baseOffset: info.baseOffset,
          lastOffset: info.baseOffset + info.lastOffsetDelta,
          bytes: data.subarray(info.position, info.position + info.size),
        })
        stats.bytes += info.size
      }
      stats.batches += a.input.batches.length
      stats.appends++
    }
    state.addToTail(tail)
    return () => {
      for (const a of c.appends) {
        this.#ctx.appended(state, a.nextOffset)
        a.resolve({ baseOffset: a.baseOffset, logStartOffset: state.logStartOffset })
      }
    }
  }

  /** A partition whose epoch or high watermark did not match, or that no longer exists. */
  #refused(c: PartitionCommit, row: CommitRow | undefined): void {
    const { state } = c
    let err: Error
    if (row === undefined || row.leader_epoch === null || row.high_watermark === null) {
      state.deleted = true
      err = unknownPartition(state.topic, state.partition)
    } else if (row.leader_epoch !== c.epoch) {
      state.leaderEpoch = Math.max(state.leaderEpoch, row.leader_epoch)
      state.needsReload = true
      err = fencedLeaderEpoch(state.topic, state.partition, c.epoch, row.leader_epoch)
    } else {
      // Same epoch, another log end: a commit whose outcome was lost, or a second writer.
      state.needsReload = true
      err = new EngineIoError(
        'IO',
        `${state.topic}-${state.partition}: the stored high watermark ${row.high_watermark} is not ${c.oldHighWatermark}`,
      )
    }
    for (const a of c.appends) a.reject(err)
  }
}

/** The commit statement's parameters: one row per partition, one per batch, and the bytes. */
function params(partitions: PartitionCommit[], now: number): unknown[] {
  const v = {
    idx: [] as number[],
    topicId: [] as string[],
    partition: [] as number[],
    oldHw: [] as number[],
    newHw: [] as number[],
    epoch: [] as number[],
  }
  const b = {
    idx: [] as number[],
    base: [] as number[],
    last: [] as number[],
    maxTs: [] as number[],
    size: [] as number[],
    pid: [] as number[],
    pepoch: [] as number[],
    bseq: [] as number[],
    lseq: [] as number[],
    txn: [] as boolean[],
    control: [] as boolean[],
    pos: [] as number[],
  }
  const chunks: Buffer[] = []
  let blobLength = 0
  partitions.forEach((c, idx) => {
    v.idx.push(idx)
    v.topicId.push(c.state.topicId)
    v.partition.push(c.state.partition)
    v.oldHw.push(c.oldHighWatermark)
    v.newHw.push(c.newHighWatermark)
    v.epoch.push(c.epoch)
    for (const a of c.appends) {
      for (const info of a.input.batches) {
        b.idx.push(idx)
        b.base.push(info.baseOffset)
        b.last.push(info.baseOffset + info.lastOffsetDelta)
        b.maxTs.push(info.maxTimestamp)
        b.size.push(info.size)
        b.pid.push(info.producerId)
        b.pepoch.push(info.producerEpoch)
        b.bseq.push(info.baseSequence)
        // Sequences wrap at 2^31 as Kafka's do.
        b.lseq.push(info.baseSequence < 0 ? -1 : (info.baseSequence + info.lastOffsetDelta) % 0x80000000)
        b.txn.push(info.isTransactional)
        b.control.push(info.isControl)
        // substring() counts from 1.
        b.pos.push(blobLength + info.position + 1)
      }
      chunks.push(a.input.data)
      blobLength += a.input.data.length
    }
  })
  const blob = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, blobLength)
  return [
    v.idx,
    v.topicId,
    v.partition,
    v.oldHw,
    v.newHw,
    v.epoch,
    now,
    blob,
    b.idx,
    b.base,
    b.last,
    b.maxTs,
    b.size,
    b.pid,
    b.pepoch,
    b.bseq,
    b.lseq,
    b.txn,
    b.control,
    b.pos,
  ]
}

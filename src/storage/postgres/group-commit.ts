/**
 * Group commit for the postgres engine: appends that arrive while a commit is in flight wait,
 * and the next commit takes all of them, for every partition it owns, in one statement. That
 * statement is one transaction: it moves each partition's high watermark only where the
 * partition's stored leader epoch, high watermark and commit fence are the ones the leader
 * assigned offsets from, and inserts the batches of exactly those partitions (one multi-row
 * insert; the bytes travel as one binary parameter that the rows slice). A fenced partition's
 * batches are not written; a commit that fails writes nothing at all. Both acks=1 and acks=all
 * resolve after the commit.
 *
 * Offsets are assigned when a commit is built, from the partition's committed high watermark, in
 * the order appends were called; onAssigned runs then. Only one commit per partition is in
 * flight, so a commit that fails leaves no later commit holding offsets after the lost ones.
 *
 * A commit whose answer is lost with its connection is sent again on another (retryOnLostConnection):
 * it only writes where the stored high watermark is still the old one, so it cannot write twice.
 * When that does not bring an answer either, the commit is in doubt: its appends wait, its
 * partitions take no further commit, and the engine asks the database, again and again with
 * pauses, whether it landed (commit-doubt.ts) — answering a landed append as failed would make an
 * idempotent producer's retry a duplicate. Only a commit known not to have landed fails.
 *
 * Between commits, exclusive tasks (a partition reload, a leadership claim) run with no commit
 * in flight.
 */
import type pg from 'pg'
import { assignOffsets } from '../../protocol/records/batch-patch.ts'
import { type StorageLogger, silentLogger } from '../engine/logger.ts'
import { EngineIoError, fencedLeaderEpoch, unknownPartition } from '../engine/storage-error.ts'
import type { AppendInput, AppendResult } from '../types.ts'
import { askLanded, BATCH_CRC_OFFSET, type DoubtAnswer, type DoubtfulPartition } from './commit-doubt.ts'
import { ioError, isConnectionError, retryOnLostConnection } from './db.ts'
import type { PartitionState, TailBatch } from './partition-state.ts'

/** Counters for tests and metrics. */
export interface CommitStats {
  /** Commit statements sent (each one transaction). */
  commits: number
  /** Commits known not to have landed (nothing of them was written). */
  failedCommits: number
  /** Commits sent a second time after a lost connection. */
  retriedCommits: number
  /** Commits whose answer was lost, held until the database told whether they landed. */
  commitsInDoubt: number
  /** Of those, the ones that had landed. */
  inDoubtLanded: number
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
  fence: number
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
  logger?: StorageLogger
}

/** How the committer is sized. */
export interface CommitterOptions {
  /** Bytes of appends one commit takes at most (a larger append commits alone). */
  maxCommitBytes: number
  /** Commits in flight at once, each for its own share of the partitions (at least 1). */
  committers: number
}

/** Pauses before each check of commits in doubt (ms); the last one repeats until the database answers. */
export const DOUBT_DELAYS_MS: readonly number[] = [0, 100, 200, 500, 1000]

const COMMIT_SQL = `
WITH v AS (
  SELECT * FROM unnest($1::int4[], $2::uuid[], $3::int4[], $4::int8[], $5::int8[], $6::int4[], $21::int8[])
    AS v(idx, topic_id, partition, old_hw, new_hw, epoch, fence)
),
upd AS (
  UPDATE partitions p SET high_watermark = v.new_hw
  FROM v
  WHERE p.topic_id = v.topic_id AND p.partition = v.partition
    AND p.leader_epoch = v.epoch AND p.high_watermark = v.old_hw AND p.commit_fence = v.fence
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

/** A small hash of a topic id, to spread topics' partitions over the committers. */
function hashOf(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/**
 * Lets commits run, several at once, except while exclusive tasks run: a task waits for the
 * commits in flight, and commits wait for the tasks.
 */
class CommitGate {
  #inFlight = 0
  #tasks: (() => Promise<void>)[] = []
  #running: Promise<void> | undefined
  #drained: (() => void) | undefined
  readonly #reopened: () => void

  constructor(reopened: () => void) {
    this.#reopened = reopened
  }

  /** The exclusive tasks running, if any. */
  get running(): Promise<void> | undefined {
    return this.#running
  }

  /** Waits for the exclusive tasks, then counts a commit in flight. */
  async enter(): Promise<void> {
    while (this.#running !== undefined) await this.#running
    this.#inFlight++
  }

  leave(): void {
    this.#inFlight--
    if (this.#inFlight === 0) this.#drained?.()
  }

  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#tasks.push(() => Promise.resolve().then(task).then(resolve, reject))
      this.#start()
    })
  }

  #start(): void {
    if (this.#running !== undefined) return
    this.#running = (async () => {
      while (this.#tasks.length > 0) {
        if (this.#inFlight > 0) {
          await new Promise<void>((resolve) => {
            this.#drained = () => {
              this.#drained = undefined
              resolve()
            }
          })
        }
        const tasks = this.#tasks
        this.#tasks = []
        for (const task of tasks) await task()
      }
    })().finally(() => {
      this.#running = undefined
      // A task given after the loop's last look runs in a run of its own.
      if (this.#tasks.length > 0) this.#start()
      else this.#reopened()
    })
  }
}

/** The group committer of one engine: appends go to the committer that owns their partition. */
export class GroupCommitter {
  readonly #lanes: CommitLane[]
  readonly #gate: CommitGate
  readonly #laneOf = new WeakMap<PartitionState, CommitLane>()

  constructor(ctx: CommitterContext, options: CommitterOptions) {
    this.#gate = new CommitGate(() => {
      for (const lane of this.#lanes) lane.kick()
    })
    const count = Math.max(1, Math.floor(options.committers))
    this.#lanes = Array.from({ length: count }, () => new CommitLane(ctx, this.#gate, options.maxCommitBytes))
  }

  /** Queues an append for the next commit of its partition; resolves once it is committed. */
  append(state: PartitionState, input: AppendInput, epoch: number): Promise<AppendResult> {
    return this.#lane(state).append(state, input, epoch)
  }

  /** Runs `task` between commits, with none in flight. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#gate.exclusive(task)
  }

  /** Resolves once no commit or exclusive task is queued or in flight (commits in doubt aside). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [this.#gate.running, ...this.#lanes.map((l) => l.running)].filter((p) => p !== undefined)
      if (busy.length === 0) return
      await Promise.all(busy)
    }
  }

  /** Fails everything queued or in doubt, and stops asking the database (close). */
  failPending(err: unknown): void {
    for (const lane of this.#lanes) lane.fail(err)
  }

  #lane(state: PartitionState): CommitLane {
    let lane = this.#laneOf.get(state)
    if (lane === undefined) {
      lane = this.#lanes[(hashOf(state.topicId) + state.partition) % this.#lanes.length] as CommitLane
      this.#laneOf.set(state, lane)
    }
    return lane
  }
}

/** One committer: its partitions' appends, one commit in flight, and its commits in doubt. */
class CommitLane {
  readonly #ctx: CommitterContext
  readonly #gate: CommitGate
  readonly #maxCommitBytes: number
  readonly #logger: StorageLogger
  #pending: PendingAppend[] = []
  /** Partitions of the commits in doubt: none of their appends is taken meanwhile. */
  readonly #blocked = new Set<PartitionState>()
  #doubts: PartitionCommit[][] = []
  #checking = false
  #running: Promise<void> | undefined
  /** Set by fail(): the error every later append gets. */
  #closed: { err: unknown } | undefined

  constructor(ctx: CommitterContext, gate: CommitGate, maxCommitBytes: number) {
    this.#ctx = ctx
    this.#gate = gate
    this.#maxCommitBytes = maxCommitBytes
    this.#logger = ctx.logger ?? silentLogger
  }

  get running(): Promise<void> | undefined {
    return this.#running
  }

  append(state: PartitionState, input: AppendInput, epoch: number): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) {
        reject(this.#closed.err)
        return
      }
      this.#pending.push({ state, input, epoch, resolve, reject })
      this.kick()
    })
  }

  fail(err: unknown): void {
    this.#closed = { err }
    const pending = this.#pending
    this.#pending = []
    for (const p of pending) p.reject(err)
    const doubts = this.#doubts
    this.#doubts = []
    this.#blocked.clear()
    for (const doubt of doubts) for (const c of doubt) for (const a of c.appends) a.reject(err)
  }

  kick(): void {
    if (this.#running !== undefined || !this.#hasWork()) return
    // Started on the next turn of the event loop, so appends called together share the first commit.
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#loop())
      .finally(() => {
        this.#running = undefined
        this.kick()
      })
  }

  /** Appends queued for partitions not in doubt. */
  #hasWork(): boolean {
    if (this.#closed !== undefined) return false
    if (this.#blocked.size === 0) return this.#pending.length > 0
    return this.#pending.some((p) => !this.#blocked.has(p.state))
  }

  async #loop(): Promise<void> {
    while (this.#hasWork()) {
      await this.#gate.enter()
      try {
        await this.#commitNext()
      } finally {
        this.#gate.leave()
      }
    }
  }

  /** Takes the queued appends of partitions not in doubt (up to the byte budget) and commits them. */
  async #commitNext(): Promise<void> {
    const taken: PendingAppend[] = []
    const kept: PendingAppend[] = []
    let bytes = 0
    for (const p of this.#pending) {
      if (this.#blocked.has(p.state) || (taken.length > 0 && bytes >= this.#maxCommitBytes)) {
        kept.push(p)
      } else {
        taken.push(p)
        bytes += p.input.data.length
      }
    }
    this.#pending = kept
    if (taken.length === 0) return
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
        commit = {
          state,
          epoch: p.epoch,
          fence: state.commitFence,
          oldHighWatermark: baseOffset,
          newHighWatermark: nextOffset,
          appends: [],
        }
        byState.set(state, commit)
      }
      commit.newHighWatermark = nextOffset
      commit.appends.push({ ...p, baseOffset, nextOffset })
    }
    return { partitions: [...byState.values()], deferred }
  }

  /**
   * Sends one commit and settles its appends. A commit whose connection was lost is sent again
   * on another (retryOnLostConnection): the statement only writes where the stored high watermark
   * is still the old one, so it cannot write twice, and a partition found at exactly the new high
   * watermark with the same epoch is this commit's first attempt, landed (no other writer has
   * that epoch). A commit with no answer, and a partition refused after a lost attempt, are in doubt.
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
      if (retried || isConnectionError(err)) {
        this.#doubt(partitions, err)
        return
      }
      // The database answered with an error: the statement, one transaction, wrote nothing.
      stats.failedCommits++
      const failure = ioError(err, 'commit')
      for (const c of partitions) {
        c.state.needsReload = true
        for (const a of c.appends) a.reject(failure)
      }
      return
    }
    const byIdx = new Map(rows.map((r) => [r.idx, r]))
    const settled: (() => void)[] = []
    const doubtful: PartitionCommit[] = []
    partitions.forEach((c, idx) => {
      const row = byIdx.get(idx)
      const landedBefore =
        retried && row?.leader_epoch === c.epoch && row.high_watermark === c.newHighWatermark && row.ok === false
      if (row?.ok === true || landedBefore) settled.push(this.#committed(c, true))
      // The statement's snapshot may predate a lost attempt that landed while this one waited.
      else if (retried) doubtful.push(c)
      else this.#refused(c, row)
    })
    for (const settle of settled) settle()
    if (doubtful.length > 0) this.#doubt(doubtful, new Error('refused after a lost attempt'))
  }

  /** Holds a commit's appends and partitions until the database tells whether it landed. */
  #doubt(partitions: PartitionCommit[], err: unknown): void {
    const closed = this.#closed
    if (closed !== undefined) {
      for (const c of partitions) for (const a of c.appends) a.reject(closed.err)
      return
    }
    this.#ctx.stats.commitsInDoubt++
    for (const c of partitions) this.#blocked.add(c.state)
    this.#doubts.push(partitions)
    this.#logger.warn(
      { err, partitions: partitions.map((c) => `${c.state.topic}-${c.state.partition}`) },
      'the answer to a PostgreSQL commit was lost; its appends wait until the database tells whether it landed',
    )
    this.#startChecking()
  }

  #startChecking(): void {
    if (this.#checking) return
    this.#checking = true
    this.#check().finally(() => {
      this.#checking = false
      if (this.#doubts.length > 0 && this.#closed === undefined) this.#startChecking()
    })
  }

  /** Asks the database about every commit in doubt, with pauses, until it answers or the engine closes. */
  async #check(): Promise<void> {
    let failures = 0
    for (let round = 0; this.#doubts.length > 0 && this.#closed === undefined; round++) {
      const delay = DOUBT_DELAYS_MS[Math.min(round, DOUBT_DELAYS_MS.length - 1)] as number
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
      if (this.#closed !== undefined) return
      const doubts = this.#doubts.slice()
      const asked = doubts.flat()
      let answers: DoubtAnswer[]
      try {
        answers = await askLanded(this.#ctx.pool, asked.map(doubtful))
      } catch (err) {
        if (failures++ % 20 === 0) {
          this.#logger.warn({ err }, 'cannot ask PostgreSQL whether commits in doubt landed; asking again')
        }
        continue
      }
      // Closed meanwhile: those appends have failed already.
      if (this.#closed !== undefined) return
      this.#doubts = this.#doubts.filter((d) => !doubts.includes(d))
      const settled: (() => void)[] = []
      let i = 0
      for (const doubt of doubts) {
        let landed = false
        for (const c of doubt) {
          const answer = answers[i++] as DoubtAnswer
          landed ||= answer.landed
          settled.push(this.#answered(c, answer))
          this.#blocked.delete(c.state)
        }
        if (landed) this.#ctx.stats.inDoubtLanded++
        else this.#ctx.stats.failedCommits++
        this.#logger.info(
          { partitions: doubt.map((c) => `${c.state.topic}-${c.state.partition}`), landed },
          'PostgreSQL told whether a commit in doubt landed',
        )
      }
      for (const settle of settled) settle()
      round = -1
      failures = 0
      this.kick()
    }
  }

  /** Settles a partition of a commit in doubt as the database answered. */
  #answered(c: PartitionCommit, answer: DoubtAnswer): () => void {
    const { state } = c
    if (answer.landed) {
      // The engine's view moved meanwhile (a leadership claim): the database's is read again.
      const inPlace = !state.deleted && state.highWatermark === c.oldHighWatermark && answer.stored !== undefined
      if (!inPlace) state.needsReload = true
      const settle = this.#committed(c, inPlace)
      if (inPlace) state.commitFence = (answer.stored as { commitFence: number }).commitFence
      return settle
    }
    let err: Error
    if (answer.storedEpoch === undefined) {
      state.deleted = true
      err = unknownPartition(state.topic, state.partition)
    } else if (answer.storedEpoch !== c.epoch) {
      state.leaderEpoch = Math.max(state.leaderEpoch, answer.storedEpoch)
      state.needsReload = true
      err = fencedLeaderEpoch(state.topic, state.partition, c.epoch, answer.storedEpoch)
    } else {
      if (answer.stored !== undefined) state.reload(answer.stored)
      else state.needsReload = true
      err = new EngineIoError(
        'IO',
        `${state.topic}-${state.partition}: a commit whose answer was lost did not land (offsets ${c.oldHighWatermark} to ${c.newHighWatermark - 1})`,
      )
    }
    return () => {
      for (const a of c.appends) a.reject(err)
    }
  }

  /**
   * A partition's appends are committed; returns what tells the callers. `apply`: the engine's
   * view of the partition moves to the commit's end (and its tail takes the batches).
   */
  #committed(c: PartitionCommit, apply: boolean): () => void {
    const { state } = c
    const stats = this.#ctx.stats
    const tail: TailBatch[] = []
    for (const a of c.appends) {
      const data = retainable(a.input.data)
      for (const info of a.input.batches) {
        if (apply) {
          tail.push({
            baseOffset: info.baseOffset,
            lastOffset: info.baseOffset + info.lastOffsetDelta,
            bytes: data.subarray(info.position, info.position + info.size),
          })
        }
        stats.bytes += info.size
      }
      stats.batches += a.input.batches.length
      stats.appends++
    }
    if (apply) {
      state.highWatermark = c.newHighWatermark
      state.leaderEpoch = Math.max(state.leaderEpoch, c.epoch)
      state.addToTail(tail)
    }
    return () => {
      for (const a of c.appends) {
        if (apply) this.#ctx.appended(state, a.nextOffset)
        a.resolve({ baseOffset: a.baseOffset, logStartOffset: state.logStartOffset })
      }
    }
  }

  /** A partition whose epoch, high watermark or fence did not match, or that no longer exists. */
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
    } else if (row.high_watermark === c.oldHighWatermark) {
      // Only the fence moved: raised by a check of this engine whose answer was lost.
      state.needsReload = true
      err = new EngineIoError('IO', `${state.topic}-${state.partition}: the commit fence moved`)
    } else {
      // Same epoch, another log end: a second writer.
      state.needsReload = true
      err = new EngineIoError(
        'IO',
        `${state.topic}-${state.partition}: the stored high watermark ${row.high_watermark} is not ${c.oldHighWatermark}`,
      )
    }
    for (const a of c.appends) a.reject(err)
  }
}

/** What the database is asked about a partition of a commit in doubt. */
function doubtful(c: PartitionCommit): DoubtfulPartition {
  const a = c.appends[0] as PlacedAppend
  const info = a.input.batches[0] as AppendInput['batches'][number]
  return {
    topicId: c.state.topicId,
    partition: c.state.partition,
    epoch: c.epoch,
    oldHighWatermark: c.oldHighWatermark,
    newHighWatermark: c.newHighWatermark,
    firstBatch: {
      lastOffset: info.baseOffset + info.lastOffsetDelta,
      size: info.size,
      producerId: info.producerId,
      baseSequence: info.baseSequence,
      crc: a.input.data.readUInt32BE(info.position + BATCH_CRC_OFFSET),
    },
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
    fence: [] as number[],
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
    v.fence.push(c.fence)
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
    v.fence,
  ]
}

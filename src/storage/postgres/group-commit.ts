/**
 * Group commit for the postgres engine. Appends wait in one queue; a commit takes the queued
 * appends of whole partitions and commits them in one statement (commit-query.ts). Up to
 * `committers` commits are in flight at once, each on a pooled connection of its own and each
 * with partitions of its own (a partition is in one commit at a time, so its commits stay in
 * order): one starts whenever none is in flight, taking everything queued, and more only while
 * what is queued for the other partitions is worth a commit (parallelCommitBytes). A trickle of
 * appends thus makes few, large commits, and a flood spreads over several PostgreSQL backends
 * (and cores) — one backend takes a commit's bytes no faster than one core compresses them.
 *
 * The statement is one transaction: it moves each partition's high watermark only where the
 * partition's stored leader epoch, high watermark and commit fence are the ones the leader
 * assigned offsets from, and inserts the batches of exactly those partitions. A fenced
 * partition's batches are not written; a commit that fails writes nothing at all. Both acks=1
 * and acks=all resolve after the commit.
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
import type { IoHealth } from '../engine/io-health.ts'
import { type StorageLogger, silentLogger } from '../engine/logger.ts'
import { EngineIoError, fencedLeaderEpoch, unknownPartition } from '../engine/storage-error.ts'
import type { StorageMetrics } from '../engine/storage-metrics.ts'
import type { AppendInput, AppendResult } from '../types.ts'
import { askLanded, BATCH_CRC_OFFSET, type DoubtAnswer, type DoubtfulPartition } from './commit-doubt.ts'
import { type CommitRow, commitStatement } from './commit-query.ts'
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
  /** The most commits in flight at once. */
  maxCommitsInFlight: number
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
  /** The engine's health, told how each commit went. */
  health: IoHealth
  /** Told of each commit's time and size, when the broker measures its storage. */
  metrics: StorageMetrics | undefined
}

/** How the committer is sized. */
export interface CommitterOptions {
  /** Bytes of appends one commit takes at most (a larger append commits alone). */
  maxCommitBytes: number
  /** Commits in flight at once, each for partitions of its own (at least 1). */
  committers: number
  /**
   * Bytes queued (for partitions not in a commit) that start a further commit while one is in
   * flight; below that, appends wait for the commit in flight and go into the next (default 256 KiB).
   */
  parallelCommitBytes?: number
}

const DEFAULT_PARALLEL_COMMIT_BYTES = 256 << 10

/** Pauses before each check of commits in doubt (ms); the last one repeats until the database answers. */
export const DOUBT_DELAYS_MS: readonly number[] = [0, 100, 200, 500, 1000]

/** Keeps the request's bytes when they are most of their allocation; copies small slices. */
function retainable(data: Buffer): Buffer {
  return data.length * 2 >= data.buffer.byteLength ? data : Buffer.from(data)
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

  /** Counts a commit in flight, unless exclusive tasks are running or waiting (then false). */
  tryEnter(): boolean {
    if (this.#running !== undefined) return false
    this.#inFlight++
    return true
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

/**
 * The group committer of one engine: up to `committers` commits in flight, each on its own
 * pooled connection and each holding its own partitions (a partition is in one commit at a time).
 */
export class GroupCommitter {
  readonly #ctx: CommitterContext
  readonly #gate: CommitGate
  readonly #maxCommitBytes: number
  readonly #committers: number
  readonly #parallelBytes: number
  readonly #logger: StorageLogger
  #pending: PendingAppend[] = []
  /** Partitions in a commit in flight: their appends wait for the next one. */
  readonly #busy = new Set<PartitionState>()
  /** Partitions of the commits in doubt: none of their appends is taken meanwhile. */
  readonly #blocked = new Set<PartitionState>()
  #doubts: PartitionCommit[][] = []
  #checking = false
  /** Commits in flight. */
  readonly #running = new Set<Promise<void>>()
  #scheduled: Promise<void> | undefined
  /** Set by failPending(): the error every later append gets. */
  #closed: { err: unknown } | undefined

  constructor(ctx: CommitterContext, options: CommitterOptions) {
    this.#ctx = ctx
    this.#gate = new CommitGate(() => this.#pump())
    this.#maxCommitBytes = options.maxCommitBytes
    this.#committers = Math.max(1, Math.floor(options.committers))
    this.#parallelBytes = options.parallelCommitBytes ?? DEFAULT_PARALLEL_COMMIT_BYTES
    this.#logger = ctx.logger ?? silentLogger
  }

  /** Queues an append for the next commit of its partition; resolves once it is committed. */
  append(state: PartitionState, input: AppendInput, epoch: number): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) {
        reject(this.#closed.err)
        return
      }
      this.#pending.push({ state, input, epoch, resolve, reject })
      this.#schedule()
    })
  }

  /** Runs `task` between commits, with none in flight. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#gate.exclusive(task)
  }

  /** Resolves once no commit or exclusive task is queued or in flight (commits in doubt aside). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [this.#scheduled, this.#gate.running, ...this.#running].filter((p) => p !== undefined)
      if (busy.length === 0) {
        if (this.#eligibleBytes() === 0) return
        this.#pump()
        continue
      }
      await Promise.all(busy)
    }
  }

  /** Fails everything queued or in doubt, and stops asking the database (close). */
  failPending(err: unknown): void {
    this.#closed = { err }
    const pending = this.#pending
    this.#pending = []
    for (const p of pending) p.reject(err)
    const doubts = this.#doubts
    this.#doubts = []
    this.#blocked.clear()
    for (const doubt of doubts) for (const c of doubt) for (const a of c.appends) a.reject(err)
  }

  /** Pumps on the next turn of the event loop, so appends called together share a commit. */
  #schedule(): void {
    if (this.#scheduled !== undefined) return
    this.#scheduled = new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#scheduled = undefined
        this.#pump()
        resolve()
      }),
    )
  }

  /**
   * Starts commits while committers are free: one whenever none is in flight, and more at once
   * only while the appends they would take make up a commit worth sharing the work
   * (parallelCommitBytes): a trickle of small appends keeps going into one commit at a time,
   * each as large as it can be, instead of into many small ones that cost PostgreSQL a
   * transaction and a WAL flush each.
   */
  #pump(): void {
    while (this.#closed === undefined && this.#running.size < this.#committers) {
      const bytes = this.#eligibleBytes()
      if (bytes === 0 || (this.#running.size > 0 && bytes < this.#parallelBytes)) return
      if (!this.#gate.tryEnter()) return
      const taken = this.#take(bytes)
      const run = this.#commit(taken).finally(() => {
        this.#gate.leave()
        this.#running.delete(run)
        this.#pump()
      })
      this.#running.add(run)
      const stats = this.#ctx.stats
      stats.maxCommitsInFlight = Math.max(stats.maxCommitsInFlight, this.#running.size)
    }
  }

  /** Bytes of the appends queued for partitions neither in a commit nor in doubt. */
  #eligibleBytes(): number {
    let bytes = 0
    for (const p of this.#pending)
      if (!this.#busy.has(p.state) && !this.#blocked.has(p.state)) bytes += p.input.data.length
    return bytes
  }

  /**
   * Takes the queued appends of whole partitions, partitions in the order their first append
   * came, until the commit holds its share of the eligible bytes (`eligible` over the committers
   * free, at least parallelCommitBytes, at most maxCommitBytes); marks those partitions busy.
   */
  #take(eligible: number): PendingAppend[] {
    const free = this.#committers - this.#running.size
    const budget = Math.min(this.#maxCommitBytes, Math.max(this.#parallelBytes, Math.ceil(eligible / free)))
    // The eligible partitions' queued bytes, in the order of their first append.
    const queued = new Map<PartitionState, number>()
    for (const p of this.#pending) {
      const { state } = p
      if (this.#busy.has(state) || this.#blocked.has(state)) continue
      queued.set(state, (queued.get(state) ?? 0) + p.input.data.length)
    }
    const chosen = new Set<PartitionState>()
    let planned = 0
    for (const [state, bytes] of queued) {
      if (chosen.size > 0 && planned >= budget) break
      chosen.add(state)
      planned += bytes
    }
    const taken: PendingAppend[] = []
    const kept: PendingAppend[] = []
    /** Partitions whose later appends wait for their next commit (this one is full). */
    const full = new Set<PartitionState>()
    let bytes = 0
    for (const p of this.#pending) {
      const size = p.input.data.length
      if (!chosen.has(p.state) || full.has(p.state) || (taken.length > 0 && bytes + size > this.#maxCommitBytes)) {
        if (chosen.has(p.state)) full.add(p.state)
        kept.push(p)
        continue
      }
      taken.push(p)
      bytes += size
    }
    this.#pending = kept
    for (const p of taken) this.#busy.add(p.state)
    return taken
  }

  /** Commits the appends taken (reloading stale partitions first); frees their partitions after. */
  async #commit(taken: PendingAppend[]): Promise<void> {
    const states = new Set(taken.map((p) => p.state))
    try {
      const stale = [...states].filter((s) => s.needsReload && !s.deleted)
      if (stale.length > 0) {
        try {
          await this.#ctx.reload(stale)
        } catch (err) {
          for (const p of taken) p.reject(ioError(err, 'reloading partitions'))
          return
        }
      }
      const { partitions, deferred } = this.#place(taken)
      // Appends of a partition behind one with another epoch go first in its next commit.
      this.#pending.unshift(...deferred)
      if (partitions.length > 0) await this.#send(partitions)
    } finally {
      for (const state of states) this.#busy.delete(state)
    }
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
    const statement = commitStatement(partitions, this.#ctx.now())
    const metrics = this.#ctx.metrics
    const start = performance.now()
    let rows: CommitRow[]
    let retried = false
    try {
      rows = await retryOnLostConnection(async (retry) => {
        if (retry > 0) {
          retried = true
          stats.retriedCommits++
        }
        return await statement.run(this.#ctx.pool)
      })
    } catch (err) {
      metrics?.failed('commit')
      this.#ctx.health.failed(err)
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
    this.#ctx.health.succeeded()
    if (metrics !== undefined) commitMeasured(metrics, partitions, performance.now() - start)
    const byIdx = new Map(rows.map((r) => [r.idx, r]))
    const settled: (() => void)[] = []
    const doubtful: PartitionCommit[] = []
    partitions.forEach((c, idx) => {
      const row = byIdx.get(idx)
      const landedBefore =
        retried && row?.leader_epoch === c.epoch && row.high_watermark === c.newHighWatermark && row.ok === false
      if (row?.ok === true || landedBefore) settled.push(this.#committed(c, this.#inPlace(c)))
      // The statement's snapshot may predate a lost attempt that landed while this one waited.
      else if (retried) doubtful.push(c)
      else this.#refused(c, row)
    })
    for (const settle of settled) settle()
    if (doubtful.length > 0) this.#doubt(doubtful, new Error('refused after a lost attempt'))
  }

  /**
   * True when the engine's view of a landed commit's partition is still the one the commit was
   * built on; else another engine's notice moved it meanwhile (a claim after the commit), and the
   * partition is read again before its next commit.
   */
  #inPlace(c: PartitionCommit): boolean {
    const { state } = c
    if (!state.deleted && state.highWatermark === c.oldHighWatermark) return true
    state.needsReload = true
    return false
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
      this.#pump()
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
   * view of the partition moves to the commit's end (and its tail takes the batches), and the
   * partition is this engine's at the commit's epoch; else its view only rises to the commit's
   * end (the database holds it).
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
      state.own(c.epoch)
      state.addToTail(tail)
    } else if (!state.deleted) {
      state.highWatermark = Math.max(state.highWatermark, c.newHighWatermark)
    }
    return () => {
      for (const a of c.appends) {
        this.#ctx.appended(state, a.nextOffset)
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

/** One commit's time and size: the appends and bytes it sent. */
function commitMeasured(metrics: StorageMetrics, partitions: PartitionCommit[], ms: number): void {
  let appends = 0
  let bytes = 0
  for (const c of partitions) {
    appends += c.appends.length
    for (const a of c.appends) bytes += a.input.data.length
  }
  metrics.syncSeconds.observe(ms / 1000)
  metrics.syncAppends.observe(appends)
  metrics.syncBytes.observe(bytes)
}

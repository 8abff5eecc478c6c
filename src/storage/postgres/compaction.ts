/**
 * Log compaction on the postgres engine (cleanup.policy=compact and compact,delete), by the rules
 * the local engine's cleaner follows (../engine/compaction.ts holds them for both): the last
 * record of each key stays, tombstones until their delete horizon (KIP-534), aborted
 * transactional records go, transaction markers stay or go as the local cleaner decides, and
 * offsets never change.
 *
 * What is cleanable. The postgres engine has no segments, so no active segment either: the
 * cleanable range runs from the log start up to the first batch younger than
 * min.compaction.lag.ms (aged by its max timestamp, or by when it was written when it has none),
 * the first batch of a transaction without a marker (compaction-txn.ts), and the high watermark
 * the pass started from, whichever comes first. Everything from there on (the active tail) is
 * left alone. Offsets below the partition's checkpointed `cleaner_offset` were cleaned by an
 * earlier pass; the rest of the range is dirty. A pass is due by min.cleanable.dirty.ratio,
 * max.compaction.lag.ms or an expired delete horizon (dueReason), measured per batch as the local
 * engine measures per segment. Measuring reads the columns of every batch of the partition, so a
 * partition found with nothing due is not measured again until its log end, log start, epoch or
 * config change, or the clock reaches the next moment that could make a pass due.
 *
 * A pass. (1) One scan of the range's batch columns (producer id, flags, offsets; the bytes of
 * control batches only) learns the transactions. (2) The dirty range's data batches fill the
 * key map, up to log.cleaner.dedupe.buffer.size (the pass then ends at the first batch left
 * out). (3) The aborted-transaction index (the producer state) is told of aborted transactions
 * without data and forgets them durably before any ABORT marker may go. (4) Every batch from the
 * log start to the end of the map is filtered; the batches that change are written back.
 *
 * The write. The leader, which holds the partition's epoch, rewrites a compacted range in one
 * transaction: one statement that locks the partition's row where the stored leader epoch is
 * still this engine's (a deposed leader writes nothing: the new leader's claim either committed
 * first, and the epoch no longer matches, or waits for this transaction), removes the emptied
 * batches' rows and rewrites the changed ones in place, whole batches with their offsets. A
 * changed batch is an UPDATE of its row rather than a DELETE and an INSERT: a DeleteRecords or
 * retention statement running meanwhile follows an updated row and deletes it as it would have
 * deleted the old one, while a row inserted after its snapshot would survive below the log
 * start. A pass writes in ranges of a bounded size, each its own transaction (every state in
 * between is a correctly compacted log, as the local engine swaps one group of segments at a
 * time), so that appends to the partition, whose commit waits on the row lock, never wait long;
 * the last one also stores the checkpoint (cleaner_offset, cleaner_horizon). A write whose
 * connection was lost runs again (it is idempotent). After each write the engine's in-memory tail
 * takes the same changes, so that no read is served a batch the compaction removed; after a write
 * whose outcome stays unknown, the tail drops the range and reads go to the database.
 */
import type pg from 'pg'
import type { LogConfig } from '../../config/topic-configs.ts'
import { type BatchInfo, readBatchHeader } from '../../protocol/records/batch-header.ts'
import { RecordsError } from '../../protocol/records/errors.ts'
import {
  CleanerSchedule,
  type CleanerScheduleOptions,
  dedupeBufferBytes,
  type PartitionCleanResult,
} from '../engine/cleaner-schedule.ts'
import {
  addToOffsetMap,
  type CleanResult,
  dueReason,
  emptyCleanResult,
  filterBatch,
  forgetCleanedAborts,
  type OffsetMap,
  Slicer,
} from '../engine/compaction.ts'
import { TxnIndex } from '../engine/compaction-txn.ts'
import type { AbortedTxnsCleanedHandler } from '../types.ts'
import { boolField, bytesField, copyLiteral, int8Field, selectRows } from './copy.ts'
import { idempotentQuery, ioError } from './db.ts'
import type { PartitionState } from './partition-state.ts'

/** Rows of batch columns per round trip of the transaction scan. */
const SCAN_ROWS = 2000
/** Bytes of batches per round trip when their data is read (a larger batch comes alone). */
const PAGE_BYTES = 4 << 20
const PAGE_ROWS = 2000
/** Bytes of rewritten batches, and rows changed, that one write transaction takes at most. */
const WRITE_BYTES = 1 << 20
const WRITE_ROWS = 1000

/** What the cleaner needs from its engine. */
export interface PostgresCleanerOptions extends CleanerScheduleOptions {
  pool: pg.Pool
  /** The partitions of the compacted topics now, with their topic's effective log config. */
  partitions: () => { state: PartitionState; config: LogConfig }[]
  now: () => number
  /** Who keeps the aborted-transaction index, once known (Storage.onAbortedTxnsCleaned). */
  abortedTxnsCleaned: () => AbortedTxnsCleanedHandler | undefined
  /** A write rewrote rows of the partition (the other brokers hear of it). */
  rewritten: (state: PartitionState) => void
}

const PLAN_SQL = `
WITH p AS (
  SELECT log_start_offset, leader_epoch, greatest(cleaner_offset, log_start_offset) AS first_dirty, cleaner_horizon
  FROM partitions WHERE topic_id = $1 AND partition = $2
),
b AS (
  SELECT base_offset, last_offset, size,
    CASE WHEN max_timestamp >= 0 THEN max_timestamp ELSE append_time END AS ts
  FROM batches, p
  WHERE topic_id = $1 AND partition = $2 AND last_offset >= p.log_start_offset AND base_offset < $3
),
c AS (
  SELECT coalesce(min(base_offset) FILTER (WHERE ts > $4::int8), $3::int8) AS cut FROM b
)
SELECT p.log_start_offset, p.leader_epoch, p.first_dirty, p.cleaner_horizon, c.cut,
  (SELECT coalesce(sum(size), 0) FROM b WHERE b.base_offset < c.cut)::int8 AS total_bytes,
  (SELECT coalesce(sum(size), 0) FROM b WHERE b.base_offset < c.cut AND b.last_offset >= p.first_dirty)::int8
    AS dirty_bytes,
  (SELECT min(ts) FROM b WHERE b.base_offset < c.cut AND b.last_offset >= p.first_dirty AND b.ts > 0)
    AS oldest_dirty,
  (SELECT min(ts) FROM b WHERE b.base_offset >= c.cut AND b.ts > $4::int8) AS oldest_young
FROM p, c
`

interface PlanRow {
  log_start_offset: number
  leader_epoch: number
  first_dirty: number
  cleaner_horizon: number | null
  cut: number
  total_bytes: number
  dirty_bytes: number
  oldest_dirty: number | null
  oldest_young: number | null
}

/** A partition found with nothing due: what it looked like then, and until when that holds. */
interface Idle {
  highWatermark: number
  logStartOffset: number
  leaderEpoch: number
  /** Another engine led the partition (PartitionState.foreign). */
  foreign: boolean
  config: string
  /** The first moment the clock alone could make a pass due. */
  until: number
}

/**
 * The transaction scan's rows after `after` and below `end` whose last offset is at least
 * `logStart`: batch columns, and the bytes of control batches only. A binary COPY, as the reads
 * of batches are (copy.ts): its values go into the text.
 */
function scanSql(state: PartitionState, after: number, end: number, logStart: number): string {
  const [t, p, a, e, l, n] = [state.topicId, state.partition, after, end, logStart, SCAN_ROWS].map(copyLiteral)
  return `
SELECT base_offset, last_offset, producer_id, is_transactional, is_control,
  CASE WHEN is_control THEN data END AS data
FROM batches
WHERE topic_id = ${t} AND partition = ${p} AND base_offset > ${a} AND base_offset < ${e} AND last_offset >= ${l}
ORDER BY base_offset
LIMIT ${n}`
}

/**
 * Whole batches after `after` and below `end`, from the one holding offset `from` on, up to
 * PAGE_BYTES (at least one); only data batches when `dataOnly`. A binary COPY: the bytes as stored.
 */
function pageSql(state: PartitionState, after: number, end: number, from: number, dataOnly: boolean): string {
  const [t, p, a, e, f, n, m] = [state.topicId, state.partition, after, end, from, PAGE_ROWS, PAGE_BYTES].map(
    copyLiteral,
  )
  return `
SELECT base_offset, data FROM (
  SELECT base_offset, data, size, sum(size) OVER (ORDER BY base_offset) AS total
  FROM batches
  WHERE topic_id = ${t} AND partition = ${p} AND base_offset > ${a} AND base_offset < ${e} AND last_offset >= ${f}
    AND base_offset >= coalesce(
      (SELECT max(base_offset) FROM batches WHERE topic_id = ${t} AND partition = ${p} AND base_offset <= ${f}), ${f})
    ${dataOnly ? 'AND NOT is_control' : ''}
  ORDER BY base_offset
  LIMIT ${n}
) c
WHERE c.total <= ${m} OR c.total = c.size
ORDER BY base_offset`
}

interface PageRow {
  base_offset: number
  data: Buffer
}

/**
 * One compacted range, one transaction: the partition's row is locked and its epoch checked
 * first (the batches' writes run only when it matched), then emptied batches are deleted and
 * changed ones rewritten in place. The last write of a pass also stores the checkpoint.
 */
const WRITE_SQL = `
WITH p AS (
  UPDATE partitions
  SET cleaner_offset = CASE WHEN $4::bool THEN $5::int8 ELSE cleaner_offset END,
    cleaner_horizon = CASE WHEN $4::bool THEN $6::int8 ELSE least(cleaner_horizon, $6::int8) END
  WHERE topic_id = $1 AND partition = $2 AND leader_epoch = $3
  RETURNING 1
),
d AS (
  DELETE FROM batches
  WHERE topic_id = $1 AND partition = $2 AND base_offset = ANY($7::int8[]) AND EXISTS (SELECT 1 FROM p)
  RETURNING 1
),
u AS (
  UPDATE batches b
  SET data = substring($8::bytea FROM r.pos FOR r.size), size = r.size, max_timestamp = r.max_timestamp
  FROM unnest($9::int8[], $10::int4[], $11::int4[], $12::int8[]) AS r(base_offset, pos, size, max_timestamp)
  WHERE b.topic_id = $1 AND b.partition = $2 AND b.base_offset = r.base_offset AND EXISTS (SELECT 1 FROM p)
  RETURNING 1
)
SELECT (SELECT count(*) FROM p)::int4 AS ok, (SELECT count(*) FROM d)::int4 AS deleted,
  (SELECT count(*) FROM u)::int4 AS updated
`

/** Batches changed by a pass and not yet written: base offset → new bytes, or null when removed. */
type Changes = Map<number, Buffer | null>

/** Stops a pass: the engine closes, the partition went, or another leader holds it. */
class PassStopped extends Error {}

/** The background compaction of the postgres engine's compacted partitions. */
export class PostgresCleaner extends CleanerSchedule {
  readonly #options: PostgresCleanerOptions
  readonly #idle = new WeakMap<PartitionState, Idle>()

  constructor(options: PostgresCleanerOptions) {
    super(options)
    this.#options = options
  }

  protected override async pass(): Promise<PartitionCleanResult[]> {
    const results: PartitionCleanResult[] = []
    for (const { state, config } of this.#options.partitions()) {
      if (this.stopped) break
      const { topic, partition } = state
      try {
        const result = await this.#clean(state, config)
        if (result !== null) results.push({ topic, partition, ...result })
      } catch (err) {
        if (err instanceof PassStopped) continue
        this.#options.metrics?.failed('cleaner')
        this.#options.logger.error({ err: ioError(err, 'compaction'), topic, partition }, 'log cleaning failed')
      }
    }
    return results
  }

  /** One partition's pass, if one is due; null when none was, or it stopped. */
  async #clean(state: PartitionState, config: LogConfig): Promise<CleanResult | null> {
    if (!config.cleanupPolicy.compact || state.deleted) return null
    const { pool } = this.#options
    const now = this.#options.now()
    const seen = {
      highWatermark: state.highWatermark,
      logStartOffset: state.logStartOffset,
      leaderEpoch: state.leaderEpoch,
      foreign: state.foreign,
      config: JSON.stringify(config),
    }
    const idle = this.#idle.get(state)
    if (idle !== undefined && now < idle.until && sameView(idle, seen)) return null
    this.#idle.delete(state)
    const lagCutoff = config.minCompactionLagMs > 0 ? now - config.minCompactionLagMs : null
    const { rows } = await idempotentQuery<PlanRow>(pool, {
      name: 'samsa-clean-plan',
      text: PLAN_SQL,
      values: [state.topicId, state.partition, seen.highWatermark, lagCutoff],
    })
    const plan = rows[0]
    if (plan === undefined) return null
    const rest = (): null => {
      this.#idle.set(state, { ...seen, until: idleUntil(plan, config) })
      return null
    }
    // Only the leader compacts: a partition whose stored epoch is not this engine's is another's.
    if (plan.leader_epoch !== state.leaderEpoch || state.foreign || plan.total_bytes === 0) return rest()
    const reason = dueReason(
      config,
      {
        dirtyBytes: plan.dirty_bytes,
        totalBytes: plan.total_bytes,
        oldestDirtyTimestamp: plan.oldest_dirty ?? -1,
        nextDeleteHorizon: plan.cleaner_horizon ?? Number.POSITIVE_INFINITY,
      },
      now,
    )
    if (reason === null) return rest()
    const logStart = plan.log_start_offset
    const epoch = plan.leader_epoch

    const txns = await this.#scanTransactions(state, logStart, plan.cut)
    const stableEnd = Math.min(plan.cut, txns.firstUnstableOffset)
    // An open transaction holds the range back until its marker moves the log end.
    if (stableEnd <= logStart) return rest()
    if (plan.first_dirty >= stableEnd && reason !== 'delete-horizon') return rest()
    const map = await this.#buildOffsetMap(state, txns, logStart, plan.first_dirty, stableEnd)
    const handler = this.#options.abortedTxnsCleaned()
    map.abortMarkersRemovable = await forgetCleanedAborts(
      txns,
      handler === undefined ? undefined : (cleaned) => handler(state.topic, state.partition, cleaned),
    )
    const result = await this.#rewrite(state, epoch, logStart, map, config, now)
    this.#options.logger.info(
      {
        topic: state.topic,
        partition: state.partition,
        reason,
        cleanedUpTo: map.end,
        bytesBefore: result.bytesBefore,
        bytesAfter: result.bytesAfter,
        recordsRemoved: result.recordsRemoved,
      },
      'compacted log',
    )
    return result
  }

  /** The transactions of [logStart, end), from the batch columns and the control batches' bytes. */
  async #scanTransactions(state: PartitionState, logStart: number, end: number): Promise<TxnIndex> {
    const txns = new TxnIndex()
    const slice = new Slicer()
    let after = -1
    for (;;) {
      const rows = await selectRows(this.#options.pool, scanSql(state, after, end, logStart))
      for (const [base, last, producerId, isTransactional, isControl, data] of rows) {
        this.#checkGoing(state)
        const baseOffset = int8Field(base)
        await txns.observe(
          {
            producerId: int8Field(producerId),
            baseOffset,
            lastOffsetDelta: int8Field(last) - baseOffset,
            isControl: boolField(isControl),
            isTransactional: boolField(isTransactional),
          },
          data ?? null,
        )
        after = baseOffset
        await slice.maybeYield()
      }
      if (rows.length < SCAN_ROWS) break
    }
    txns.finish()
    return txns
  }

  /**
   * The keys of the dirty range [firstDirty, end) with their last offsets; the map ends at the
   * first batch left out once it holds log.cleaner.dedupe.buffer.size, else at `end`.
   */
  async #buildOffsetMap(
    state: PartitionState,
    txns: TxnIndex,
    logStart: number,
    firstDirty: number,
    end: number,
  ): Promise<OffsetMap> {
    const map: OffsetMap = { keys: new Map(), txns, end, abortMarkersRemovable: false }
    const maxMapBytes = dedupeBufferBytes(this.#options.brokerDefaults())
    let bytes = 0
    let first = true
    for await (const row of this.#pages(state, Math.max(firstDirty, logStart), end, true)) {
      if (!first && bytes >= maxMapBytes) {
        map.end = row.base_offset
        break
      }
      first = false
      bytes += await addToOffsetMap(map, header(row.data), row.data)
    }
    return map
  }

  /** Filters every batch of [logStart, map.end) and writes back the changed ones, range by range. */
  async #rewrite(
    state: PartitionState,
    epoch: number,
    logStart: number,
    map: OffsetMap,
    config: LogConfig,
    now: number,
  ): Promise<CleanResult> {
    const result = emptyCleanResult(map.end)
    let changes: Changes = new Map()
    let changedBytes = 0
    for await (const row of this.#pages(state, logStart, map.end, false)) {
      const kept = await filterBatch(row.data, map, config.deleteRetentionMs, now, result)
      result.bytesBefore += row.data.length
      if (kept !== null) result.bytesAfter += kept.length
      if (kept === row.data) continue
      changes.set(row.base_offset, kept)
      changedBytes += kept?.length ?? 0
      if (changedBytes >= WRITE_BYTES || changes.size >= WRITE_ROWS) {
        await this.#write(state, epoch, changes, null, result)
        changes = new Map()
        changedBytes = 0
      }
    }
    await this.#write(state, epoch, changes, map.end, result)
    return result
  }

  /**
   * The batches from the one holding offset `from` up to `end`, in pages of about PAGE_BYTES
   * (only data batches when `dataOnly`); stops the pass if the engine closes or the partition goes.
   */
  async *#pages(state: PartitionState, from: number, end: number, dataOnly: boolean): AsyncGenerator<PageRow> {
    const slice = new Slicer()
    let after = -1
    for (;;) {
      const copied = await selectRows(this.#options.pool, pageSql(state, after, end, from, dataOnly))
      if (copied.length === 0) return
      const rows = copied.map(([base, data]): PageRow => ({ base_offset: int8Field(base), data: bytesField(data) }))
      for (const row of rows) {
        this.#checkGoing(state)
        yield row
        after = row.base_offset
        await slice.maybeYield()
      }
    }
  }

  /**
   * Writes one compacted range in one transaction (WRITE_SQL), with the checkpoint when
   * `cleanedUpTo` is given (the pass's last write); then the tail takes the same changes.
   */
  async #write(
    state: PartitionState,
    epoch: number,
    changes: Changes,
    cleanedUpTo: number | null,
    result: CleanResult,
  ): Promise<void> {
    if (changes.size === 0 && cleanedUpTo === null) return
    const deleted: number[] = []
    const updated = { base: [] as number[], pos: [] as number[], size: [] as number[], maxTimestamp: [] as number[] }
    const blobs: Buffer[] = []
    let blobLength = 0
    for (const [base, bytes] of changes) {
      if (bytes === null) {
        deleted.push(base)
        continue
      }
      updated.base.push(base)
      // substring() counts from 1.
      updated.pos.push(blobLength + 1)
      updated.size.push(bytes.length)
      updated.maxTimestamp.push(header(bytes).maxTimestamp)
      blobs.push(bytes)
      blobLength += bytes.length
    }
    const horizon = Number.isFinite(result.nextDeleteHorizon) ? result.nextDeleteHorizon : null
    let ok: boolean
    try {
      const { rows } = await idempotentQuery<{ ok: number }>(this.#options.pool, {
        name: 'samsa-clean-write',
        text: WRITE_SQL,
        values: [
          state.topicId,
          state.partition,
          epoch,
          cleanedUpTo !== null,
          cleanedUpTo ?? 0,
          horizon,
          deleted,
          Buffer.concat(blobs, blobLength),
          updated.base,
          updated.pos,
          updated.size,
          updated.maxTimestamp,
        ],
      })
      ok = rows[0]?.ok === 1
    } catch (err) {
      // The outcome is unknown: the tail forgets the range, and reads there go to the database.
      const last = Math.max(-1, ...changes.keys())
      state.dropTailBelow(last + 1)
      throw err
    }
    if (!ok) {
      this.#options.logger.info(
        { topic: state.topic, partition: state.partition, epoch },
        'compaction stopped: the partition has another leader epoch, or is gone',
      )
      throw new PassStopped()
    }
    state.compacted(changes)
    if (changes.size > 0) this.#options.rewritten(state)
  }

  #checkGoing(state: PartitionState): void {
    if (this.stopped || state.deleted) throw new PassStopped()
  }
}

function sameView(a: Omit<Idle, 'until'>, b: Omit<Idle, 'until'>): boolean {
  return (
    a.highWatermark === b.highWatermark &&
    a.logStartOffset === b.logStartOffset &&
    a.leaderEpoch === b.leaderEpoch &&
    a.foreign === b.foreign &&
    a.config === b.config
  )
}

/**
 * When the clock alone could next make a pass due on a partition whose log does not change: a
 * delete horizon, max.compaction.lag.ms of the oldest dirty batch, or min.compaction.lag.ms of
 * the oldest batch still too young to clean.
 */
function idleUntil(plan: PlanRow, config: LogConfig): number {
  let until = plan.cleaner_horizon ?? Number.POSITIVE_INFINITY
  if (plan.oldest_dirty !== null && config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
    until = Math.min(until, plan.oldest_dirty + config.maxCompactionLagMs + 1)
  }
  if (plan.oldest_young !== null && config.minCompactionLagMs > 0) {
    until = Math.min(until, plan.oldest_young + config.minCompactionLagMs + 1)
  }
  return until
}

function header(bytes: Buffer): BatchInfo {
  const h = readBatchHeader(bytes)
  if (h instanceof RecordsError) throw h
  return h
}

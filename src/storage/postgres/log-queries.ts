/**
 * The postgres engine's queries on one partition's batches: range reads (whole batches up to a
 * byte budget, in one round trip), timestamp lookups, retention and DeleteRecords. Batches are
 * found through the primary key (topic_id, partition, base_offset); a read bounds itself by the
 * high watermark the engine has committed, so a batch of a commit not yet acknowledged is never
 * returned. Queries that return batches run as a binary COPY (copy.ts), so the bytes travel as
 * they are stored, not as hex text.
 */
import type pg from 'pg'
import type { LogConfig } from '../../config/topic-configs.ts'
import { firstRecordAtOrAfter, recordWithMaxTimestamp } from '../engine/record-timestamps.ts'
import { planRetention } from '../engine/retention.ts'
import type { ReadOptions, TimestampLookup } from '../types.ts'
import { bytesField, copyLiteral, int8Field, selectRows } from './copy.ts'
import { idempotentQuery } from './db.ts'
import type { PartitionState } from './partition-state.ts'

/** Most batches one range read looks at (a fetch gets the rest next time). */
const MAX_READ_BATCHES = 10_000
/** Batches fetched per round trip while looking for a timestamp. */
const TIMESTAMP_PAGE = 16
/** The smallest possible batch: its header. */
const MIN_BATCH_BYTES = 61

/**
 * One pass over the partition's index, no self-join (which PostgreSQL may plan as a nested loop
 * whose cost grows with the square of the batches): rows past maxBytes are dropped by the outer
 * filter before their data, kept out of line (TOAST), is ever read.
 */
function readSql(
  topicId: string,
  partition: number,
  offset: number,
  end: number,
  maxBytes: number,
  limit: number,
): string {
  const [t, p, o, e, m, l] = [topicId, partition, offset, end, maxBytes, limit].map(copyLiteral)
  return `
SELECT data FROM (
  SELECT base_offset, data, size, sum(size) OVER (ORDER BY base_offset) AS total
  FROM batches
  WHERE topic_id = ${t} AND partition = ${p}
    AND base_offset >= coalesce(
      (SELECT max(base_offset) FROM batches WHERE topic_id = ${t} AND partition = ${p} AND base_offset <= ${o}), ${o})
    AND last_offset >= ${o} AND base_offset < ${e}
  ORDER BY base_offset
  LIMIT ${l}
) c
WHERE c.total <= ${m} OR c.total = c.size
ORDER BY c.base_offset`
}

/** Whole batches from the one holding `offset`, below `end`, as maxBytes and minOneBatch allow. */
export async function readBatches(
  pool: pg.Pool,
  state: PartitionState,
  offset: number,
  maxBytes: number,
  options: ReadOptions,
): Promise<Buffer[]> {
  const end = Math.min(options.maxOffset ?? Number.POSITIVE_INFINITY, state.highWatermark)
  if (offset >= end) return []
  const budget = Math.max(maxBytes, 0)
  const limit = Math.min(MAX_READ_BATCHES, Math.floor(budget / MIN_BATCH_BYTES) + 1)
  const rows = await selectRows(pool, readSql(state.topicId, state.partition, offset, end, budget, limit))
  const parts: Buffer[] = []
  let bytes = 0
  for (const row of rows) {
    const data = bytesField(row[0])
    const fits = bytes + data.length <= maxBytes
    if (!fits && !(parts.length === 0 && options.minOneBatch)) break
    parts.push(data)
    bytes += data.length
    if (!fits) break
  }
  return parts
}

/** The earliest record at or after the log start whose timestamp is >= timestamp. */
export async function offsetForTimestamp(
  pool: pg.Pool,
  state: PartitionState,
  timestamp: number,
): Promise<TimestampLookup | null> {
  const { logStartOffset, highWatermark } = state
  let after = -1
  for (;;) {
    const [t, p, a, h, l, ts, n] = [
      state.topicId,
      state.partition,
      after,
      highWatermark,
      logStartOffset,
      timestamp,
      TIMESTAMP_PAGE,
    ].map(copyLiteral)
    const rows = await selectRows(
      pool,
      `SELECT base_offset, data FROM batches
       WHERE topic_id = ${t} AND partition = ${p} AND base_offset > ${a} AND base_offset < ${h}
         AND last_offset >= ${l} AND max_timestamp >= ${ts}
       ORDER BY base_offset LIMIT ${n}`,
    )
    for (const row of rows) {
      const hit = await firstRecordAtOrAfter(bytesField(row[1]), timestamp, logStartOffset)
      if (hit !== null) return hit
      after = int8Field(row[0])
    }
    if (rows.length < TIMESTAMP_PAGE) return null
  }
}

/** The record with the largest timestamp (the first one on ties), or null for an empty log. */
export async function maxTimestamp(pool: pg.Pool, state: PartitionState): Promise<TimestampLookup | null> {
  const [t, p, h] = [state.topicId, state.partition, state.highWatermark].map(copyLiteral)
  const rows = await selectRows(
    pool,
    `SELECT data FROM batches
     WHERE topic_id = ${t} AND partition = ${p} AND base_offset = (
       SELECT base_offset FROM batches WHERE topic_id = ${t} AND partition = ${p} AND base_offset < ${h}
       ORDER BY max_timestamp DESC, base_offset LIMIT 1)`,
  )
  const row = rows[0]
  return row === undefined ? null : recordWithMaxTimestamp(bytesField(row[0]))
}

/** Bytes of the batches stored for the partition. */
export async function partitionSize(pool: pg.Pool, state: PartitionState): Promise<number> {
  const { rows } = await idempotentQuery<{ size: number }>(pool, {
    name: 'samsa-partition-size',
    text: 'SELECT coalesce(sum(size), 0)::int8 AS size FROM batches WHERE topic_id = $1 AND partition = $2',
    values: [state.topicId, state.partition],
  })
  return rows[0]?.size ?? 0
}

/**
 * Moves the stored log start to `offset` (never back) and deletes the batches wholly below it,
 * in one statement; resolves the stored log start and the batches and bytes deleted.
 */
export async function deleteBefore(
  pool: pg.Pool,
  state: PartitionState,
  offset: number,
): Promise<{ logStartOffset: number; batches: number; bytes: number }> {
  const { rows } = await idempotentQuery<{ log_start_offset: number; batches: number; bytes: number }>(pool, {
    name: 'samsa-delete-before-counted',
    text: `WITH u AS (
             UPDATE partitions SET log_start_offset = greatest(log_start_offset, $3)
             WHERE topic_id = $1 AND partition = $2 RETURNING log_start_offset
           ), d AS (
             DELETE FROM batches WHERE topic_id = $1 AND partition = $2 AND last_offset < $3 RETURNING size
           )
           SELECT log_start_offset, (SELECT count(*) FROM d) AS batches,
                  (SELECT coalesce(sum(size), 0)::int8 FROM d) AS bytes
           FROM u`,
    values: [state.topicId, state.partition, offset],
  })
  const row = rows[0]
  return { logStartOffset: row?.log_start_offset ?? offset, batches: row?.batches ?? 0, bytes: row?.bytes ?? 0 }
}

/**
 * Where retention would move the log start now (null: nowhere), by planRetention, which the
 * other engines use: each batch stands for a segment, aged by its max timestamp or, without
 * one, by when it was written.
 */
export async function retentionPoint(
  pool: pg.Pool,
  state: PartitionState,
  config: LogConfig,
  nowMs: number,
): Promise<number | null> {
  if (!config.cleanupPolicy.delete || (config.retentionMs < 0 && config.retentionBytes < 0)) return null
  const { rows } = await idempotentQuery<{ base_offset: number; last_offset: number; size: number; largest: number }>(
    pool,
    {
      name: 'samsa-retention',
      text: `SELECT base_offset, last_offset, size,
             CASE WHEN max_timestamp >= 0 THEN max_timestamp ELSE append_time END AS largest
           FROM batches WHERE topic_id = $1 AND partition = $2 AND base_offset < $3
           ORDER BY base_offset`,
      values: [state.topicId, state.partition, state.highWatermark],
    },
  )
  const { deleteCount } = planRetention(
    rows.map((r) => ({ size: r.size, largestTimestamp: r.largest })),
    config,
    nowMs,
  )
  if (deleteCount === 0) return null
  const next = rows[deleteCount]
  return next !== undefined ? next.base_offset : (rows[rows.length - 1]?.last_offset ?? -1) + 1
}

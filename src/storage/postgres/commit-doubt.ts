/**
 * What the postgres engine asks the database about a commit whose answer was lost with its
 * connection (group-commit.ts): did it land? Until the database answers, the commit's appends are
 * answered neither way, because a client told "failed" retries, and an idempotent producer's
 * retry of a batch that did land would be stored twice.
 *
 * The answer must stay true after it is given, yet an attempt of the commit may still be on its
 * way: bytes of a lost connection that TCP delivers later, or a backend still running the
 * statement. So the question raises the partitions' commit fence first (only where the stored
 * leader epoch is still the commit's): a commit writes only where the fence is the one it was
 * built with, so no attempt can land after that, and an attempt that holds the partition's row
 * lock is waited for (the fence's UPDATE re-reads the row once the attempt's transaction ends).
 * Then, for each partition, the stored high watermark tells: the commit's new high watermark is
 * this commit (no other writer has the epoch, and the engine sends no further commit of the
 * partition meanwhile), its old one is nothing written. Where that cannot tell (the epoch moved
 * on, or the log end is elsewhere), the batch stored at the commit's first offset does: the
 * commit's first batch of the partition (same size, last offset, producer, sequence and CRC) or not.
 */
import type pg from 'pg'
import type { StoredPartition } from './partition-state.ts'

/** One partition of a commit in doubt, and the first batch the commit wrote to it. */
export interface DoubtfulPartition {
  topicId: string
  partition: number
  epoch: number
  oldHighWatermark: number
  newHighWatermark: number
  firstBatch: { lastOffset: number; size: number; producerId: number; baseSequence: number; crc: number }
}

/** The database's answer for one partition. */
export type DoubtAnswer =
  /** `stored`: the partition as the fence left it, when its epoch was still the commit's. */
  | { landed: true; stored?: StoredPartition }
  /** `storedEpoch`: undefined when the partition no longer exists. */
  | { landed: false; stored?: StoredPartition; storedEpoch: number | undefined }

const FENCE_SQL = `
UPDATE partitions p SET commit_fence = p.commit_fence + 1
FROM unnest($1::int4[], $2::uuid[], $3::int4[], $4::int4[]) AS v(idx, topic_id, partition, epoch)
WHERE p.topic_id = v.topic_id AND p.partition = v.partition AND p.leader_epoch = v.epoch
RETURNING v.idx, p.log_start_offset, p.high_watermark, p.leader_epoch, p.commit_fence
`

const FIRST_BATCH_SQL = `
SELECT v.idx, p.leader_epoch, b.last_offset, b.size, b.producer_id, b.base_sequence,
  substring(b.data FROM 18 FOR 4) AS crc
FROM unnest($1::int4[], $2::uuid[], $3::int4[], $4::int8[]) AS v(idx, topic_id, partition, base_offset)
LEFT JOIN partitions p ON p.topic_id = v.topic_id AND p.partition = v.partition
LEFT JOIN batches b ON b.topic_id = v.topic_id AND b.partition = v.partition AND b.base_offset = v.base_offset
`

interface FencedRow {
  idx: number
  log_start_offset: number
  high_watermark: number
  leader_epoch: number
  commit_fence: number
}

interface FirstBatchRow {
  idx: number
  leader_epoch: number | null
  last_offset: number | null
  size: number | null
  producer_id: number | null
  base_sequence: number | null
  crc: Buffer | null
}

/** The CRC field of a record batch (v2): after base offset, length, partition leader epoch and magic. */
export const BATCH_CRC_OFFSET = 17

/**
 * Fences the partitions' commit and answers, for each, whether it landed (in the order given).
 * Throws when the database cannot be asked (the caller asks again later).
 */
export async function askLanded(pool: pg.Pool, partitions: readonly DoubtfulPartition[]): Promise<DoubtAnswer[]> {
  const idx = partitions.map((_, i) => i)
  const topicIds = partitions.map((p) => p.topicId)
  const numbers = partitions.map((p) => p.partition)
  const fenced = await pool.query<FencedRow>(FENCE_SQL, [idx, topicIds, numbers, partitions.map((p) => p.epoch)])
  const answers: (DoubtAnswer | undefined)[] = partitions.map(() => undefined)
  for (const row of fenced.rows) {
    const p = partitions[row.idx] as DoubtfulPartition
    const stored: StoredPartition = {
      logStartOffset: row.log_start_offset,
      highWatermark: row.high_watermark,
      leaderEpoch: row.leader_epoch,
      commitFence: row.commit_fence,
    }
    if (row.high_watermark === p.newHighWatermark) answers[row.idx] = { landed: true, stored }
    else if (row.high_watermark === p.oldHighWatermark) {
      answers[row.idx] = { landed: false, stored, storedEpoch: row.leader_epoch }
    }
  }
  const unsure = idx.filter((i) => answers[i] === undefined)
  if (unsure.length > 0) {
    const at = unsure.map((i) => partitions[i] as DoubtfulPartition)
    const { rows } = await pool.query<FirstBatchRow>(FIRST_BATCH_SQL, [
      unsure,
      at.map((p) => p.topicId),
      at.map((p) => p.partition),
      at.map((p) => p.oldHighWatermark),
    ])
    for (const row of rows) {
      const first = (partitions[row.idx] as DoubtfulPartition).firstBatch
      const same =
        row.last_offset === first.lastOffset &&
        row.size === first.size &&
        row.producer_id === first.producerId &&
        row.base_sequence === first.baseSequence &&
        row.crc !== null &&
        row.crc.length === 4 &&
        row.crc.readUInt32BE(0) === first.crc
      answers[row.idx] = same ? { landed: true } : { landed: false, storedEpoch: row.leader_epoch ?? undefined }
    }
  }
  return answers.map((a) => a ?? { landed: false, storedEpoch: undefined })
}

/**
 * Log compaction of one partition (cleanup.policy=compact or compact,delete), as Kafka's
 * LogCleaner does it:
 * - The closed segments split into a clean head (cleaned before, up to the checkpointed "first
 *   dirty offset") and a dirty tail, up to the first uncleanable offset: the active segment,
 *   the last stable offset, and any segment with a record newer than min.compaction.lag.ms.
 * - A pass runs when dirty bytes / all cleanable bytes reach min.cleanable.dirty.ratio, when the
 *   oldest dirty record is older than max.compaction.lag.ms, or when a tombstone's delete
 *   horizon has passed.
 * - It maps every key of the dirty range to its last offset (bounded in memory: the range ends
 *   at a segment boundary once the map is full), then rewrites the cleanable segments, merged in
 *   groups of up to segment.bytes, keeping a record only when no later record has its key.
 *   Offsets never change: batches keep their base offset and lastOffsetDelta (gaps are fine).
 *   What happens to each batch, and when a pass is due, is shared with the postgres engine
 *   (../engine/compaction.ts); this module finds the batches in segments and swaps the output in.
 * - Tombstones (null values) stay until delete.retention.ms after the pass that first kept them
 *   (KIP-534: the batch gets a delete horizon in its base timestamp and attributes bit 6), and go
 *   in the first pass after that. Records without a key go too (a compacted topic refuses them).
 * - A batch whose records all stay is copied as is; otherwise its kept records are re-encoded
 *   with the batch's base offset, lastOffsetDelta, leader epoch, producer fields, timestamp type
 *   and compression codec. An emptied batch is dropped, unless it is the last batch of its
 *   producer in the dirty range (its sequence numbers matter to idempotence) or the last batch
 *   of the pass, which are kept empty, as Kafka does.
 * - Transactions (compaction-txn.ts learns them from the markers in the log): the pass never
 *   reaches a transaction without a marker in the cleanable range (its segment and all after
 *   it wait, as beyond Kafka's last stable offset). Records of aborted transactions are removed
 *   and stay out of the key map; committed transactional records are deduplicated like others.
 *   A marker whose transaction has no batch left gets a delete horizon (now +
 *   delete.retention.ms, KIP-534) and goes in the first pass after it. For an ABORT marker the
 *   aborted-transaction index (the producer state, src/coordinator/producer) must first drop the
 *   transaction, as Kafka's cleaner drops it from the cleaned transaction index: a consumer told
 *   of an aborted transaction skips the producer's transactional records until it sees that
 *   producer's ABORT marker, so a listed transaction without its marker would hide the
 *   producer's later committed records. The pass tells the index (CleanOptions.forgetAbortedTxns)
 *   and waits for it to be durable before writing anything; without an index to tell, ABORT
 *   markers stay. The last data batch and the last batch of each producer stay (a data batch
 *   emptied if need be, a marker whole).
 *
 * The work is done off the partition's append queue, yielding to the event loop every few
 * milliseconds; only the swap of the cleaned segment (swap-recovery.ts) runs in the queue.
 */
import { open, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { readBatchHeader } from '../../protocol/records/batch-header.ts'
import * as L from '../../protocol/records/batch-layout.ts'
import { RecordsError } from '../../protocol/records/errors.ts'
import {
  addToOffsetMap,
  type CleaningReason,
  type CleanResult,
  dueReason,
  emptyCleanResult,
  filterBatch,
  forgetCleanedAborts,
  type OffsetMap,
  Slicer,
} from '../engine/compaction.ts'
import { TxnIndex } from '../engine/compaction-txn.ts'
import type { StorageLogger } from '../engine/logger.ts'
import type { CleanedAbortedTxn } from '../types.ts'
import type { StorageFaults } from './faults.ts'
import { INDEX_SUFFIX, LOG_SUFFIX, segmentFileName, TIME_INDEX_SUFFIX } from './file-names.ts'
import { fsyncDir, writeFully } from './fs-util.ts'
import type { CleanerView, PartitionLog } from './partition-log.ts'
import { Segment } from './segment.ts'
import { CLEANED_SUFFIX, SWAP_SUFFIX } from './swap-recovery.ts'

/** Largest offset span of one segment (32-bit relative offsets in the index). */
const MAX_RELATIVE_OFFSET = 0x7fffffff
/** Bytes read from a segment at a time. */
const READ_CHUNK = 1024 * 1024
/** Bytes of cleaned output buffered before a write. */
const WRITE_CHUNK = 1024 * 1024

/** What the cleaner remembers of a partition between passes. */
export interface CleanerCheckpoint {
  /** Offsets below this were cleaned by an earlier pass. */
  firstDirtyOffset: number
  /** Earliest delete horizon written by the last pass (Infinity when none). */
  nextDeleteHorizon: number
}

/** Where a pass may work, and whether it should. */
export interface CleaningPlan {
  /** Closed segments from the log start up to the first uncleanable offset. */
  cleanable: Segment[]
  /** Index in `cleanable` of the first dirty segment. */
  firstDirtyIndex: number
  /** Base offset of the segment after the last cleanable one. */
  uncleanableOffset: number
  dirtyBytes: number
  totalBytes: number
  /** Why a pass is due, or null. */
  reason: CleaningReason | null
}

/** Settings of a pass. */
export interface CleanOptions {
  now: number
  /** log.cleaner.dedupe.buffer.size: memory for the key map. */
  maxMapBytes: number
  logger: StorageLogger
  faults?: StorageFaults
  /** Checked between batches; true aborts the pass (engine closing). */
  stopped: () => boolean
  /**
   * Drops aborted transactions without data from the aborted-transaction index, durably; ABORT
   * markers may go only when this is set.
   */
  forgetAbortedTxns?: (txns: CleanedAbortedTxn[]) => Promise<void>
}

export type { CleanResult }

/** Decides what a pass would cover for a partition now. */
export function planCleaning(view: CleanerView, checkpoint: CleanerCheckpoint, now: number): CleaningPlan {
  const { config } = view
  const cleanable: Segment[] = []
  for (let i = 0; i < view.closed.length; i++) {
    const s = view.closed[i] as Segment
    const next = (view.closed[i + 1]?.baseOffset ?? view.uncleanableFrom) as number
    if (next > view.uncleanableFrom) break
    // min.compaction.lag.ms: a segment holding a record younger than the lag, and all after it, wait.
    if (config.minCompactionLagMs > 0 && s.maxTimestamp > now - config.minCompactionLagMs) break
    cleanable.push(s)
  }
  const none: CleaningPlan = {
    cleanable,
    firstDirtyIndex: cleanable.length,
    uncleanableOffset: view.uncleanableFrom,
    dirtyBytes: 0,
    totalBytes: 0,
    reason: null,
  }
  if (!config.cleanupPolicy.compact || cleanable.length === 0) return none
  const uncleanableOffset = view.closed[cleanable.length]?.baseOffset ?? view.uncleanableFrom
  let firstDirtyIndex = cleanable.findIndex(
    (_, i) => nextBase(cleanable, i, uncleanableOffset) > checkpoint.firstDirtyOffset,
  )
  if (firstDirtyIndex < 0) firstDirtyIndex = cleanable.length
  let dirtyBytes = 0
  let totalBytes = 0
  for (let i = 0; i < cleanable.length; i++) {
    const size = (cleanable[i] as Segment).size
    totalBytes += size
    if (i >= firstDirtyIndex) dirtyBytes += size
  }
  const firstDirty = cleanable[firstDirtyIndex]
  // The first batch's timestamp is the segment's oldest (Kafka uses the first batch's too).
  const oldestDirtyTimestamp =
    firstDirty === undefined
      ? -1
      : firstDirty.firstBatchTimestamp >= 0
        ? firstDirty.firstBatchTimestamp
        : firstDirty.maxTimestamp
  const reason = dueReason(
    config,
    { dirtyBytes, totalBytes, oldestDirtyTimestamp, nextDeleteHorizon: checkpoint.nextDeleteHorizon },
    now,
  )
  return { cleanable, firstDirtyIndex, uncleanableOffset, dirtyBytes, totalBytes, reason }
}

function nextBase(segments: Segment[], i: number, after: number): number {
  return segments[i + 1]?.baseOffset ?? after
}

/** Runs one cleaning pass over a partition; null when the plan has nothing due or was overtaken. */
export async function cleanPartition(
  log: PartitionLog,
  proposed: CleaningPlan,
  options: CleanOptions,
): Promise<CleanResult | null> {
  const view = log.cleanerView()
  const txns = await scanTransactions(proposed, options)
  if (txns === null) return null
  const plan = limitToStable(proposed, txns.firstUnstableOffset)
  if (plan === null) return null
  const map = await buildOffsetMap(plan, txns, options)
  if (map === null) return null
  map.abortMarkersRemovable = await forgetCleanedAborts(txns, options.forgetAbortedTxns)
  const round = plan.cleanable.filter((_, i) => nextBase(plan.cleanable, i, plan.uncleanableOffset) <= map.end)
  const result = emptyCleanResult(map.end)
  for (const group of groupBySize(round, view.config.segmentBytes, map.end, plan)) {
    if (options.stopped()) return null
    const end = nextBase(
      plan.cleanable,
      plan.cleanable.indexOf(group[group.length - 1] as Segment),
      plan.uncleanableOffset,
    )
    const cleaned = await cleanGroup(view, group, end, map, options, result)
    if (cleaned === null) return null
    const ok = await swapIn(log, view.dir, group, cleaned, options)
    if (!ok) return null
  }
  options.logger.info(
    {
      dir: view.dir,
      cleanedUpTo: map.end,
      bytesBefore: result.bytesBefore,
      bytesAfter: result.bytesAfter,
      recordsRemoved: result.recordsRemoved,
    },
    'compacted log',
  )
  return result
}

/** Reads the transactions of the whole cleanable range (markers decide the fate of earlier batches). */
async function scanTransactions(plan: CleaningPlan, options: CleanOptions): Promise<TxnIndex | null> {
  const txns = new TxnIndex()
  const slice = new Slicer()
  for (const segment of plan.cleanable) {
    if (!segment.acquire()) return null
    try {
      for await (const bytes of segmentBatches(segment)) {
        if (options.stopped()) return null
        const header = readBatchHeader(bytes)
        if (header instanceof RecordsError) throw header
        await txns.observe(header, bytes)
        await slice.maybeYield()
      }
    } finally {
      await segment.release()
    }
  }
  txns.finish()
  return txns
}

/**
 * The plan cut before the segment holding `firstUnstable` (a transaction without a marker yet);
 * null when nothing cleanable is left, or only clean segments and no delete horizon is due.
 */
function limitToStable(plan: CleaningPlan, firstUnstable: number): CleaningPlan | null {
  if (!Number.isFinite(firstUnstable)) return plan
  let n = 0
  while (n < plan.cleanable.length && nextBase(plan.cleanable, n, plan.uncleanableOffset) <= firstUnstable) n++
  if (n === plan.cleanable.length) return plan
  if (n === 0) return null
  const firstDirtyIndex = Math.min(plan.firstDirtyIndex, n)
  if (firstDirtyIndex === n && plan.reason !== 'delete-horizon') return null
  return {
    ...plan,
    cleanable: plan.cleanable.slice(0, n),
    firstDirtyIndex,
    uncleanableOffset: (plan.cleanable[n] as Segment).baseOffset,
  }
}

/** Reads the dirty segments into the key map, stopping at a segment boundary when it is full. */
async function buildOffsetMap(plan: CleaningPlan, txns: TxnIndex, options: CleanOptions): Promise<OffsetMap | null> {
  const map: OffsetMap = {
    keys: new Map(),
    txns,
    end: nextBase(plan.cleanable, plan.firstDirtyIndex - 1, plan.uncleanableOffset),
    abortMarkersRemovable: false,
  }
  if (plan.firstDirtyIndex === 0) map.end = plan.cleanable[0]?.baseOffset ?? plan.uncleanableOffset
  let bytes = 0
  const slice = new Slicer()
  for (let i = plan.firstDirtyIndex; i < plan.cleanable.length; i++) {
    if (i > plan.firstDirtyIndex && bytes >= options.maxMapBytes) break
    const segment = plan.cleanable[i] as Segment
    if (!segment.acquire()) return null
    try {
      for await (const bytesOfBatch of segmentBatches(segment)) {
        if (options.stopped()) return null
        const header = readBatchHeader(bytesOfBatch)
        if (header instanceof RecordsError) throw header
        bytes += await addToOffsetMap(map, header, bytesOfBatch)
        await slice.maybeYield()
      }
    } finally {
      await segment.release()
    }
    map.end = nextBase(plan.cleanable, i, plan.uncleanableOffset)
  }
  // With no dirty segment (a pass for expired tombstones), the map is empty and covers the round.
  if (plan.firstDirtyIndex === plan.cleanable.length) map.end = plan.uncleanableOffset
  return map
}

/** Consecutive segments merged while their sizes fit in segment.bytes and their offsets in 31 bits. */
function groupBySize(round: Segment[], maxBytes: number, end: number, plan: CleaningPlan): Segment[][] {
  const groups: Segment[][] = []
  let group: Segment[] = []
  let size = 0
  for (const s of round) {
    const next = nextBase(plan.cleanable, plan.cleanable.indexOf(s), end)
    const first = group[0]
    if (first !== undefined && (size + s.size > maxBytes || next - first.baseOffset > MAX_RELATIVE_OFFSET)) {
      groups.push(group)
      group = []
      size = 0
    }
    group.push(s)
    size += s.size
  }
  if (group.length > 0) groups.push(group)
  return groups
}

/** Writes the cleaned copy of a group to `.cleaned` files, synced; null if a segment went away. */
async function cleanGroup(
  view: CleanerView,
  group: Segment[],
  end: number,
  map: OffsetMap,
  options: CleanOptions,
  result: CleanResult,
): Promise<Segment | null> {
  const base = (group[0] as Segment).baseOffset
  const paths = cleanedPaths(view.dir, base)
  const fh = await open(paths.log, 'w+')
  const out = new Segment(view.dir, base, fh)
  let ok = false
  try {
    const writer = new ChunkWriter(out, view.config.indexIntervalBytes)
    const slice = new Slicer()
    let lastModifiedMs = 0
    for (const segment of group) {
      if (!segment.acquire()) return null
      try {
        result.bytesBefore += segment.size
        lastModifiedMs = Math.max(lastModifiedMs, (await segment.fh.stat()).mtimeMs)
        for await (const bytes of segmentBatches(segment)) {
          if (options.stopped()) return null
          const kept = await filterBatch(bytes, map, view.config.deleteRetentionMs, options.now, result)
          if (kept !== null) await writer.add(kept)
          await slice.maybeYield()
        }
      } finally {
        await segment.release()
      }
    }
    await writer.flush()
    // As Kafka, the copy keeps the originals' modification time: retention ages a segment
    // without timestamps by it (Segment.largestTimestamp). fsync, not fdatasync, keeps it too.
    await fh.utimes(lastModifiedMs / 1000, lastModifiedMs / 1000)
    await fh.sync()
    out.nextOffset = end
    result.bytesAfter += out.size
    if (out.maxTimestamp >= 0) out.timeIndex.maybeAppend(out.maxTimestamp, out.offsetOfMaxTimestamp)
    await writeSynced(paths.index, out.index.toBuffer())
    await writeSynced(paths.timeIndex, out.timeIndex.toBuffer())
    await fsyncDir(view.dir)
    ok = true
    return out
  } finally {
    if (!ok) {
      await fh.close().catch(() => {})
      for (const p of Object.values(paths)) await unlink(p).catch(() => {})
    }
  }
}

/** Commits a cleaned group in place of the old segments (see swap-recovery.ts for the order). */
async function swapIn(
  log: PartitionLog,
  dir: string,
  group: Segment[],
  cleaned: Segment,
  options: CleanOptions,
): Promise<boolean> {
  const base = cleaned.baseOffset
  const paths = cleanedPaths(dir, base)
  const swap = join(dir, segmentFileName(base, LOG_SUFFIX + SWAP_SUFFIX))
  const move = async (from: string, to: string): Promise<void> => {
    options.faults?.beforeRename?.(from, to)
    await rename(from, to)
  }
  let committed = false
  try {
    return await log.replaceSegments(
      group,
      cleaned,
      async () => {
        await move(paths.log, swap)
        committed = true
        await fsyncDir(dir)
      },
      async () => {
        for (const s of group) await s.delete()
        await move(paths.index, cleaned.path(INDEX_SUFFIX))
        await move(paths.timeIndex, cleaned.path(TIME_INDEX_SUFFIX))
        await move(swap, cleaned.path(LOG_SUFFIX))
        await fsyncDir(dir)
      },
    )
  } finally {
    // Once the swap file exists the swap is decided: a failure after it is finished on the next
    // open (swap-recovery.ts). Before it, the cleaned files are simply dropped.
    if (!committed) {
      await cleaned.close().catch(() => {})
      for (const p of Object.values(paths)) await unlink(p).catch(() => {})
    }
  }
}

function cleanedPaths(dir: string, base: number): { log: string; index: string; timeIndex: string } {
  return {
    log: join(dir, segmentFileName(base, LOG_SUFFIX + CLEANED_SUFFIX)),
    index: join(dir, segmentFileName(base, INDEX_SUFFIX + CLEANED_SUFFIX)),
    timeIndex: join(dir, segmentFileName(base, TIME_INDEX_SUFFIX + CLEANED_SUFFIX)),
  }
}

async function writeSynced(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'w')
  try {
    await writeFully(fh, data, 0)
    await fh.datasync()
  } finally {
    await fh.close()
  }
}

/** Appends batches to the cleaned segment in large writes, tracking them for its indexes. */
class ChunkWriter {
  readonly #segment: Segment
  readonly #indexIntervalBytes: number
  #pending: Buffer[] = []
  #pendingBytes = 0

  constructor(segment: Segment, indexIntervalBytes: number) {
    this.#segment = segment
    this.#indexIntervalBytes = indexIntervalBytes
  }

  async add(batch: Buffer): Promise<void> {
    this.#pending.push(batch)
    this.#pendingBytes += batch.length
    if (this.#pendingBytes >= WRITE_CHUNK) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0) return
    const data = Buffer.concat(this.#pending, this.#pendingBytes)
    const start = this.#segment.size
    await writeFully(this.#segment.fh, data, start)
    let pos = 0
    for (const b of this.#pending) {
      const baseOffset = L.readInt64AsNumber(b, L.BASE_OFFSET)
      this.#segment.track(
        {
          position: start + pos,
          size: b.length,
          baseOffset,
          lastOffset: baseOffset + b.readInt32BE(L.LAST_OFFSET_DELTA),
          maxTimestamp: L.readInt64AsNumber(b, L.MAX_TIMESTAMP),
        },
        this.#indexIntervalBytes,
      )
      pos += b.length
    }
    this.#pending = []
    this.#pendingBytes = 0
  }
}

/** The whole batches of a segment, read in large chunks; a batch that does not fit is read alone. */
async function* segmentBatches(segment: Segment): AsyncGenerator<Buffer> {
  const limit = segment.size
  let pos = 0
  let chunk: Buffer = Buffer.alloc(0)
  let chunkStart = 0
  while (pos + L.RECORDS <= limit) {
    let at = pos - chunkStart
    if (at + L.RECORDS > chunk.length) {
      chunk = await segment.read(pos, Math.min(READ_CHUNK, limit - pos))
      chunkStart = pos
      at = 0
    }
    const size = L.LOG_OVERHEAD + chunk.readInt32BE(at + L.BATCH_LENGTH)
    if (size < L.RECORDS || pos + size > limit) {
      throw new Error(`bad batch length ${size} at ${pos} in ${segment.path(LOG_SUFFIX)}`)
    }
    if (at + size > chunk.length) {
      chunk = await segment.read(pos, Math.max(size, Math.min(READ_CHUNK, limit - pos)))
      chunkStart = pos
      at = 0
    }
    yield chunk.subarray(at, at + size)
    pos += size
  }
}

/**
 * One partition of the local engine: its segments, the append queue, group commit, reads and
 * retention.
 *
 * Ordering: appends, rolls, retention and DeleteRecords of a partition run one at a time on a
 * promise chain, so offsets follow arrival order; partitions proceed concurrently. Appends that
 * queue up behind a running write go to the file together in the next one. Reads do not
 * queue: they see the bytes and offsets of completed writes only.
 *
 * High watermark: with one copy of the data, Kafka's high watermark is the log end offset. It
 * moves when the write to the file completes (the bytes are in the page cache and survive a
 * process crash), before any fdatasync; acks=all appends additionally wait for the sync that
 * covers them (power-loss durability).
 */

import type { LogConfig } from '../../config/topic-configs.ts'
import * as L from '../../protocol/records/batch-layout.ts'
import { assignOffsets } from '../../protocol/records/batch-patch.ts'
import { SerialQueue } from '../../util/serial-queue.ts'
import type { IoHealth } from '../engine/io-health.ts'
import type { StorageLogger } from '../engine/logger.ts'
import { readEmpty, readOk, readOutOfRange } from '../engine/read-result.ts'
import { firstRecordAtOrAfter, recordWithMaxTimestamp } from '../engine/record-timestamps.ts'
import { planRetention } from '../engine/retention.ts'
import { EngineIoError, EngineRequestError } from '../engine/storage-error.ts'
import type { StorageMetrics } from '../engine/storage-metrics.ts'
import type { AppendInput, PartitionOffsets, ReadOptions, ReadResult, TimestampLookup } from '../types.ts'
import type { StorageFaults } from './faults.ts'
import { LOG_SUFFIX } from './file-names.ts'
import { fsyncDir, writeFully } from './fs-util.ts'
import { GroupSync, type SyncSlots, type SyncStats } from './group-sync.ts'
import { Segment } from './segment.ts'

/** What a partition log needs from its engine. */
export interface PartitionLogContext {
  topic: string
  partition: number
  dir: string
  /** The topic's effective configs, resolved at each use (they may change at run time). */
  config: () => LogConfig
  /** Records a new log start offset durably. */
  persistLogStart: (offset: number) => Promise<void>
  /** Called after each append with the new high watermark. */
  onAppended: (highWatermark: number) => void
  /** Called after the log rolled to a new segment. */
  onRolled: () => void
  now: () => number
  /** The engine's bound on concurrent fdatasyncs. */
  syncSlots: SyncSlots
  stats: SyncStats
  logger: StorageLogger
  /** Test hooks that simulate disk errors (faults.ts). */
  faults?: StorageFaults
  /** The engine's health, told of every write and sync of log data. */
  health: IoHealth
  /** Told of every fdatasync and of the segments removed, when the broker measures its storage. */
  metrics: StorageMetrics | undefined
}

/** What the log cleaner sees of a partition (compaction.ts). */
export interface CleanerView {
  dir: string
  config: LogConfig
  logStartOffset: number
  /** The closed segments, oldest first: every segment but the active one. */
  closed: Segment[]
  /** Offsets from here on may not be cleaned: the active segment's base or the last stable offset. */
  uncleanableFrom: number
}

/** An append's place in the write sequence, known once its bytes are in the file. */
interface WrittenAppend {
  baseOffset: number
  /** Group-commit sequence number of the write (GroupSync). */
  seq: number
}

interface QueuedAppend {
  input: AppendInput
  resolve: (written: WrittenAppend) => void
  reject: (err: unknown) => void
}

/** A queued append with its offsets assigned, not yet written. */
interface PlacedAppend extends QueuedAppend {
  baseOffset: number
}

/** Largest offset delta a segment's 32-bit relative index offsets can hold. */
const MAX_RELATIVE_OFFSET = 0x7fffffff
/** setTimeout's limit; larger flush.ms values mean "never". */
const MAX_TIMER_MS = 0x7fffffff

/** A partition's log on disk. */
export class PartitionLog {
  readonly #ctx: PartitionLogContext
  #segments: Segment[]
  #logStartOffset: number
  readonly #queue = new SerialQueue()
  readonly #sync: GroupSync
  #unflushedMessages = 0
  #flushTimer: NodeJS.Timeout | undefined
  #closed = false
  /** Appends waiting for the queued write that will take them too; null when none is waiting. */
  #open: QueuedAppend[] | null = null
  /** Appends queued or being written. */
  #unwritten = 0
  /** Per segment: the end of its data known durable, and where a failed fdatasync left it. */
  readonly #syncedEnd = new WeakMap<Segment, number>()
  readonly #failedSyncFrom = new WeakMap<Segment, number>()

  /** `segments` (at least one) come from recovery or a fresh create. */
  constructor(ctx: PartitionLogContext, segments: Segment[], logStartOffset: number) {
    this.#ctx = ctx
    this.#segments = segments
    this.#logStartOffset = Math.max(logStartOffset, (segments[0] as Segment).baseOffset)
    this.#sync = new GroupSync(
      () => this.#syncActive(),
      ctx.syncSlots,
      ctx.stats,
      () => this.#unwritten > 0,
      ctx.metrics,
    )
  }

  /** Log start, high watermark, last stable offset (= high watermark until transactions arrive). */
  offsets(): PartitionOffsets {
    const hw = this.#active.nextOffset
    return { logStartOffset: this.#logStartOffset, highWatermark: hw, lastStableOffset: hw }
  }

  /** Bytes in all segments. */
  get size(): number {
    let total = 0
    for (const s of this.#segments) total += s.size
    return total
  }

  /** Number of segments (for tests and DescribeLogDirs). */
  get segmentCount(): number {
    return this.#segments.length
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.#segments.map((s) => s.baseOffset)
  }

  get #active(): Segment {
    return this.#segments[this.#segments.length - 1] as Segment
  }

  /** Runs a mutation after every earlier one. Appends queued after it form a new write. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.#open = null
    return this.#queue.run(() => {
      if (this.#closed) throw new EngineIoError('CLOSED', `partition ${this.#ctx.dir} is closed`)
      return task()
    })
  }

  /** Appends batches; resolves the first assigned offset (after fdatasync when durable). */
  async append(input: AppendInput, durable: boolean): Promise<{ baseOffset: number; logStartOffset: number }> {
    const { baseOffset, seq } = await this.#queueAppend(input)
    if (durable) await this.#sync.waitFor(seq)
    return { baseOffset, logStartOffset: this.#logStartOffset }
  }

  /**
   * Appends that arrive while the partition is busy wait together and are written with one
   * writev: one thread-pool round trip per turn instead of one per producer request.
   */
  #queueAppend(input: AppendInput): Promise<WrittenAppend> {
    this.#unwritten++
    return new Promise((resolve, reject) => {
      let settled = false
      const settle = (): boolean => {
        if (settled) return false
        settled = true
        this.#unwritten--
        return true
      }
      const append: QueuedAppend = {
        input,
        resolve: (written) => settle() && resolve(written),
        reject: (err) => settle() && reject(err),
      }
      if (this.#open !== null) {
        this.#open.push(append)
        return
      }
      const group = [append]
      this.#enqueue(() => {
        if (this.#open === group) this.#open = null
        return this.#writeGroup(group)
      }).catch((err: unknown) => {
        for (const a of group) a.reject(err)
      })
      this.#open = group
    })
  }

  /** Assigns offsets to a group of appends in order and writes them, rolling where needed. */
  async #writeGroup(group: QueuedAppend[]): Promise<void> {
    const config = this.#ctx.config()
    let chunk: PlacedAppend[] = []
    const pending = { bytes: 0, records: 0, firstTimestamp: -1 }
    for (const append of group) {
      const { input } = append
      try {
        checkLayout(input)
      } catch (err) {
        append.reject(err)
        continue
      }
      let records = 0
      let newestTimestamp = -1
      for (const b of input.batches) {
        records += b.lastOffsetDelta + 1
        newestTimestamp = Math.max(newestTimestamp, b.maxTimestamp)
      }
      if (this.#shouldRoll(pending, input.data.length, records, newestTimestamp, config)) {
        await this.#writeChunk(chunk, config)
        chunk = []
        Object.assign(pending, { bytes: 0, records: 0, firstTimestamp: -1 })
        // Asked again: a failed chunk leaves the segment as it was.
        if (this.#shouldRoll(pending, input.data.length, records, newestTimestamp, config)) {
          try {
            await this.#roll()
          } catch (err) {
            append.reject(err)
            continue
          }
        }
      }
      const baseOffset = this.#active.nextOffset + pending.records
      assignOffsets(input.data, input.batches, baseOffset)
      input.onAssigned?.(baseOffset)
      chunk.push({ ...append, baseOffset })
      if (pending.bytes === 0) pending.firstTimestamp = input.batches[0]?.maxTimestamp ?? -1
      pending.bytes += input.data.length
      pending.records += records
    }
    await this.#writeChunk(chunk, config)
  }

  /**
   * True when an append of `bytes` and `records` must go to a new segment, given what is already
   * placed in the active one but not yet written (`pending`).
   */
  #shouldRoll(
    pending: { bytes: number; records: number; firstTimestamp: number },
    bytes: number,
    records: number,
    newestTimestamp: number,
    config: LogConfig,
  ): boolean {
    const segment = this.#active
    const size = segment.size + pending.bytes
    if (size === 0) return false
    if (size + bytes > config.segmentBytes) return true
    if (segment.nextOffset + pending.records + records - segment.baseOffset > MAX_RELATIVE_OFFSET) return true
    // segment.ms counts from the first batch's timestamp, as Kafka's LogSegment.shouldRoll.
    const first = segment.size > 0 ? segment.firstBatchTimestamp : pending.firstTimestamp
    return first >= 0 && newestTimestamp - first > config.segmentMs
  }

  /** Writes appends placed at the end of the active segment; settles each of them. */
  async #writeChunk(chunk: PlacedAppend[], config: LogConfig): Promise<void> {
    if (chunk.length === 0) return
    const segment = this.#active
    const start = segment.size
    try {
      this.#ctx.stats.writes++
      this.#ctx.faults?.beforeWrite?.(segment.path(LOG_SUFFIX))
      await segment.write(chunk.map((a) => a.input.data))
    } catch (err) {
      // Positional writes: the next append overwrites whatever part of this one reached the file.
      await segment.fh.truncate(start).catch(() => {})
      const failure = new EngineIoError('IO', `append to ${this.#ctx.dir} failed`, { cause: err })
      this.#ctx.health.failed(failure)
      for (const a of chunk) a.reject(failure)
      return
    }
    this.#ctx.health.succeeded()
    let at = start
    let messages = 0
    for (const { input } of chunk) {
      for (const b of input.batches) {
        const lastOffset = b.baseOffset + b.lastOffsetDelta
        segment.track(
          {
            position: at + b.position,
            size: b.size,
            baseOffset: b.baseOffset,
            lastOffset,
            maxTimestamp: b.maxTimestamp,
          },
          config.indexIntervalBytes,
        )
        messages += b.lastOffsetDelta + 1
      }
      at += input.data.length
    }
    const seq = this.#sync.wrote(chunk.length, at - start)
    this.#ctx.stats.appends += chunk.length
    this.#afterWrite(messages, config)
    this.#ctx.onAppended(segment.nextOffset)
    for (const a of chunk) a.resolve({ baseOffset: a.baseOffset, seq })
  }

  /**
   * flush.messages and flush.ms for acks=1 data. Their defaults never flush: as in Kafka, acks=1
   * data reaches the disk through the OS's writeback, and acks=all is the way to ask for fsync.
   */
  #afterWrite(messages: number, config: LogConfig): void {
    this.#unflushedMessages += messages
    if (this.#unflushedMessages >= config.flushMessages) {
      this.#backgroundFlush()
    } else if (this.#flushTimer === undefined && config.flushMs < MAX_TIMER_MS) {
      this.#flushTimer = setTimeout(() => this.#backgroundFlush(), config.flushMs)
      this.#flushTimer.unref()
    }
  }

  #backgroundFlush(): void {
    clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    this.#unflushedMessages = 0
    this.#sync
      .flush()
      .catch((err: unknown) => this.#ctx.logger.error({ err, dir: this.#ctx.dir }, 'background flush failed'))
  }

  async #syncActive(): Promise<void> {
    const segment = this.#active
    if (!segment.acquire()) return
    try {
      await this.#datasync(segment)
    } finally {
      await segment.release()
    }
  }

  /**
   * fdatasync of a segment, failing with EngineIoError. After a failed fdatasync Linux may drop
   * the dirty pages' error and report the next one as a success without writing them, so the
   * next attempt first writes again (from the page cache) everything since the last good sync.
   */
  async #datasync(segment: Segment): Promise<void> {
    const path = segment.path(LOG_SUFFIX)
    const end = segment.size
    try {
      const dirtyFrom = this.#failedSyncFrom.get(segment)
      if (dirtyFrom !== undefined && dirtyFrom < end) {
        const bytes = await segment.read(dirtyFrom, end - dirtyFrom)
        this.#ctx.faults?.beforeWrite?.(path)
        await writeFully(segment.fh, bytes, dirtyFrom)
      }
      this.#ctx.faults?.beforeSync?.(path)
      const syncStart = performance.now()
      await segment.datasync()
      this.#ctx.metrics?.syncSeconds.observe((performance.now() - syncStart) / 1000)
      this.#failedSyncFrom.delete(segment)
      this.#syncedEnd.set(segment, end)
      this.#ctx.health.succeeded()
    } catch (err) {
      if (!this.#failedSyncFrom.has(segment)) this.#failedSyncFrom.set(segment, this.#syncedEnd.get(segment) ?? 0)
      const failure = new EngineIoError('IO', `fdatasync of ${path} failed`, { cause: err })
      this.#ctx.health.failed(failure)
      this.#ctx.metrics?.failed('sync')
      throw failure
    }
  }

  /**
   * Starts a new segment at the log end offset. The old one is synced and its indexes written
   * first: recovery relies on every segment but the last being whole.
   */
  async #roll(): Promise<Segment> {
    const old = this.#active
    this.#ctx.stats.fdatasyncs++
    await this.#datasync(old)
    this.#sync.markAllSynced()
    await old.writeIndexes()
    const segment = await Segment.create(this.#ctx.dir, old.nextOffset)
    await fsyncDir(this.#ctx.dir)
    this.#segments.push(segment)
    this.#ctx.logger.info({ dir: this.#ctx.dir, baseOffset: segment.baseOffset }, 'rolled log segment')
    this.#ctx.onRolled()
    return segment
  }

  /** Whole batches from the one containing offset, up to maxBytes (KIP-74 with minOneBatch). */
  async read(offset: number, maxBytes: number, options: ReadOptions): Promise<ReadResult> {
    const offsets = this.offsets()
    if (offset < offsets.logStartOffset || offset > offsets.highWatermark) return readOutOfRange(offsets)
    const maxOffset = Math.min(options.maxOffset ?? offsets.highWatermark, offsets.highWatermark)
    let segment: Segment | undefined = this.#segments[this.#segmentIndexFor(offset)]
    while (segment !== undefined && offset < maxOffset) {
      if (segment.acquire()) {
        try {
          const records = await this.#readSegment(segment, offset, maxBytes, maxOffset, options.minOneBatch)
          if (records !== null) return records.length === 0 ? readEmpty(offsets) : readOk(records, offsets)
        } finally {
          await segment.release()
        }
      }
      // The offset lies past this segment's batches: continue with the next one, looked up
      // afresh since retention or the cleaner may have changed the list meanwhile (a cleaned
      // segment replacing this one may still hold data at or after the offset).
      const at = this.#segments.indexOf(segment)
      segment = this.#segments[at >= 0 ? at + 1 : this.#segmentIndexFor(segment.baseOffset)]
    }
    return readEmpty(offsets)
  }

  /** Reads from one segment; null when the offset lies past its last batch. */
  async #readSegment(
    segment: Segment,
    offset: number,
    maxBytes: number,
    maxOffset: number,
    minOneBatch: boolean,
  ): Promise<Buffer | null> {
    const limit = segment.size
    const first = await segment.findBatch(offset, limit, (b) => b.lastOffset >= offset)
    if (first === null) return null
    if (first.baseOffset >= maxOffset) return Buffer.alloc(0)
    if (first.size > maxBytes) {
      if (!minOneBatch) return Buffer.alloc(0)
      segment.hint(first.lastOffset + 1, first.position + first.size)
      return segment.read(first.position, first.size)
    }
    // One read of up to maxBytes, then cut after the last whole batch below maxOffset.
    const buf = await segment.read(first.position, Math.min(maxBytes, limit - first.position))
    let end = 0
    let nextOffset = offset
    while (end + L.RECORDS <= buf.length) {
      const size = L.LOG_OVERHEAD + buf.readInt32BE(end + L.BATCH_LENGTH)
      const base = L.readInt64AsNumber(buf, end + L.BASE_OFFSET)
      if (base >= maxOffset || end + size > buf.length) break
      nextOffset = base + buf.readInt32BE(end + L.LAST_OFFSET_DELTA) + 1
      end += size
    }
    segment.hint(nextOffset, first.position + end)
    return end === buf.length ? buf : buf.subarray(0, end)
  }

  /** Index of the last segment whose base offset is ≤ offset (0 if none). */
  #segmentIndexFor(offset: number): number {
    let lo = 0
    let hi = this.#segments.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#segments[mid] as Segment).baseOffset <= offset) lo = mid + 1
      else hi = mid
    }
    return Math.max(0, lo - 1)
  }

  /** The earliest record at or after the log start whose timestamp is ≥ target. */
  async offsetForTimestamp(target: number): Promise<TimestampLookup | null> {
    const logStart = this.#logStartOffset
    for (const segment of [...this.#segments]) {
      if (segment.maxTimestamp < target || segment.nextOffset <= logStart || !segment.acquire()) continue
      try {
        const from = Math.max(segment.timeIndex.lookup(target), logStart)
        const batch = await segment.findBatch(
          from,
          segment.size,
          (b) => b.lastOffset >= from && b.maxTimestamp >= target,
        )
        if (batch === null) continue
        const hit = await firstRecordAtOrAfter(await segment.read(batch.position, batch.size), target, logStart)
        if (hit !== null) return hit
      } finally {
        await segment.release()
      }
    }
    return null
  }

  /** The record with the largest timestamp (the first on ties), or null for an empty log. */
  async maxTimestamp(): Promise<TimestampLookup | null> {
    let best: Segment | undefined
    for (const s of this.#segments) if (s.maxTimestamp >= 0 && (!best || s.maxTimestamp > best.maxTimestamp)) best = s
    if (best === undefined || !best.acquire()) return null
    try {
      const target = best.offsetOfMaxTimestamp
      const batch = await best.findBatch(target, best.size, (b) => b.lastOffset >= target)
      return batch === null ? null : await recordWithMaxTimestamp(await best.read(batch.position, batch.size))
    } finally {
      await best.release()
    }
  }

  /** DeleteRecords: moves the log start (durably) and deletes segments wholly below it. */
  deleteBefore(offset: number): Promise<number> {
    return this.#enqueue(async () => {
      const hw = this.#active.nextOffset
      if (offset > hw)
        throw new EngineRequestError('OFFSET_OUT_OF_RANGE', `offset ${offset} is above the high watermark ${hw}`)
      if (offset <= this.#logStartOffset) return this.#logStartOffset
      await this.#ctx.persistLogStart(offset)
      this.#logStartOffset = offset
      let count = 0
      while (count < this.#segments.length - 1 && (this.#segments[count + 1] as Segment).baseOffset <= offset) count++
      await this.#deleteOldest(count)
      return offset
    })
  }

  /** Applies retention.ms and retention.bytes now. */
  applyRetention(): Promise<void> {
    return this.#enqueue(async () => {
      const segments = await Promise.all(
        this.#segments.map(async (s) => ({ size: s.size, largestTimestamp: await s.largestTimestamp() })),
      )
      const plan = planRetention(segments, this.#ctx.config(), this.#ctx.now())
      if (plan.deleteCount === 0) return
      if (plan.rollActive) await this.#roll()
      await this.#deleteOldest(plan.deleteCount)
      const start = (this.#segments[0] as Segment).baseOffset
      if (start > this.#logStartOffset) {
        this.#logStartOffset = start
        await this.#ctx.persistLogStart(start)
      }
    })
  }

  async #deleteOldest(count: number): Promise<void> {
    if (count <= 0) return
    const doomed = this.#segments.splice(0, count)
    this.#logStartOffset = Math.max(this.#logStartOffset, (this.#segments[0] as Segment).baseOffset)
    const metrics = this.#ctx.metrics
    for (const s of doomed) {
      const bytes = s.size
      await s.delete()
      if (metrics !== undefined) {
        metrics.deletedSegments++
        metrics.deletedBytes += bytes
      }
    }
    this.#ctx.logger.info(
      { dir: this.#ctx.dir, segments: doomed.length, logStartOffset: this.#logStartOffset },
      'deleted old log segments',
    )
  }

  /** The partition as the log cleaner sees it now. */
  cleanerView(): CleanerView {
    const closed = this.#segments.slice(0, -1)
    const { lastStableOffset } = this.offsets()
    return {
      dir: this.#ctx.dir,
      config: this.#ctx.config(),
      logStartOffset: this.#logStartOffset,
      closed,
      uncleanableFrom: Math.min(this.#active.baseOffset, lastStableOffset),
    }
  }

  /**
   * Replaces consecutive closed segments `old` by `replacement` (the cleaner's output), in the
   * append order of the partition. `commit` makes the swap durable before the list changes;
   * `finish` removes the old files afterwards. Resolves false, doing nothing, when retention or
   * DeleteRecords removed some of `old` meanwhile.
   */
  replaceSegments(
    old: Segment[],
    replacement: Segment,
    commit: () => Promise<void>,
    finish: () => Promise<void>,
  ): Promise<boolean> {
    return this.#enqueue(async () => {
      const at = this.#segments.indexOf(old[0] as Segment)
      if (at < 0 || at + old.length >= this.#segments.length) return false
      if (old.some((s, i) => this.#segments[at + i] !== s)) return false
      await commit()
      // Readers look a segment up and acquire it in the same tick, so none gets an old one now.
      this.#segments.splice(at, old.length, replacement)
      await finish()
      return true
    })
  }

  /** Waits for queued appends, syncs, writes the active indexes and closes the files. */
  async close(): Promise<void> {
    if (this.#closed) return
    await this.#enqueue(async () => {
      this.#closed = true
    })
    clearTimeout(this.#flushTimer)
    try {
      if (this.#sync.dirty) await this.#sync.flush()
      await this.#active.writeIndexes()
    } finally {
      // Even when the flush or the index write fails (disk full, out of file handles).
      for (const s of this.#segments) await s.close()
    }
  }
}

/** The broker hands batches laid out back to back from byte 0; the file bookkeeping relies on it. */
function checkLayout(input: AppendInput): void {
  let pos = 0
  for (const b of input.batches) {
    if (b.position !== pos) throw new Error(`batch at ${b.position}, expected ${pos}`)
    pos += b.size
  }
  if (pos !== input.data.length) throw new Error(`batches cover ${pos} of ${input.data.length} bytes`)
}

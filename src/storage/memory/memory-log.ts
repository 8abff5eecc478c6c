/**
 * One partition of the memory engine: its batches in offset order, found by binary search.
 * Appends are synchronous, so they are applied in call order without a queue.
 */
import type { LogConfig } from '../../config/topic-configs.ts'
import { assignOffsets } from '../../protocol/records/batch-patch.ts'
import { readEmpty, readOk, readOutOfRange } from '../engine/read-result.ts'
import { firstRecordAtOrAfter, recordWithMaxTimestamp } from '../engine/record-timestamps.ts'
import { planRetention } from '../engine/retention.ts'
import { EngineRequestError } from '../engine/storage-error.ts'
import type { AppendInput, PartitionOffsets, ReadOptions, ReadResult, TimestampLookup } from '../types.ts'

interface StoredBatch {
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
  /** What retention ages the batch by: its newest timestamp, else when it was appended (Kafka: the file's mtime). */
  largestTimestamp: number
  bytes: Buffer
}

/** A partition log kept in memory. */
export class MemoryLog {
  #batches: StoredBatch[] = []
  #logStartOffset = 0
  #nextOffset = 0
  #size = 0

  /** Assigns offsets, stores the batches and returns the first offset. */
  append(input: AppendInput, nowMs: number): number {
    const first = this.#nextOffset
    assignOffsets(input.data, input.batches, first)
    input.onAssigned?.(first)
    // Keep the request's bytes when they are most of their allocation (a large frame assembled
    // for this request); copy small slices, so a few bytes never pin a large socket buffer.
    const data = input.data
    const copy = data.length * 2 >= data.buffer.byteLength ? data : Buffer.from(data)
    for (const info of input.batches) {
      const lastOffset = info.baseOffset + info.lastOffsetDelta
      const bytes = copy.subarray(info.position, info.position + info.size)
      const { maxTimestamp } = info
      const largestTimestamp = maxTimestamp >= 0 ? maxTimestamp : nowMs
      this.#batches.push({ baseOffset: info.baseOffset, lastOffset, maxTimestamp, largestTimestamp, bytes })
      this.#size += info.size
      this.#nextOffset = lastOffset + 1
    }
    return first
  }

  /** Log start, high watermark and last stable offset (= high watermark until transactions). */
  offsets(): PartitionOffsets {
    return { logStartOffset: this.#logStartOffset, highWatermark: this.#nextOffset, lastStableOffset: this.#nextOffset }
  }

  /** Bytes stored. */
  get size(): number {
    return this.#size
  }

  /** Batches stored. */
  get batchCount(): number {
    return this.#batches.length
  }

  /** Whole batches from the one containing offset, up to maxBytes (KIP-74 with minOneBatch). */
  read(offset: number, maxBytes: number, options: ReadOptions): ReadResult {
    const offsets = this.offsets()
    if (offset < offsets.logStartOffset || offset > offsets.highWatermark) return readOutOfRange(offsets)
    const maxOffset = options.maxOffset ?? Number.POSITIVE_INFINITY
    const parts: Buffer[] = []
    let bytes = 0
    for (let i = this.#indexOf(offset); i < this.#batches.length; i++) {
      const batch = this.#batches[i] as StoredBatch
      if (batch.baseOffset >= maxOffset) break
      const fits = bytes + batch.bytes.length <= maxBytes
      if (!fits && !(parts.length === 0 && options.minOneBatch)) break
      parts.push(batch.bytes)
      bytes += batch.bytes.length
      if (!fits) break
    }
    if (parts.length === 0) return readEmpty(offsets)
    return readOk(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes), offsets)
  }

  /** The earliest record at or after the log start whose timestamp is >= timestamp. */
  async offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null> {
    for (let i = this.#indexOf(this.#logStartOffset); i < this.#batches.length; i++) {
      const batch = this.#batches[i] as StoredBatch
      if (batch.maxTimestamp < timestamp) continue
      const hit = await firstRecordAtOrAfter(batch.bytes, timestamp, this.#logStartOffset)
      if (hit !== null) return hit
    }
    return null
  }

  /** The record with the largest timestamp (the first one on ties). */
  async maxTimestamp(): Promise<TimestampLookup | null> {
    let best: StoredBatch | undefined
    for (const batch of this.#batches) {
      if (best === undefined || batch.maxTimestamp > best.maxTimestamp) best = batch
    }
    return best === undefined ? null : recordWithMaxTimestamp(best.bytes)
  }

  /** Moves the log start to offset (≤ high watermark) and drops batches wholly below it. */
  deleteBefore(offset: number): number {
    if (offset > this.#nextOffset) {
      throw new EngineRequestError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is above the high watermark ${this.#nextOffset}`,
      )
    }
    if (offset <= this.#logStartOffset) return this.#logStartOffset
    this.#logStartOffset = offset
    const keep = this.#indexOf(offset)
    for (let i = 0; i < keep; i++) this.#size -= (this.#batches[i] as StoredBatch).bytes.length
    this.#batches.splice(0, keep)
    return offset
  }

  /**
   * Applies retention.ms and retention.bytes as the local engine does to its segments, each batch
   * standing for a segment: the oldest batches go, the last one too once all are past retention.ms.
   */
  applyRetention(config: LogConfig, nowMs: number): void {
    const batches = this.#batches.map((b) => ({ size: b.bytes.length, largestTimestamp: b.largestTimestamp }))
    const { deleteCount } = planRetention(batches, config, nowMs)
    if (deleteCount > 0) this.deleteBefore(this.#batches[deleteCount]?.baseOffset ?? this.#nextOffset)
  }

  /** Index of the first batch whose last offset is >= offset (batches.length if none). */
  #indexOf(offset: number): number {
    let lo = 0
    let hi = this.#batches.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#batches[mid] as StoredBatch).lastOffset < offset) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

/**
 * One segment of a partition log: a `.log` file of batches exactly as stored, starting at
 * `baseOffset`, with its offset and time indexes in memory. Only the last segment of a log is
 * written to; `size` counts the bytes readers may see (bytes being written are past it).
 * Readers hold a reference while they use the file handle, so retention can delete a segment
 * under a running read: the files are unlinked at once and the handle closed on last release.
 */
import { type FileHandle, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import * as L from '../../protocol/records/batch-layout.ts'
import { INDEX_SUFFIX, LOG_SUFFIX, segmentFileName, TIME_INDEX_SUFFIX } from './file-names.ts'
import { readFully, writeFileAtomic, writevFully } from './fs-util.ts'
import { OffsetIndex } from './offset-index.ts'
import { TimeIndex } from './time-index.ts'

/** Header facts of one stored batch, as a scan of the log file sees them. */
export interface StoredBatchHeader {
  position: number
  size: number
  baseOffset: number
  lastOffset: number
  maxTimestamp: number
}

/** Bytes read at a time when walking batch headers. */
const SCAN_CHUNK = 16 * 1024
/** Remembered (offset → position) pairs where earlier reads ended, so sequential fetches skip the scan. */
const MAX_HINTS = 64

/** A log segment and its indexes. */
export class Segment {
  readonly baseOffset: number
  readonly dir: string
  readonly fh: FileHandle
  /** Replaced as a whole when recovery loads the index files. */
  index: OffsetIndex
  timeIndex: TimeIndex
  /** Bytes of whole batches readers may see. */
  size = 0
  /** Offset after the last batch (baseOffset when empty). */
  nextOffset: number
  /** Largest batch max timestamp, -1 when empty. */
  maxTimestamp = -1
  /** Last offset of the first batch holding maxTimestamp. */
  offsetOfMaxTimestamp = -1
  /** Max timestamp of the first batch: segment.ms counts from it, as in Kafka. -1 when unknown. */
  firstBatchTimestamp = -1
  #bytesSinceIndexEntry = 0
  #refs = 1
  #deleted = false
  #hints = new Map<number, number>()

  constructor(dir: string, baseOffset: number, fh: FileHandle) {
    this.dir = dir
    this.baseOffset = baseOffset
    this.fh = fh
    this.nextOffset = baseOffset
    this.index = new OffsetIndex(baseOffset)
    this.timeIndex = new TimeIndex(baseOffset)
  }

  /** Creates an empty segment file (the caller fsyncs the directory). */
  static async create(dir: string, baseOffset: number): Promise<Segment> {
    const fh = await open(join(dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'w+')
    return new Segment(dir, baseOffset, fh)
  }

  /** Path of one of the segment's files. */
  path(suffix: string): string {
    return join(this.dir, segmentFileName(this.baseOffset, suffix))
  }

  /**
   * Accounts for a batch now in the file at position: indexes, max timestamp, size. Called after
   * the write completes (append) or while scanning the file (recovery).
   */
  track(batch: StoredBatchHeader, indexIntervalBytes: number): void {
    if (this.size === 0 && this.firstBatchTimestamp < 0) this.firstBatchTimestamp = batch.maxTimestamp
    if (batch.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batch.maxTimestamp
      this.offsetOfMaxTimestamp = batch.lastOffset
    }
    // As Kafka: an entry for the first batch that starts past each interval of bytes.
    if (this.#bytesSinceIndexEntry >= indexIntervalBytes) {
      this.index.append(batch.lastOffset, batch.position)
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp)
      this.#bytesSinceIndexEntry = 0
    }
    this.#bytesSinceIndexEntry += batch.size
    this.size = batch.position + batch.size
    this.nextOffset = batch.lastOffset + 1
  }

  /** Writes buffers back to back at the end of the file; the caller tracks the batches once this resolves. */
  async write(data: Buffer[]): Promise<void> {
    await writevFully(this.fh, data, this.size)
  }

  /** Reads length bytes at position (fewer if the file is shorter). */
  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length)
    const n = await readFully(this.fh, buf, position)
    return n === length ? buf : buf.subarray(0, n)
  }

  /**
   * Walks batch headers from the index entry at or below `fromOffset` up to `limit` bytes and
   * returns the first batch matching `stop`, or null. Reads the file in small chunks.
   */
  async findBatch(
    fromOffset: number,
    limit: number,
    stop: (batch: StoredBatchHeader) => boolean,
  ): Promise<StoredBatchHeader | null> {
    let pos = this.#hints.get(fromOffset) ?? this.index.lookup(fromOffset)
    let chunk: Buffer = Buffer.alloc(0)
    let chunkStart = 0
    while (pos + L.RECORDS <= limit) {
      if (pos + L.RECORDS > chunkStart + chunk.length) {
        chunkStart = pos
        chunk = await this.read(pos, Math.min(SCAN_CHUNK, limit - pos))
        if (chunk.length < L.RECORDS) return null
      }
      const batch = parseHeader(chunk, pos - chunkStart, pos)
      if (batch.size < L.RECORDS || pos + batch.size > limit) return null
      if (stop(batch)) return batch
      pos += batch.size
    }
    return null
  }

  /** Remembers that offset starts at position, for the next sequential read. */
  hint(offset: number, position: number): void {
    if (this.#hints.size >= MAX_HINTS) {
      const oldest = this.#hints.keys().next().value
      if (oldest !== undefined) this.#hints.delete(oldest)
    }
    this.#hints.set(offset, position)
  }

  /**
   * The newest record's timestamp; for a segment without any (batches with timestamp -1, such as
   * converted magic v0 messages, or no batch at all), its file's last-modified time, as Kafka's
   * LogSegment.largestTimestamp, so that retention.ms still ages it.
   */
  async largestTimestamp(): Promise<number> {
    if (this.maxTimestamp >= 0) return this.maxTimestamp
    return Math.floor((await this.fh.stat()).mtimeMs)
  }

  /** Makes written data durable. */
  async datasync(): Promise<void> {
    await this.fh.datasync()
  }

  /**
   * Writes both index files (atomically, so a crash leaves a whole file or none) with a final
   * time index entry for the segment's max timestamp, as Kafka does when a segment is rolled.
   */
  async writeIndexes(): Promise<void> {
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp)
    await writeFileAtomic(this.path(INDEX_SUFFIX), this.index.toBuffer())
    await writeFileAtomic(this.path(TIME_INDEX_SUFFIX), this.timeIndex.toBuffer())
  }

  /** Takes a reference to the file handle; pair with release(). False if the segment is deleted. */
  acquire(): boolean {
    if (this.#deleted) return false
    this.#refs++
    return true
  }

  /** Drops a reference; the last one closes the file. */
  async release(): Promise<void> {
    if (--this.#refs === 0) await this.fh.close()
  }

  /** Unlinks the segment's files; the handle closes when the last reader is done. */
  async delete(): Promise<void> {
    if (this.#deleted) return
    this.#deleted = true
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      await unlink(this.path(suffix)).catch(() => {})
    }
    await this.release()
  }

  /** Closes the segment (no reader may be running). */
  async close(): Promise<void> {
    if (this.#deleted) return
    this.#deleted = true
    await this.release()
  }
}

/** Reads the header fields a scan needs from buf at p; `position` is the batch's file position. */
export function parseHeader(buf: Buffer, p: number, position: number): StoredBatchHeader {
  const baseOffset = L.readInt64AsNumber(buf, p + L.BASE_OFFSET)
  return {
    position,
    size: L.LOG_OVERHEAD + buf.readInt32BE(p + L.BATCH_LENGTH),
    baseOffset,
    lastOffset: baseOffset + buf.readInt32BE(p + L.LAST_OFFSET_DELTA),
    maxTimestamp: L.readInt64AsNumber(buf, p + L.MAX_TIMESTAMP),
  }
}

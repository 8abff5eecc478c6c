/**
 * Opening a partition directory after a clean stop or a crash (kill -9, power loss).
 *
 * Invariant kept by the writer: a segment stops being the last one only after its log file was
 * fdatasync'ed and its index files were written atomically. So on open:
 * - every segment but the last is whole; its index files are loaded and sanity-checked (sizes,
 *   growing entries, last entry matching the batch it points at), and rebuilt from a header scan
 *   when missing or inconsistent;
 * - the last segment is scanned batch by batch (length bounds, magic, CRC32C, growing offsets)
 *   and truncated after the last whole valid batch, so a torn write is never served; its
 *   indexes are rebuilt by that same scan;
 * - except after a clean stop (CLEAN_SHUTDOWN_FILE), as in Kafka: then the last segment's data
 *   was synced and its index files written at close, so they are loaded like a closed one's and
 *   only the headers after the last index entry are read.
 */
import { open, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import * as L from '../../protocol/records/batch-layout.ts'
import { validateBatch } from '../../protocol/records/batch-validate.ts'
import { RecordsError } from '../../protocol/records/errors.ts'
import type { StorageLogger } from '../engine/logger.ts'
import { INDEX_SUFFIX, parseLogFileName, TIME_INDEX_SUFFIX } from './file-names.ts'
import { isNotFound, readFully } from './fs-util.ts'
import { OffsetIndex } from './offset-index.ts'
import { parseHeader, Segment } from './segment.ts'
import { recoverCleanerFiles } from './swap-recovery.ts'
import { TimeIndex } from './time-index.ts'

/** Bytes read at a time when scanning a whole segment. */
const RECOVERY_CHUNK = 1024 * 1024

/** What opening a partition directory needs. */
export interface RecoveryOptions {
  indexIntervalBytes: number
  logger: StorageLogger
  /** The engine stopped cleanly: the last segment's index files are trusted like a closed one's. */
  cleanShutdown?: boolean
}

/** Opens every segment of a partition directory, oldest first; an empty directory gives []. */
export async function openSegments(dir: string, options: RecoveryOptions): Promise<Segment[]> {
  await recoverCleanerFiles(dir, options.logger)
  const names = await readdir(dir)
  const bases: number[] = []
  for (const name of names) {
    const base = parseLogFileName(name)
    if (base !== null) bases.push(base)
    else if (name.endsWith('.tmp') || name.endsWith('.deleted')) await unlink(join(dir, name)).catch(() => {})
  }
  bases.sort((a, b) => a - b)
  const segments: Segment[] = []
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i] as number
    const fh = await open(join(dir, `${String(base).padStart(20, '0')}.log`), 'r+')
    const segment = new Segment(dir, base, fh)
    const fileSize = (await fh.stat()).size
    const next = bases[i + 1]
    if (next !== undefined) await loadClosedSegment(segment, fileSize, next, options)
    else if (!(options.cleanShutdown === true && (await loadActiveSegment(segment, fileSize)))) {
      await recoverLastSegment(segment, fileSize, options)
    }
    segments.push(segment)
  }
  return segments
}

/** Scans the last segment with CRC checks and truncates a torn or corrupt tail. */
async function recoverLastSegment(segment: Segment, fileSize: number, options: RecoveryOptions): Promise<void> {
  const problem = await scanSegment(segment, fileSize, true, options.indexIntervalBytes)
  if (segment.size < fileSize) {
    options.logger.warn(
      { dir: segment.dir, segment: segment.baseOffset, validBytes: segment.size, fileBytes: fileSize, problem },
      'truncating the invalid tail of a log segment',
    )
    await segment.fh.truncate(segment.size)
    await segment.fh.datasync()
  }
}

/**
 * After a clean stop: loads the last segment's index files and walks only the batch headers past
 * the last index entry, to learn the next offset, instead of reading the whole segment with CRC
 * checks. False, leaving the segment untouched, when the files do not fit together.
 */
async function loadActiveSegment(segment: Segment, fileSize: number): Promise<boolean> {
  const loaded = await readIndexes(segment, fileSize)
  if (loaded === null) return false
  let pos = loaded.index.last()?.position ?? 0
  let nextOffset = segment.baseOffset
  let firstBatchTimestamp = -1
  const header = Buffer.alloc(L.RECORDS)
  while (pos < fileSize) {
    if ((await readFully(segment.fh, header, pos)) < L.RECORDS) return false
    const batch = parseHeader(header, 0, pos)
    if (batch.size < L.RECORDS || pos + batch.size > fileSize || batch.lastOffset < nextOffset) return false
    if (pos === 0) firstBatchTimestamp = batch.maxTimestamp
    nextOffset = batch.lastOffset + 1
    pos += batch.size
  }
  if (fileSize > 0 && firstBatchTimestamp < 0) {
    if ((await readFully(segment.fh, header, 0)) < L.RECORDS) return false
    firstBatchTimestamp = parseHeader(header, 0, 0).maxTimestamp
  }
  segment.index = loaded.index
  segment.timeIndex = loaded.timeIndex
  segment.size = fileSize
  segment.nextOffset = nextOffset
  segment.firstBatchTimestamp = firstBatchTimestamp
  takeMaxTimestamp(segment)
  return true
}

/** A loaded segment's max timestamp is its time index's final entry (written when it was closed). */
function takeMaxTimestamp(segment: Segment): void {
  const last = segment.timeIndex.last()
  if (last !== undefined) {
    segment.maxTimestamp = last.timestamp
    segment.offsetOfMaxTimestamp = last.offset
  }
}

/** Loads a closed segment's index files, rebuilding them from the log when they do not fit it. */
async function loadClosedSegment(
  segment: Segment,
  fileSize: number,
  nextBase: number,
  options: RecoveryOptions,
): Promise<void> {
  const loaded = await readIndexes(segment, fileSize)
  if (loaded !== null) {
    segment.index = loaded.index
    segment.timeIndex = loaded.timeIndex
    segment.size = fileSize
    segment.nextOffset = nextBase
    takeMaxTimestamp(segment)
    return
  }
  options.logger.warn({ dir: segment.dir, segment: segment.baseOffset }, 'rebuilding the indexes of a log segment')
  const problem = await scanSegment(segment, fileSize, false, options.indexIntervalBytes)
  if (problem !== null) {
    options.logger.error({ dir: segment.dir, segment: segment.baseOffset, problem }, 'closed log segment has bad data')
  }
  segment.nextOffset = Math.max(segment.nextOffset, nextBase)
  await segment.writeIndexes()
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch (err) {
    if (isNotFound(err)) return null
    throw err
  }
}

/** A segment's index files when both exist, parse, and the last offset index entry matches the log. */
async function readIndexes(
  segment: Segment,
  fileSize: number,
): Promise<{ index: OffsetIndex; timeIndex: TimeIndex } | null> {
  const indexBytes = await readOptional(segment.path(INDEX_SUFFIX))
  const timeBytes = await readOptional(segment.path(TIME_INDEX_SUFFIX))
  if (indexBytes === null || timeBytes === null) return null
  const index = OffsetIndex.fromBuffer(segment.baseOffset, indexBytes, fileSize)
  const timeIndex = TimeIndex.fromBuffer(segment.baseOffset, timeBytes)
  if (index === null || timeIndex === null) return null
  // A non-empty segment always gets a final time index entry when it is closed.
  if (fileSize > 0 && timeIndex.count === 0) return null
  const last = index.last()
  if (last !== undefined) {
    const header = Buffer.alloc(L.RECORDS)
    if ((await readFully(segment.fh, header, last.position)) < L.RECORDS) return null
    const batch = parseHeader(header, 0, last.position)
    if (batch.lastOffset !== last.offset || last.position + batch.size > fileSize) return null
  }
  return { index, timeIndex }
}

/**
 * Walks the segment file from the start, tracking each whole batch (which rebuilds the indexes)
 * and stopping at the first one that is cut short or, with verify, fails magic/CRC/offset checks.
 * Returns why it stopped early, or null when the whole file is valid.
 */
export async function scanSegment(
  segment: Segment,
  fileSize: number,
  verify: boolean,
  indexIntervalBytes: number,
): Promise<string | null> {
  let pos = 0
  // One buffer for the whole scan (grown for a larger batch): a new one per chunk would leave
  // gigabytes to the garbage collector on a large segment.
  let buf = Buffer.allocUnsafe(Math.min(RECOVERY_CHUNK, fileSize))
  let chunk: Buffer = buf.subarray(0, 0)
  let chunkStart = 0
  const load = async (length: number): Promise<void> => {
    if (length > buf.length) buf = Buffer.allocUnsafe(length)
    chunk = buf.subarray(0, await readFully(segment.fh, buf.subarray(0, length), pos))
    chunkStart = pos
  }
  while (pos < fileSize) {
    if (fileSize - pos < L.RECORDS) return 'truncated batch header'
    let at = pos - chunkStart
    if (at + L.RECORDS > chunk.length) {
      await load(Math.min(RECOVERY_CHUNK, fileSize - pos))
      at = 0
    }
    const size = L.LOG_OVERHEAD + chunk.readInt32BE(at + L.BATCH_LENGTH)
    if (size < L.RECORDS || pos + size > fileSize) return `batch length ${size} does not fit`
    if (verify && at + size > chunk.length) {
      // Read the whole batch so its CRC can be checked in one buffer.
      await load(Math.max(size, Math.min(RECOVERY_CHUNK, fileSize - pos)))
      at = 0
    }
    const batch = parseHeader(chunk, at, pos)
    if (verify) {
      const checked = validateBatch(chunk, at, at + size)
      if (checked instanceof RecordsError) return checked.message
      if (batch.baseOffset < segment.nextOffset || batch.lastOffset < batch.baseOffset) {
        return `batch offset ${batch.baseOffset} goes backwards`
      }
    }
    segment.track(batch, indexIntervalBytes)
    pos += size
  }
  return null
}

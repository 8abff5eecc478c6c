/**
 * Crash safety of the log cleaner, in the manner of Kafka's `.cleaned`/`.swap` suffixes.
 *
 * The cleaner writes the segment that replaces a group of old segments [b, e) under temporary
 * names (`<b>.log.cleaned`, `<b>.index.cleaned`, `<b>.timeindex.cleaned`), fsyncs them and the
 * directory, then commits by renaming `<b>.log.cleaned` to `<b>.log.swap` (and fsyncing the
 * directory). After that it deletes the old segments' files, renames the index files into place,
 * renames `<b>.log.swap` to `<b>.log` and fsyncs the directory.
 *
 * So on open:
 * - a `.cleaned` log without a `.swap` is an unfinished cleaning: its files are deleted and the
 *   old segments, untouched, stay;
 * - a `.swap` log is a committed one: every `.log` whose base offset lies in [b, end of the swap
 *   segment) is deleted with its indexes, the cleaned index files (if still there) replace any
 *   old ones, and the swap becomes `<b>.log`. Old segments past the swap segment's last batch,
 *   if any survived, hold only offsets above it: keeping them leaves a correct, less clean log.
 * The indexes of the result are then checked against the log like any closed segment's.
 */
import { open, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import * as L from '../../protocol/records/batch-layout.ts'
import type { StorageLogger } from '../engine/logger.ts'
import { INDEX_SUFFIX, LOG_SUFFIX, segmentFileName, TIME_INDEX_SUFFIX } from './file-names.ts'
import { fsyncDir, readFully } from './fs-util.ts'

/** Suffix of files the cleaner is still writing. */
export const CLEANED_SUFFIX = '.cleaned'
/** Suffix of a cleaned log that is committed but not yet renamed into place. */
export const SWAP_SUFFIX = '.swap'

const SWAP_LOG = /^(\d{20})\.log\.swap$/
const SEGMENT_LOG = /^(\d{20})\.log$/

/** Finishes committed swaps and drops unfinished cleanings in a partition directory. */
export async function recoverCleanerFiles(dir: string, logger: StorageLogger): Promise<void> {
  let names = await readdir(dir)
  const swaps = names.flatMap((n) => {
    const m = SWAP_LOG.exec(n)
    return m === null ? [] : [Number(m[1])]
  })
  if (swaps.length === 0 && !names.some((n) => n.endsWith(CLEANED_SUFFIX))) return
  for (const base of swaps.sort((a, b) => a - b)) {
    const swapPath = join(dir, segmentFileName(base, LOG_SUFFIX + SWAP_SUFFIX))
    const end = Math.max(base + 1, await nextOffsetOfFile(swapPath))
    for (const name of names) {
      const m = SEGMENT_LOG.exec(name)
      const old = m === null ? -1 : Number(m[1])
      if (old < base || old >= end) continue
      for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
        await unlink(join(dir, segmentFileName(old, suffix))).catch(() => {})
      }
    }
    names = await readdir(dir)
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const cleaned = segmentFileName(base, suffix + CLEANED_SUFFIX)
      if (names.includes(cleaned)) await rename(join(dir, cleaned), join(dir, segmentFileName(base, suffix)))
    }
    await rename(swapPath, join(dir, segmentFileName(base, LOG_SUFFIX)))
    logger.warn({ dir, segment: base, replacedUpTo: end }, 'completed the swap of a cleaned log segment')
    names = await readdir(dir)
  }
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX)) {
      await unlink(join(dir, name)).catch(() => {})
      logger.warn({ dir, file: name }, 'deleted the output of an unfinished log cleaning')
    }
  }
  await fsyncDir(dir)
}

/** The offset after the last whole batch of a log file (its base offset from the name when empty). */
async function nextOffsetOfFile(path: string): Promise<number> {
  const fh = await open(path, 'r')
  try {
    const size = (await fh.stat()).size
    const header = Buffer.alloc(L.RECORDS)
    let pos = 0
    let next = -1
    while (pos + L.RECORDS <= size) {
      if ((await readFully(fh, header, pos)) < L.RECORDS) break
      const length = L.LOG_OVERHEAD + header.readInt32BE(L.BATCH_LENGTH)
      if (length < L.RECORDS || pos + length > size) break
      next = L.readInt64AsNumber(header, L.BASE_OFFSET) + header.readInt32BE(L.LAST_OFFSET_DELTA) + 1
      pos += length
    }
    return next
  } finally {
    await fh.close()
  }
}

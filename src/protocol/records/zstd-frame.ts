/**
 * Upper bound of the decompressed size of zstd data, from frame and block headers only.
 * The native decoder streams into a growing buffer, and zstd can expand a 4-byte RLE block to
 * 128 KiB, so without this bound a small hostile input could exhaust memory.
 * Layout: RFC 8878 (https://www.rfc-editor.org/rfc/rfc8878).
 */
import { corrupt } from './errors.ts'

const MAGIC = 0xfd2fb528
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50
const BLOCK_MAX = 128 * 1024

/** Sum over all frames of raw/RLE block sizes plus 128 KiB per compressed block. */
export function zstdMaxDecompressedSize(buf: Uint8Array): number {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  let p = 0
  let bound = 0
  if (view.length === 0) throw corrupt('DECOMPRESSION_FAILED', 'zstd: empty input')
  while (p < view.length) {
    if (p + 4 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'zstd: truncated frame')
    const magic = view.readUInt32LE(p)
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (p + 8 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'zstd: truncated skippable frame')
      p += 8 + view.readUInt32LE(p + 4)
      continue
    }
    if (magic !== MAGIC) throw corrupt('DECOMPRESSION_FAILED', 'zstd: bad magic number')
    if (p + 5 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'zstd: truncated frame header')
    const fhd = view[p + 4] ?? 0
    if ((fhd & 0x08) !== 0) throw corrupt('DECOMPRESSION_FAILED', 'zstd: reserved bit set')
    const fcsFlag = fhd >> 6
    const singleSegment = (fhd & 0x20) !== 0
    const dictIdBytes = [0, 1, 2, 4][fhd & 3] ?? 0
    const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag
    p += 5 + (singleSegment ? 0 : 1) + dictIdBytes + fcsBytes
    for (;;) {
      if (p + 3 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'zstd: truncated block header')
      const header = (view[p] ?? 0) | ((view[p + 1] ?? 0) << 8) | ((view[p + 2] ?? 0) << 16)
      p += 3
      const last = (header & 1) !== 0
      const type = (header >> 1) & 3
      const size = header >>> 3
      if (type === 0) {
        bound += size
        p += size
      } else if (type === 1) {
        bound += size
        p += 1
      } else if (type === 2) {
        if (size > BLOCK_MAX) throw corrupt('DECOMPRESSION_FAILED', 'zstd: block too large')
        bound += BLOCK_MAX
        p += size
      } else {
        throw corrupt('DECOMPRESSION_FAILED', 'zstd: reserved block type')
      }
      if (last) break
    }
    if ((fhd & 0x04) !== 0) p += 4
    if (p > view.length) throw corrupt('DECOMPRESSION_FAILED', 'zstd: truncated frame')
  }
  return bound
}

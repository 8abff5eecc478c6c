/**
 * LZ4 frame inspection, done in JS before handing bytes to the native decoder:
 * - an upper bound of the decompressed size, so a small hostile frame cannot make us allocate
 *   more than the caller allows (the native decoder grows its output as it goes);
 * - repair of the header checksum written by Kafka < 0.10 clients for magic 0 messages, which
 *   hashed the magic number too (KAFKA-3160); Kafka accepts it for magic 0 only.
 * Layout: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md
 */
import { corrupt } from './errors.ts'
import { xxhash32 } from './xxhash32.ts'

const MAGIC = 0x184d2204
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50
/** LZ4 cannot expand a compressed block by more than ~255× (one length byte adds ≤ 255). */
const MAX_RATIO = 256

/** Facts about the first frame of a buffer. */
export interface Lz4FrameInfo {
  /** Upper bound of the decompressed size of the frame. */
  maxDecompressedSize: number
  /** Position of the frame's magic number (after any skippable frames). */
  frameStart: number
  /** Position of the header checksum byte (HC). */
  headerChecksumAt: number
}

/** Walk the first LZ4 frame of buf; throws RecordsError('corrupt') if it is malformed or truncated. */
export function inspectLz4Frame(buf: Uint8Array): Lz4FrameInfo {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  let p = 0
  // Skippable frames may precede the data frame.
  for (;;) {
    if (p + 4 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'lz4: truncated frame')
    const magic = view.readUInt32LE(p)
    if (magic === MAGIC) break
    if ((magic & SKIPPABLE_MASK) >>> 0 !== SKIPPABLE_MAGIC)
      throw corrupt('DECOMPRESSION_FAILED', 'lz4: bad magic number')
    if (p + 8 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'lz4: truncated skippable frame')
    p += 8 + view.readUInt32LE(p + 4)
  }
  const frameStart = p
  if (p + 7 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'lz4: truncated frame header')
  const flg = view[p + 4] ?? 0
  const bd = view[p + 5] ?? 0
  if (flg >> 6 !== 1) throw corrupt('DECOMPRESSION_FAILED', 'lz4: unsupported frame version')
  const blockSizeId = (bd >> 4) & 7
  if (blockSizeId < 4) throw corrupt('DECOMPRESSION_FAILED', 'lz4: bad block size id')
  const blockMax = 1 << (2 * blockSizeId + 8)
  const blockChecksum = (flg & 0x10) !== 0
  const contentChecksum = (flg & 0x04) !== 0
  p += 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0)
  const headerChecksumAt = p
  p += 1
  let bound = 0
  for (;;) {
    if (p + 4 > view.length) throw corrupt('DECOMPRESSION_FAILED', 'lz4: truncated block')
    const word = view.readUInt32LE(p)
    p += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    if (size > blockMax) throw corrupt('DECOMPRESSION_FAILED', 'lz4: block larger than its maximum')
    bound += (word & 0x80000000) !== 0 ? size : Math.min(blockMax, size * MAX_RATIO)
    p += size + (blockChecksum ? 4 : 0)
  }
  if (contentChecksum) p += 4
  if (p > view.length) throw corrupt('DECOMPRESSION_FAILED', 'lz4: truncated frame end')
  return { maxDecompressedSize: bound, frameStart, headerChecksumAt }
}

/** The correct HC byte: second byte of XXH32 over the descriptor (FLG..end of optional fields). */
export function lz4HeaderChecksum(frame: Uint8Array, frameStart: number, headerChecksumAt: number): number {
  return (xxhash32(frame, frameStart + 4, headerChecksumAt) >>> 8) & 0xff
}

/** The HC byte as Kafka 0.8/0.9 computed it: XXH32 over magic + descriptor. */
export function lz4BrokenHeaderChecksum(frame: Uint8Array, frameStart: number, headerChecksumAt: number): number {
  return (xxhash32(frame, frameStart, headerChecksumAt) >>> 8) & 0xff
}

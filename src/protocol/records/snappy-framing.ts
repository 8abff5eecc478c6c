/**
 * Snappy as Kafka clients write it. The Java client (snappy-java's SnappyOutputStream) writes the
 * "xerial" framing: magic \x82SNAPPY\0, int32 version, int32 minimum compatible version, then
 * blocks of int32 length + raw snappy. librdkafka, KafkaJS, franz-go and Sarama write raw snappy.
 * Every client decodes both (snappy-java falls back to raw when the magic is absent), so we read
 * both and write raw snappy, which is also cheaper.
 */
import { corrupt, invalid, type RecordsError } from './errors.ts'
import { snappyCodec } from './native-codecs.ts'

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_SIZE = 16

/** True when buf starts with the xerial magic. */
export function isXerialFramed(buf: Uint8Array): boolean {
  if (buf.length < XERIAL_HEADER_SIZE) return false
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (buf[i] !== XERIAL_MAGIC[i]) return false
  return true
}

/** Uncompressed length from a raw snappy block's varint preamble (at most 32 bits). */
export function snappyUncompressedLength(buf: Uint8Array, start = 0, end = buf.length): number {
  let result = 0
  for (let i = 0; i < 5; i++) {
    if (start + i >= end) break
    const b = buf[start + i] ?? 0
    result += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) break
      return result
    }
  }
  throw corrupt('DECOMPRESSION_FAILED', 'snappy: bad length preamble')
}

/** Raw snappy block → bytes, refusing to allocate more than maxBytes. */
export function uncompressRawSnappy(block: Buffer, maxBytes: number): Buffer {
  const length = snappyUncompressedLength(block)
  if (length > maxBytes) throw tooLarge(length, maxBytes)
  try {
    return snappyCodec().uncompressSync(block, { asBuffer: true }) as Buffer
  } catch (err) {
    throw corrupt('DECOMPRESSION_FAILED', 'snappy: corrupt input', err)
  }
}

/** Decode xerial-framed snappy: validates every block length before decompressing any. */
export function uncompressXerial(buf: Buffer, maxBytes: number): Buffer {
  const blocks: Buffer[] = []
  let total = 0
  let p = XERIAL_HEADER_SIZE
  while (p < buf.length) {
    // snappy-java ≥ 1.1.2 also accepts concatenated streams, each with its own header.
    if (isXerialFramed(buf.subarray(p, p + XERIAL_HEADER_SIZE))) {
      p += XERIAL_HEADER_SIZE
      continue
    }
    if (p + 4 > buf.length) throw corrupt('DECOMPRESSION_FAILED', 'snappy: truncated xerial block length')
    const size = buf.readInt32BE(p)
    p += 4
    if (size < 0 || p + size > buf.length) throw corrupt('DECOMPRESSION_FAILED', 'snappy: xerial block past the end')
    const block = buf.subarray(p, p + size)
    p += size
    total += snappyUncompressedLength(block)
    if (total > maxBytes) throw tooLarge(total, maxBytes)
    blocks.push(block)
  }
  if (blocks.length === 1) return uncompressRawSnappy(blocks[0] as Buffer, maxBytes)
  const out = Buffer.allocUnsafe(total)
  let o = 0
  for (const block of blocks) {
    const part = uncompressRawSnappy(block, maxBytes)
    part.copy(out, o)
    o += part.length
  }
  return out
}

function tooLarge(size: number, maxBytes: number): RecordsError {
  return invalid('TOO_LARGE', `snappy: decompressed size ${size} exceeds limit ${maxBytes}`)
}

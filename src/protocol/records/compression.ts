/**
 * The five Kafka compression codecs, with sync and async (thread-pool) variants.
 * - gzip: node:zlib.
 * - snappy: `snappy` (napi-rs); reads raw and xerial-framed data, writes raw (see snappy-framing.ts).
 * - lz4: `lz4-napi` (napi-rs, lz4_flex) frame format with independent blocks and no checksums,
 *   which is what Kafka's Java Lz4BlockInputStream requires (it rejects dependent blocks).
 * - zstd: `@toondepauw/node-zstd` (napi-rs over the zstd crate, prebuilt binaries as npm
 *   optional dependencies; no install script). Node 20 has no zlib zstd.
 * Decompression refuses output over the caller's `maxBytes`: each codec's output size is bounded
 * from headers before the native call (gzip enforces it natively), see checkBound.
 */
import zlib from 'node:zlib'
import type { Decoder as ZstdDecoder, Encoder as ZstdEncoder } from '@toondepauw/node-zstd'
import { corrupt, invalid, RecordsError } from './errors.ts'
import { inspectLz4Frame, lz4BrokenHeaderChecksum, lz4HeaderChecksum } from './lz4-frame.ts'
import { lz4Codec, snappyCodec, zstdCodec } from './native-codecs.ts'
import { isXerialFramed, uncompressRawSnappy, uncompressXerial } from './snappy-framing.ts'
import { zstdMaxDecompressedSize } from './zstd-frame.ts'

/** Codec ids as in the attributes of batches and legacy messages (bits 0-2). */
export const Compression = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const
/** A codec id. */
export type CompressionCodec = (typeof Compression)[keyof typeof Compression]

/** Names as in Kafka's compression.type config. */
export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

/** Narrow a 3-bit attributes value to a known codec, or throw RecordsError('invalid'). */
export function toCompressionCodec(id: number): CompressionCodec {
  if (id >= 0 && id <= 4 && Number.isInteger(id)) return id as CompressionCodec
  throw invalid('UNKNOWN_COMPRESSION', `unknown compression codec ${id}`)
}

/** Options for compress(). */
export interface CompressOptions {
  /** gzip 1-9 (default 6), zstd 1-22 (default 3, Kafka's default). Ignored by snappy and lz4. */
  level?: number
  /** Write the LZ4 header checksum the way Kafka < 0.10 did (only for magic 0 message sets). */
  lz4BrokenHeaderChecksum?: boolean
}

/** Options for decompress(). */
export interface DecompressOptions {
  /** Refuse output larger than this many bytes (RecordsError reason TOO_LARGE). */
  maxBytes: number
  /** Accept the broken LZ4 header checksum of Kafka < 0.10 (magic 0 message sets only). */
  lz4LegacyHeaderChecksum?: boolean
}

/** Below this size the thread-pool hop costs more than compressing on the main thread. */
const ASYNC_THRESHOLD = 32 * 1024
const ZSTD_DEFAULT_LEVEL = 3
const zstdEncoders = new Map<number, ZstdEncoder>()
let decoder: ZstdDecoder | undefined

function zstdDecoder(): ZstdDecoder {
  decoder ??= new (zstdCodec().Decoder)()
  return decoder
}

function zstdEncoder(level: number): ZstdEncoder {
  let encoder = zstdEncoders.get(level)
  if (encoder === undefined) {
    encoder = new (zstdCodec().Encoder)(level)
    zstdEncoders.set(level, encoder)
  }
  return encoder
}

const LZ4_OPTIONS = { contentChecksum: false, blockChecksums: false }

/** Compress synchronously. Codec NONE returns the input itself. */
export function compressSync(codec: CompressionCodec, data: Buffer, options: CompressOptions = {}): Buffer {
  switch (codec) {
    case Compression.NONE:
      return data
    case Compression.GZIP:
      return zlib.gzipSync(data, { level: options.level ?? 6 })
    case Compression.SNAPPY:
      return snappyCodec().compressSync(data)
    case Compression.LZ4:
      return finishLz4(lz4Codec().compressFrameSync(data, LZ4_OPTIONS), options)
    case Compression.ZSTD:
      return zstdEncoder(options.level ?? ZSTD_DEFAULT_LEVEL).encodeSync(data)
  }
}

/** Compress, on libuv's thread pool for large inputs. */
export async function compress(codec: CompressionCodec, data: Buffer, options: CompressOptions = {}): Promise<Buffer> {
  if (data.length < ASYNC_THRESHOLD) return compressSync(codec, data, options)
  switch (codec) {
    case Compression.NONE:
      return data
    case Compression.GZIP:
      return await new Promise<Buffer>((resolve, reject) => {
        zlib.gzip(data, { level: options.level ?? 6 }, (err, out) => (err === null ? resolve(out) : reject(err)))
      })
    case Compression.SNAPPY:
      return await snappyCodec().compress(data)
    case Compression.LZ4:
      return finishLz4(await lz4Codec().compressFrame(data, LZ4_OPTIONS), options)
    case Compression.ZSTD:
      return await zstdEncoder(options.level ?? ZSTD_DEFAULT_LEVEL).encode(data)
  }
}

function finishLz4(frame: Buffer, options: CompressOptions): Buffer {
  if (options.lz4BrokenHeaderChecksum === true) {
    const info = inspectLz4Frame(frame)
    frame[info.headerChecksumAt] = lz4BrokenHeaderChecksum(frame, info.frameStart, info.headerChecksumAt)
  }
  return frame
}

/** Decompress synchronously; throws RecordsError for corrupt input or output over maxBytes. */
export function decompressSync(codec: CompressionCodec, data: Buffer, options: DecompressOptions): Buffer {
  const { maxBytes } = options
  let out: Buffer
  try {
    switch (codec) {
      case Compression.NONE:
        out = data
        break
      case Compression.GZIP:
        out = zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) })
        break
      case Compression.SNAPPY:
        out = isXerialFramed(data) ? uncompressXerial(data, maxBytes) : uncompressRawSnappy(data, maxBytes)
        break
      case Compression.LZ4:
        out = lz4Codec().decompressFrameSync(prepareLz4(data, options))
        break
      case Compression.ZSTD:
        checkBound(zstdMaxDecompressedSize(data), maxBytes, 'zstd')
        out = zstdDecoder().decodeSync(data)
        break
    }
  } catch (err) {
    throw wrapError(codec, err)
  }
  return checkOutput(out, maxBytes)
}

/** Decompress, on libuv's thread pool for large inputs. */
export async function decompress(codec: CompressionCodec, data: Buffer, options: DecompressOptions): Promise<Buffer> {
  if (data.length < ASYNC_THRESHOLD || codec === Compression.SNAPPY || codec === Compression.NONE) {
    // snappy decodes at several GB/s: the thread hop would cost more than it saves.
    return decompressSync(codec, data, options)
  }
  const { maxBytes } = options
  let out: Buffer
  try {
    if (codec === Compression.GZIP) {
      out = await new Promise<Buffer>((resolve, reject) => {
        zlib.gunzip(data, { maxOutputLength: Math.max(1, maxBytes) }, (err, res) =>
          err === null ? resolve(res) : reject(err),
        )
      })
    } else if (codec === Compression.LZ4) {
      out = await lz4Codec().decompressFrame(prepareLz4(data, options))
    } else {
      checkBound(zstdMaxDecompressedSize(data), maxBytes, 'zstd')
      out = await zstdDecoder().decode(data)
    }
  } catch (err) {
    throw wrapError(codec, err)
  }
  return checkOutput(out, maxBytes)
}

/** Bound the frame's output and, for legacy data, repair its header checksum on a copy. */
function prepareLz4(data: Buffer, options: DecompressOptions): Buffer {
  const info = inspectLz4Frame(data)
  checkBound(info.maxDecompressedSize, options.maxBytes, 'lz4')
  if (options.lz4LegacyHeaderChecksum !== true) return data
  const hc = lz4HeaderChecksum(data, info.frameStart, info.headerChecksumAt)
  if (data[info.headerChecksumAt] === hc) return data
  const copy = Buffer.from(data)
  copy[info.headerChecksumAt] = hc
  return copy
}

/**
 * Header-derived bounds are loose by up to one block (a compressed zstd block counts as 128 KiB,
 * whatever it holds), so allow that much slack: native output stays under maxBytes + 256 KiB,
 * and the exact limit is checked on the result.
 */
const BOUND_SLACK = 256 * 1024

function checkBound(bound: number, maxBytes: number, codec: string): void {
  if (bound > maxBytes + BOUND_SLACK) {
    throw invalid('TOO_LARGE', `${codec}: data may decompress to ${bound} bytes, limit is ${maxBytes}`)
  }
}

function checkOutput(out: Buffer, maxBytes: number): Buffer {
  if (out.length > maxBytes) throw invalid('TOO_LARGE', `decompressed ${out.length} bytes, limit is ${maxBytes}`)
  return out
}

function wrapError(codec: CompressionCodec, err: unknown): RecordsError {
  if (err instanceof RecordsError) return err
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'ERR_BUFFER_TOO_LARGE') return invalid('TOO_LARGE', `${COMPRESSION_NAMES[codec]}: output over the limit`)
  return corrupt('DECOMPRESSION_FAILED', `${COMPRESSION_NAMES[codec]}: cannot decompress`, err)
}

import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import { compressSync as snappyRaw } from 'snappy'
import {
  Compression,
  type CompressionCodec,
  compress,
  compressSync,
  decompress,
  decompressSync,
  toCompressionCodec,
} from '../../../src/protocol/records/compression.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import { inspectLz4Frame, lz4HeaderChecksum } from '../../../src/protocol/records/lz4-frame.ts'
import { xxhash32 } from '../../../src/protocol/records/xxhash32.ts'
import { randomBytes, rng } from './helpers.ts'

const require = createRequire(import.meta.url)
const CODECS: CompressionCodec[] = [0, 1, 2, 3, 4]
const LIMIT = { maxBytes: 16 * 1024 * 1024 }

function isRecordsError(reason?: string) {
  return (err: unknown) => err instanceof RecordsError && (reason === undefined || err.reason === reason)
}

describe('compression', () => {
  it('round-trips every codec, sync and async, small and above the thread-pool threshold', async () => {
    const next = rng(1)
    for (const size of [0, 1, 100, 5000, 100_000, 1_000_000]) {
      const data = randomBytes(next, size)
      for (const codec of CODECS) {
        const a = compressSync(codec, data)
        const b = await compress(codec, data)
        assert.deepEqual(decompressSync(codec, a, LIMIT), data, `codec ${codec} size ${size} sync`)
        assert.deepEqual(await decompress(codec, b, LIMIT), data, `codec ${codec} size ${size} async`)
      }
    }
  })

  it('writes LZ4 frames the Java client accepts: version 1, independent blocks, 64K-4M blocks', () => {
    const frame = compressSync(Compression.LZ4, Buffer.alloc(300_000, 'x'))
    assert.equal(frame.readUInt32LE(0), 0x184d2204)
    const flg = frame[4] as number
    assert.equal(flg >> 6, 1)
    assert.equal(flg & 0x20, 0x20, 'block independence')
    assert.equal(flg & 0x03, 0, 'reserved bits and dict id clear')
    const bd = ((frame[5] as number) >> 4) & 7
    assert.ok(bd >= 4 && bd <= 7)
    const info = inspectLz4Frame(frame)
    assert.equal(frame[info.headerChecksumAt], lz4HeaderChecksum(frame, info.frameStart, info.headerChecksumAt))
  })

  it('decodes LZ4 frames from other encoders (lz4js, @platformatic/wasm-utils)', async () => {
    const data = randomBytes(rng(2), 200_000)
    const lz4js = require('lz4js') as { compress(b: Buffer): Uint8Array }
    assert.deepEqual(decompressSync(Compression.LZ4, Buffer.from(lz4js.compress(data)), LIMIT), data)
    const wasm = (await import('@platformatic/wasm-utils')) as {
      lz4Compress(b: Buffer): Buffer
      snappyCompress(b: Buffer): Buffer
    }
    assert.deepEqual(decompressSync(Compression.LZ4, wasm.lz4Compress(data), LIMIT), data)
    assert.deepEqual(decompressSync(Compression.SNAPPY, wasm.snappyCompress(data), LIMIT), data)
  })

  it('reads and writes the broken LZ4 header checksum of Kafka < 0.10 only when asked', () => {
    const data = Buffer.from('legacy magic 0 lz4 '.repeat(50))
    const broken = compressSync(Compression.LZ4, data, { lz4BrokenHeaderChecksum: true })
    const info = inspectLz4Frame(broken)
    assert.notEqual(broken[info.headerChecksumAt], lz4HeaderChecksum(broken, info.frameStart, info.headerChecksumAt))
    assert.throws(() => decompressSync(Compression.LZ4, broken, LIMIT), isRecordsError('DECOMPRESSION_FAILED'))
    assert.deepEqual(decompressSync(Compression.LZ4, broken, { ...LIMIT, lz4LegacyHeaderChecksum: true }), data)
  })

  it('decodes xerial-framed snappy (Java client) as well as raw snappy', () => {
    const data = randomBytes(rng(3), 100_000)
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
    const parts: Buffer[] = [header]
    for (let p = 0; p < data.length; p += 32 * 1024) {
      const block = snappyRaw(data.subarray(p, p + 32 * 1024))
      const len = Buffer.alloc(4)
      len.writeInt32BE(block.length)
      parts.push(len, block)
    }
    const xerial = Buffer.concat(parts)
    assert.deepEqual(decompressSync(Compression.SNAPPY, xerial, LIMIT), data)
    // snappy-java also reads concatenated streams, each with its own header.
    assert.deepEqual(
      decompressSync(Compression.SNAPPY, Buffer.concat([xerial, xerial]), LIMIT),
      Buffer.concat([data, data]),
    )
    assert.throws(
      () => decompressSync(Compression.SNAPPY, xerial.subarray(0, xerial.length - 3), LIMIT),
      isRecordsError(),
    )
  })

  it('refuses output above maxBytes for every codec, before inflating bombs', async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024)
    for (const codec of [1, 2, 3, 4] as CompressionCodec[]) {
      const packed = compressSync(codec, zeros)
      assert.throws(
        () => decompressSync(codec, packed, { maxBytes: 1024 * 1024 }),
        isRecordsError('TOO_LARGE'),
        `codec ${codec}`,
      )
      await assert.rejects(decompress(codec, packed, { maxBytes: 1024 * 1024 }), isRecordsError('TOO_LARGE'))
      assert.equal(decompressSync(codec, packed, { maxBytes: zeros.length }).length, zeros.length)
    }
  })

  it('turns garbage into RecordsError for every codec', async () => {
    const next = rng(4)
    for (let i = 0; i < 200; i++) {
      const junk = randomBytes(next, Math.floor(next() * 64))
      for (const codec of [1, 2, 3, 4] as CompressionCodec[]) {
        try {
          decompressSync(codec, junk, LIMIT)
        } catch (err) {
          assert.ok(err instanceof RecordsError, `codec ${codec}: ${String(err)}`)
        }
        await decompress(codec, junk, LIMIT).catch((err: unknown) => assert.ok(err instanceof RecordsError))
      }
    }
  })

  it('rejects unknown codec ids as invalid', () => {
    assert.equal(toCompressionCodec(4), 4)
    for (const id of [5, 6, 7, -1]) assert.throws(() => toCompressionCodec(id), isRecordsError('UNKNOWN_COMPRESSION'))
  })

  it('xxhash32 matches reference vectors', () => {
    assert.equal(xxhash32(Buffer.alloc(0)), 0x02cc5d05)
    assert.equal(xxhash32(Buffer.from('a')), 0x550d7456)
    assert.equal(xxhash32(Buffer.from('abc')), 0x32d153ff)
    assert.equal(xxhash32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeBatchSync, encodeBatchSync, recordOffset, recordTimestamp } from '../../../src/protocol/records/batch.ts'
import { validateBatch } from '../../../src/protocol/records/batch-validate.ts'
import type { CompressionCodec } from '../../../src/protocol/records/compression.ts'
import {
  batchesToMessageSet,
  batchesToMessageSetSync,
  messageSetToBatch,
  messageSetToBatchSync,
} from '../../../src/protocol/records/convert.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import {
  decodeMessageSet,
  decodeMessageSetSync,
  encodeMessageSet,
  encodeMessageSetSync,
  type LegacyMagic,
} from '../../../src/protocol/records/legacy.ts'
import { loadKafkajs, randomBytes, rng } from './helpers.ts'

const CODECS: CompressionCodec[] = [0, 1, 2, 3, 4]

function messages(n: number, seed: number) {
  const next = rng(seed)
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 0 ? null : randomBytes(next, 8),
    value: i % 5 === 4 ? null : randomBytes(next, 50 + i),
    timestamp: 1_700_000_000_000 + i * 7,
  }))
}

describe('legacy message sets (magic 0/1)', () => {
  it('round-trips v0 and v1 with every codec, resolving relative inner offsets', async () => {
    for (const magic of [0, 1] as LegacyMagic[]) {
      for (const compression of CODECS) {
        const input = messages(25, magic * 10 + compression)
        const bytes = await encodeMessageSet({ magic, compression, messages: input, baseOffset: 500n })
        assert.deepEqual(
          encodeMessageSetSync({ magic, compression, messages: input, baseOffset: 500n, defaultTimestamp: 0 }).length,
          bytes.length,
        )
        for (const out of [await decodeMessageSet(bytes), decodeMessageSetSync(bytes)]) {
          assert.equal(out.length, input.length)
          out.forEach((m, i) => {
            assert.equal(m.offset, 500n + BigInt(i))
            assert.equal(m.magic, magic)
            assert.equal(m.compression, compression)
            assert.deepEqual(m.key, input[i]?.key)
            assert.deepEqual(m.value, input[i]?.value)
            assert.equal(m.timestamp, magic === 0 ? -1n : BigInt(input[i]?.timestamp ?? 0))
          })
        }
      }
    }
  })

  it('applies a v1 wrapper LogAppendTime to its inner messages', async () => {
    const bytes = await encodeMessageSet({
      magic: 1,
      compression: 1,
      messages: messages(3, 1),
      timestampType: 1,
      logAppendTime: 42,
    })
    const out = await decodeMessageSet(bytes)
    assert.deepEqual(
      out.map((m) => [m.timestamp, m.timestampType]),
      [
        [42n, 1],
        [42n, 1],
        [42n, 1],
      ],
    )
  })

  it('detects CRC corruption, truncation and nested compression', async () => {
    const bytes = encodeMessageSetSync({ magic: 1, messages: messages(2, 2) })
    const bad = Buffer.from(bytes)
    bad[30] = (bad[30] as number) ^ 1
    assert.throws(
      () => decodeMessageSetSync(bad),
      (e: unknown) => e instanceof RecordsError && e.reason === 'CRC_MISMATCH',
    )
    await assert.rejects(
      decodeMessageSet(bytes.subarray(0, bytes.length - 1)),
      (e: unknown) => e instanceof RecordsError && e.kind === 'corrupt',
    )
    const wrapperOfWrapper = await encodeNested()
    await assert.rejects(
      decodeMessageSet(wrapperOfWrapper),
      (e: unknown) => e instanceof RecordsError && e.reason === 'NESTED_COMPRESSION',
    )
  })

  it('up-converts v0/v1 produce data to a valid v2 batch', async () => {
    for (const magic of [0, 1] as LegacyMagic[]) {
      for (const compression of [0, 1, 3] as CompressionCodec[]) {
        const input = messages(10, 7)
        const set = encodeMessageSetSync({ magic, compression, messages: input })
        for (const batchBytes of [await messageSetToBatch(set), messageSetToBatchSync(set)]) {
          const info = validateBatch(batchBytes)
          assert.ok(!(info instanceof RecordsError))
          assert.equal(info.compression, compression)
          const batch = decodeBatchSync(batchBytes)
          assert.equal(batch.producerId, -1n)
          batch.records.forEach((r, i) => {
            assert.equal(recordOffset(batch, r), BigInt(i))
            assert.deepEqual(r.key, input[i]?.key)
            assert.deepEqual(r.value, input[i]?.value)
            assert.equal(recordTimestamp(batch, r), magic === 0 ? -1n : BigInt(input[i]?.timestamp ?? 0))
          })
        }
      }
    }
  })

  it('down-converts v2 batches for old fetchers, dropping control batches and headers', async () => {
    const a = encodeBatchSync({
      records: [
        {
          key: Buffer.from('a'),
          value: Buffer.from('1'),
          timestamp: 100,
          headers: [{ key: 'h', value: Buffer.from('x') }],
        },
        { key: Buffer.from('b'), value: Buffer.from('2'), timestamp: 105 },
      ],
      baseOffset: 10,
      compression: 2,
    })
    const marker = encodeBatchSync({
      records: [{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.alloc(6), timestamp: 1 }],
      baseOffset: 12,
      isControl: true,
      isTransactional: true,
      producerId: 1,
      producerEpoch: 0,
    })
    const c = encodeBatchSync({
      records: [
        { value: Buffer.from('3'), timestamp: 110 },
        { value: Buffer.from('4'), timestamp: 111 },
      ],
      baseOffset: 13,
      timestampType: 1,
      maxTimestamp: 999,
    })
    const buf = Buffer.concat([a, marker, c])
    for (const magic of [0, 1] as LegacyMagic[]) {
      const set = await batchesToMessageSet(buf, 0, buf.length, { magic, firstOffset: 14 })
      assert.deepEqual(batchesToMessageSetSync(buf, 0, buf.length, { magic, firstOffset: 14 }), set)
      const out = await decodeMessageSet(set)
      // The compressed batch keeps all its records; the uncompressed one drops offsets < 14.
      assert.deepEqual(
        out.map((m) => m.offset),
        [10n, 11n, 14n],
      )
      assert.deepEqual(
        out.map((m) => m.value?.toString()),
        ['1', '2', '4'],
      )
      assert.deepEqual(
        out.map((m) => m.compression),
        [2, 2, 0],
      )
      assert.deepEqual(
        out.map((m) => m.timestamp),
        magic === 0 ? [-1n, -1n, -1n] : [100n, 105n, 999n],
      )
      if (magic === 1) assert.equal(out[2]?.timestampType, 1)
    }
  })

  it('interoperates with KafkaJS message sets (v0/v1, its compressed-wrapper produce path)', async () => {
    const kafkajs = loadKafkajs()
    for (const messageVersion of [0, 1] as const) {
      const input = messages(5, 11).map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp }))
      // Uncompressed, as KafkaJS's MessageSet writes it.
      const plain = kafkajs.MessageSet({ messageVersion, entries: input, compression: 0 }).buffer
      const ours = await decodeMessageSet(plain)
      assert.deepEqual(
        ours.map((m) => m.value),
        input.map((m) => m.value),
      )
      assert.deepEqual(
        ours.map((m) => m.key),
        input.map((m) => m.key),
      )
      if (messageVersion === 1)
        assert.deepEqual(
          ours.map((m) => m.timestamp),
          input.map((m) => BigInt(m.timestamp)),
        )
      // Compressed the way KafkaJS's Produce v2 request does: inner set, codec, wrapper entry.
      for (const compression of [1, 2, 3] as const) {
        const codec = kafkajs.CompressionCodecs[compression]?.()
        assert.ok(codec)
        const innerSet = kafkajs.MessageSet({ messageVersion, compression, entries: input })
        const wrapped = kafkajs.MessageSet({
          messageVersion,
          entries: [{ compression, timestamp: 1, value: await codec.compress(innerSet) }],
        }).buffer
        const decoded = await decodeMessageSet(wrapped)
        assert.deepEqual(
          decoded.map((m) => m.value),
          input.map((m) => m.value),
        )
        const up = decodeBatchSync(await messageSetToBatch(wrapped))
        assert.deepEqual(
          up.records.map((r) => r.key),
          input.map((m) => m.key),
        )
      }
      // KafkaJS decodes what we write, compressed or not.
      for (const compression of [0, 1, 2, 3] as const) {
        const ourSet = encodeMessageSetSync({ magic: messageVersion, compression, messages: input, baseOffset: 40 })
        const theirs = await kafkajs.decodeMessageSet(ourSet)
        assert.deepEqual(
          theirs.map((m) => m.offset),
          input.map((_, i) => String(40 + i)),
        )
        assert.deepEqual(
          theirs.map((m) => m.value),
          input.map((m) => m.value),
        )
        assert.deepEqual(
          theirs.map((m) => m.key),
          input.map((m) => m.key),
        )
      }
    }
  })
})

/** A v1 wrapper whose inner message is itself a compressed wrapper. */
async function encodeNested(): Promise<Buffer> {
  const innerWrapper = await encodeMessageSet({ magic: 1, compression: 1, messages: messages(2, 4) })
  const { compressSync } = await import('../../../src/protocol/records/compression.ts')
  const compressed = compressSync(1, innerWrapper)
  // Build the outer wrapper by hand: offset, size, crc, magic 1, attributes gzip, ts, null key, value.
  const { crc32 } = await import('@node-rs/crc32')
  const body = Buffer.alloc(1 + 1 + 8 + 4 + 4 + compressed.length)
  body.writeInt8(1, 0)
  body.writeInt8(1, 1)
  body.writeBigInt64BE(0n, 2)
  body.writeInt32BE(-1, 10)
  body.writeInt32BE(compressed.length, 14)
  compressed.copy(body, 18)
  const head = Buffer.alloc(16)
  head.writeBigInt64BE(1n, 0)
  head.writeInt32BE(body.length + 4, 8)
  head.writeUInt32BE(crc32(body), 12)
  return Buffer.concat([head, body])
}

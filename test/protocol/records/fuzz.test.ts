/**
 * Fuzzing: random, truncated and mutated batches and message sets must give a valid result or a
 * RecordsError — never another exception, a hang or a huge allocation.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeBatch, decodeBatchesSync, encodeBatchSync } from '../../../src/protocol/records/batch.ts'
import { readBatchHeader } from '../../../src/protocol/records/batch-header.ts'
import { updateCrc } from '../../../src/protocol/records/batch-patch.ts'
import { findBatchForOffset, scanValidPrefix } from '../../../src/protocol/records/batch-scan.ts'
import { validateBatches, validateProducedRecords } from '../../../src/protocol/records/batch-validate.ts'
import { type CompressionCodec, decompressSync } from '../../../src/protocol/records/compression.ts'
import { messageSetToBatchSync } from '../../../src/protocol/records/convert.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import { decodeMessageSetSync, encodeMessageSetSync } from '../../../src/protocol/records/legacy.ts'
import { randomBytes, randomRecords, rng } from './helpers.ts'

const LIMIT = 4 * 1024 * 1024
const next = rng(99)

function mutate(src: Buffer): Buffer {
  const buf = Buffer.from(src)
  const op = Math.floor(next() * 5)
  if (op === 0 && buf.length > 0) return buf.subarray(0, Math.floor(next() * buf.length))
  if (op === 1) {
    const flips = 1 + Math.floor(next() * 4)
    for (let i = 0; i < flips && buf.length > 0; i++) buf[Math.floor(next() * buf.length)] = Math.floor(next() * 256)
    return buf
  }
  if (op === 2 && buf.length >= 4) {
    // Overwrite an int32 somewhere with an extreme value (lengths, counts).
    const p = Math.floor(next() * (buf.length - 3))
    const values = [0, -1, 1, 0x7fffffff, -0x80000000, 49, 61, buf.length]
    buf.writeInt32BE(values[Math.floor(next() * values.length)] as number, p)
    return buf
  }
  if (op === 3) return Buffer.concat([buf, randomBytes(next, Math.floor(next() * 40))])
  return randomBytes(next, Math.floor(next() * 200))
}

function expectTyped(fn: () => unknown, what: string): void {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof RecordsError, `${what}: ${err instanceof Error ? err.stack : String(err)}`)
  }
}

const batches: Buffer[] = []
for (const compression of [0, 1, 2, 3, 4] as CompressionCodec[]) {
  for (const count of [1, 5, 40])
    batches.push(
      encodeBatchSync({
        records: randomRecords(next, count),
        compression,
        producerId: 1,
        producerEpoch: 0,
        baseSequence: 0,
      }),
    )
}
const sets: Buffer[] = []
for (const magic of [0, 1] as const) {
  for (const compression of [0, 1, 2, 3, 4] as CompressionCodec[]) {
    sets.push(
      encodeMessageSetSync({
        magic,
        compression,
        messages: randomRecords(next, 8).map((r) => ({
          key: r.key ?? null,
          value: r.value ?? null,
          timestamp: r.timestamp ?? 0,
        })),
      }),
    )
  }
}

describe('fuzz', () => {
  it('hot-path functions return values for any input, never throw', () => {
    const started = Date.now()
    for (let i = 0; i < 4000; i++) {
      const src = batches[i % batches.length] as Buffer
      const buf = next() < 0.5 ? mutate(src) : Buffer.concat([src, mutate(src)])
      validateBatches(buf)
      validateProducedRecords(buf)
      readBatchHeader(buf)
      scanValidPrefix(buf)
      findBatchForOffset(buf, Math.floor(next() * 100))
    }
    assert.ok(Date.now() - started < 20_000)
  })

  it('full decode throws only RecordsError, with CRCs fixed up so mutations reach the records', async () => {
    for (let i = 0; i < 3000; i++) {
      const src = batches[i % batches.length] as Buffer
      const buf = mutate(src)
      // Keep the header sane half the time and re-seal the CRC so decoding goes deep.
      if (buf.length >= 61 && next() < 0.5) {
        buf.writeInt32BE(buf.length - 12, 8)
        buf[16] = 2
        updateCrc(buf, 0)
      }
      expectTyped(() => decodeBatchesSync(buf, 0, buf.length, { maxDecompressedBytes: LIMIT }), 'decodeBatchesSync')
      expectTyped(
        () => decodeBatchesSync(buf, 0, buf.length, { maxDecompressedBytes: LIMIT, verifyCrc: false }),
        'decode no crc',
      )
      if (i % 10 === 0) {
        await decodeBatch(buf, 0, { maxDecompressedBytes: LIMIT }).catch((err: unknown) =>
          assert.ok(err instanceof RecordsError, String(err)),
        )
      }
    }
  })

  it('legacy decode and up-conversion throw only RecordsError', () => {
    for (let i = 0; i < 3000; i++) {
      const buf = mutate(sets[i % sets.length] as Buffer)
      expectTyped(
        () => decodeMessageSetSync(buf, 0, buf.length, { maxDecompressedBytes: LIMIT, verifyCrc: false }),
        'legacy',
      )
      expectTyped(() => decodeMessageSetSync(buf), 'legacy crc')
      expectTyped(() => messageSetToBatchSync(buf, 0, buf.length, { maxDecompressedBytes: LIMIT }), 'up-convert')
    }
  })

  it('decompressors throw only RecordsError on mutated compressed data', () => {
    const data = randomBytes(next, 50_000)
    for (const codec of [1, 2, 3, 4] as CompressionCodec[]) {
      const packed = encodeBatchSync({ records: [{ value: data, timestamp: 0 }], compression: codec }).subarray(61)
      for (let i = 0; i < 500; i++) {
        const buf = mutate(packed)
        expectTyped(() => decompressSync(codec, buf, { maxBytes: LIMIT }), `codec ${codec}`)
      }
    }
  })
})

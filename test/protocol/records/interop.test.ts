/**
 * Interop with real clients' record-batch encoders and decoders: KafkaJS (with kafkajs-snappy
 * and an lz4js codec plugged in as its users do) and @platformatic/kafka (wasm snappy/lz4).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  decodeBatch,
  encodeBatch,
  type RecordInput,
  recordOffset,
  recordTimestamp,
} from '../../../src/protocol/records/batch.ts'
import { validateBatch } from '../../../src/protocol/records/batch-validate.ts'
import { COMPRESSION_NAMES, type CompressionCodec } from '../../../src/protocol/records/compression.ts'
import { RecordsError } from '../../../src/protocol/records/errors.ts'
import { type KafkajsEncoder, loadKafkajs, loadPlatformatic, randomRecords, rng } from './helpers.ts'

const CODECS: CompressionCodec[] = [0, 1, 2, 3, 4]

/** KafkaJS headers are an object: one value per key, so keep header keys unique per record. */
function uniqueHeaderRecords(seed: number, count: number): RecordInput[] {
  return randomRecords(rng(seed), count).map((r) => ({
    ...r,
    headers: (r.headers ?? []).map((h, i) => ({ key: `${h.key}-${i}`, value: h.value ?? Buffer.alloc(0) })),
  }))
}

describe('interop: KafkaJS', () => {
  const kafkajs = loadKafkajs()

  it('decodes batches KafkaJS encodes with each codec, byte-exact', async () => {
    for (const compression of CODECS) {
      const records = uniqueHeaderRecords(30 + compression, 50)
      const base = Number(records[0]?.timestamp)
      const ts = records.map((r) => Number(r.timestamp))
      const encoders: KafkajsEncoder[] = records.map((r, i) =>
        kafkajs.Record({
          offsetDelta: i,
          timestampDelta: Number(r.timestamp) - base,
          key: r.key ?? null,
          value: r.value ?? null,
          headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value])),
        }),
      )
      const batch = await kafkajs.RecordBatch({
        compression,
        firstTimestamp: base,
        maxTimestamp: Math.max(...ts),
        lastOffsetDelta: records.length - 1,
        transactional: true,
        producerId: kafkajs.Long.fromValue(77),
        producerEpoch: 4,
        firstSequence: 12,
        records: encoders,
      })
      const bytes = batch.buffer
      const info = validateBatch(bytes)
      assert.ok(!(info instanceof RecordsError), `kafkajs ${COMPRESSION_NAMES[compression]}: ${String(info)}`)
      assert.equal(info.compression, compression)
      assert.equal(info.producerId, 77)
      assert.equal(info.baseSequence, 12)
      assert.equal(info.isTransactional, true)
      const ours = await decodeBatch(bytes)
      ours.records.forEach((r, i) => {
        const want = records[i] as RecordInput
        assert.deepEqual(r.key, want.key ?? null)
        assert.deepEqual(r.value, want.value ?? null)
        assert.deepEqual(r.headers, want.headers)
        assert.equal(recordTimestamp(ours, r), BigInt(want.timestamp ?? 0))
        assert.equal(recordOffset(ours, r), BigInt(i))
      })
    }
  })

  it('has KafkaJS decode batches we encode with each codec, byte-exact', async () => {
    for (const compression of CODECS) {
      const records = uniqueHeaderRecords(40 + compression, 50)
      const bytes = await encodeBatch({
        records,
        compression,
        baseOffset: 9_000_000_000,
        producerId: 5,
        producerEpoch: 1,
        baseSequence: 3,
      })
      const theirs = await kafkajs.decodeBatch(bytes)
      assert.equal(theirs.firstOffset, '9000000000')
      assert.equal(theirs.producerId, '5')
      assert.equal(theirs.firstSequence, 3)
      assert.equal(theirs.records.length, records.length)
      theirs.records.forEach((r, i) => {
        const want = records[i] as RecordInput
        assert.equal(r.offset, String(9_000_000_000 + i))
        assert.equal(r.timestamp, String(want.timestamp))
        assert.deepEqual(r.key, want.key ?? null)
        assert.deepEqual(r.value, want.value ?? null)
        assert.deepEqual(r.headers, Object.fromEntries((want.headers ?? []).map((h) => [h.key, h.value])))
      })
    }
  })
})

describe('interop: @platformatic/kafka', async () => {
  const plt = await loadPlatformatic()
  // zstd needs zlib's zstd (Node ≥ 22.15) inside @platformatic/kafka, absent on Node 20.
  const codecs = CODECS.filter((c) => c !== 4)

  it('decodes batches @platformatic/kafka encodes', { skip: plt === undefined }, async () => {
    for (const compression of codecs) {
      const records = randomRecords(rng(50 + compression), 40)
      const messages = records.map((r) => ({
        topic: 't',
        key: r.key ?? undefined,
        value: r.value ?? Buffer.alloc(0),
        headers: new Map((r.headers ?? []).map((h) => [Buffer.from(h.key), h.value ?? Buffer.alloc(0)])),
        timestamp: BigInt(r.timestamp ?? 0),
      }))
      const bytes = plt?.createRecordsBatch(messages, { compression: COMPRESSION_NAMES[compression] }).buffer as Buffer
      const ours = await decodeBatch(bytes)
      ours.records.forEach((r, i) => {
        const want = messages[i] as (typeof messages)[number]
        assert.deepEqual(r.key, want.key ?? null)
        assert.deepEqual(r.value, want.value)
        assert.deepEqual(
          r.headers.map((h) => [h.key, h.value]),
          [...want.headers].map(([k, v]) => [k.toString(), v]),
        )
        assert.equal(recordTimestamp(ours, r), want.timestamp)
        assert.equal(recordOffset(ours, r), BigInt(i))
      })
    }
  })

  it('has @platformatic/kafka decode batches we encode', { skip: plt === undefined }, async () => {
    for (const compression of codecs) {
      const records = randomRecords(rng(60 + compression), 40)
      const bytes = await encodeBatch({ records, compression })
      const theirs = plt?.readRecordsBatch(plt.readerFrom(bytes))
      assert.ok(theirs)
      assert.equal(theirs.records.length, records.length)
      theirs.records.forEach((r, i) => {
        const want = records[i] as RecordInput
        assert.deepEqual(r.key, want.key ?? null)
        assert.deepEqual(r.value, want.value ?? null)
        assert.equal(theirs.firstTimestamp + r.timestampDelta, BigInt(want.timestamp ?? 0))
        assert.equal(r.offsetDelta, i)
        assert.deepEqual(
          r.headers.map(([k, v]) => [k.toString(), v]),
          (want.headers ?? []).map((h) => [h.key, h.value]),
        )
      })
    }
  })
})

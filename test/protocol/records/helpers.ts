/** Shared fixtures for the record-layer tests: seeded randomness and third-party encoders. */
import { createRequire } from 'node:module'
import type { RecordInput } from '../../../src/protocol/records/batch.ts'

const require = createRequire(import.meta.url)

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Random bytes; half the time compressible text. */
export function randomBytes(next: () => number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length)
  const text = next() < 0.5
  for (let i = 0; i < length; i++) buf[i] = text ? 97 + Math.floor(next() * 6) : Math.floor(next() * 256)
  return buf
}

/** Random records with null/empty keys and values, unicode header keys and null header values. */
export function randomRecords(next: () => number, count: number, baseTs = 1_700_000_000_000): RecordInput[] {
  const out: RecordInput[] = []
  for (let i = 0; i < count; i++) {
    const headers = []
    const nh = Math.floor(next() * 3)
    for (let h = 0; h < nh; h++) {
      headers.push({
        key: h === 0 ? `hé-${i}` : `k${h}`,
        value: next() < 0.2 ? null : randomBytes(next, Math.floor(next() * 20)),
      })
    }
    out.push({
      key: next() < 0.2 ? null : randomBytes(next, Math.floor(next() * 30)),
      value: next() < 0.1 ? null : randomBytes(next, Math.floor(next() * 300)),
      headers,
      timestamp: baseTs + Math.floor(next() * 10_000) - 2_000,
    })
  }
  return out
}

/** KafkaJS internals used for interop (plain JS, typed here by what the tests touch). */
export interface KafkajsEncoder {
  buffer: Buffer
}
export interface KafkajsCodec {
  compress(encoder: KafkajsEncoder): Promise<Buffer>
  decompress(buffer: Buffer): Promise<Buffer>
}
export interface KafkajsDecodedRecord {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | null | (Buffer | null)[]>
}
export interface KafkajsDecodedBatch {
  firstOffset: string
  firstTimestamp: string
  maxTimestamp: string
  producerId: string
  producerEpoch: number
  firstSequence: number
  inTransaction: boolean
  lastOffsetDelta: number
  records: KafkajsDecodedRecord[]
}
export interface KafkajsRecordInput {
  offsetDelta: number
  timestampDelta: number
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | null>
}
export interface KafkajsLegacyDecoded {
  offset: string
  key: Buffer | null
  value: Buffer | null
  timestamp?: string
  magicByte: number
}
export interface Kafkajs {
  CompressionTypes: { None: 0; GZIP: 1; Snappy: 2; LZ4: 3; ZSTD: 4 }
  CompressionCodecs: Record<number, () => KafkajsCodec>
  RecordBatch(args: {
    compression: number
    firstOffset?: unknown
    firstTimestamp: number
    maxTimestamp: number
    lastOffsetDelta: number
    partitionLeaderEpoch?: number
    transactional?: boolean
    producerId?: unknown
    producerEpoch?: number
    firstSequence?: number
    records: KafkajsEncoder[]
  }): Promise<KafkajsEncoder>
  Record(args: KafkajsRecordInput): KafkajsEncoder
  decodeBatch(buf: Buffer): Promise<KafkajsDecodedBatch>
  MessageSet(args: {
    messageVersion: 0 | 1
    compression?: number
    entries: { key?: Buffer | null; value: Buffer | null; timestamp?: number; compression?: number }[]
  }): KafkajsEncoder & { size(): number }
  decodeMessageSet(buf: Buffer): Promise<KafkajsLegacyDecoded[]>
  Long: { fromValue(v: string | number): unknown }
}

let kafkajs: Kafkajs | undefined

/** KafkaJS's record-batch and message-set codecs, with snappy/lz4/zstd codecs registered. */
export function loadKafkajs(): Kafkajs {
  if (kafkajs !== undefined) return kafkajs
  const main = require('kafkajs') as {
    CompressionTypes: Kafkajs['CompressionTypes']
    CompressionCodecs: Kafkajs['CompressionCodecs']
  }
  const lz4js = require('lz4js') as { compress(b: Buffer): Uint8Array; decompress(b: Buffer): Uint8Array }
  const { Encoder: ZstdEncoder, Decoder: ZstdDecoder } = require('@toondepauw/node-zstd') as {
    Encoder: new (level: number) => { encode(b: Buffer): Promise<Buffer> }
    Decoder: new () => { decode(b: Buffer): Promise<Buffer> }
  }
  // Third-party codecs as a KafkaJS user installs them: kafkajs-snappy (snappyjs) and an lz4js
  // codec (the pure-JS frame encoder, which writes dependent blocks unlike lz4-napi).
  main.CompressionCodecs[main.CompressionTypes.Snappy] = require('kafkajs-snappy') as () => KafkajsCodec
  main.CompressionCodecs[main.CompressionTypes.LZ4] = () => ({
    compress: async (encoder) => Buffer.from(lz4js.compress(encoder.buffer)),
    decompress: async (buffer) => Buffer.from(lz4js.decompress(buffer)),
  })
  main.CompressionCodecs[main.CompressionTypes.ZSTD] = () => ({
    compress: (encoder) => new ZstdEncoder(3).encode(encoder.buffer),
    decompress: (buffer) => new ZstdDecoder().decode(buffer),
  })
  const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown
  const batchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
    d: unknown,
  ) => Promise<KafkajsDecodedBatch>
  const messageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder') as (
    d: unknown,
    size: number,
  ) => Promise<KafkajsLegacyDecoded[]>
  kafkajs = {
    CompressionTypes: main.CompressionTypes,
    CompressionCodecs: main.CompressionCodecs,
    RecordBatch: (require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: Kafkajs['RecordBatch'] })
      .RecordBatch,
    Record: require('kafkajs/src/protocol/recordBatch/record/v0') as Kafkajs['Record'],
    decodeBatch: (buf) => batchDecoder(new Decoder(buf)),
    MessageSet: require('kafkajs/src/protocol/messageSet') as Kafkajs['MessageSet'],
    decodeMessageSet: (buf) => messageSetDecoder(new Decoder(buf), buf.length),
    Long: require('kafkajs/src/utils/long') as Kafkajs['Long'],
  }
  return kafkajs
}

/** @platformatic/kafka's record codec (ESM, loaded by path because its exports map hides it). */
export interface PlatformaticRecords {
  createRecordsBatch(
    messages: { topic: string; key?: Buffer; value: Buffer; headers?: Map<Buffer, Buffer>; timestamp?: bigint }[],
    options?: { compression?: string; producerId?: bigint; producerEpoch?: number },
  ): { buffer: Buffer }
  readRecordsBatch(reader: unknown): {
    firstOffset: bigint
    firstTimestamp: bigint
    maxTimestamp: bigint
    records: {
      timestampDelta: bigint
      offsetDelta: number
      key: Buffer | null
      value: Buffer | null
      headers: [Buffer, Buffer | null][]
    }[]
  }
  readerFrom(buf: Buffer): unknown
}

/** Load @platformatic/kafka's records module, or undefined where it does not load. */
export async function loadPlatformatic(): Promise<PlatformaticRecords | undefined> {
  try {
    const base = require.resolve('@platformatic/kafka').replace(/dist\/.*$/, 'dist/protocol/')
    const records = (await import(`${base}records.js`)) as Omit<PlatformaticRecords, 'readerFrom'>
    const reader = (await import(`${base}reader.js`)) as { Reader: { from(b: Buffer): unknown } }
    return { ...records, readerFrom: (b) => reader.Reader.from(b) }
  } catch {
    return undefined
  }
}

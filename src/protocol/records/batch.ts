/**
 * Full RecordBatch (magic 2) codec: records ↔ bytes, compressing and decompressing. For the
 * produce/fetch hot path use batch-validate.ts and batch-patch.ts instead, which never decode
 * records. Decoding throws RecordsError for any malformed input.
 */
import { crc32c } from '@node-rs/crc32'
import * as L from './batch-layout.ts'
import { validateBatch } from './batch-validate.ts'
import {
  Compression,
  type CompressionCodec,
  compress,
  compressSync,
  decompress,
  decompressSync,
  toCompressionCodec,
} from './compression.ts'
import { corrupt, invalid, RecordsError } from './errors.ts'
import { decodeRecords, type KafkaRecord, measureRecords, type RecordHeader, writeRecords } from './record-codec.ts'

/** A decoded batch: header fields (int64s as bigint, exact) and its records. */
export interface RecordBatch {
  baseOffset: bigint
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  crc: number
  attributes: number
  compression: CompressionCodec
  timestampType: L.TimestampTypeValue
  isTransactional: boolean
  isControl: boolean
  hasDeleteHorizon: boolean
  lastOffsetDelta: number
  baseTimestamp: bigint
  maxTimestamp: bigint
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  recordCount: number
  records: KafkaRecord[]
}

/** Options for decoding. */
export interface DecodeBatchOptions {
  /** Cap on the decompressed records size of one batch (default 64 MiB). */
  maxDecompressedBytes?: number
  /** Check the CRC32C (default true). */
  verifyCrc?: boolean
}

/** Default cap on decompressed bytes per batch. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

/** Decoded header plus where its records section lies (shared by the sync and async decoders). */
function decodeHeader(buf: Buffer, pos: number, end: number, verifyCrc: boolean): Omit<RecordBatch, 'records'> {
  let size: number
  if (verifyCrc) {
    const info = validateBatch(buf, pos, end)
    if (info instanceof RecordsError) throw info
    size = info.size
  } else {
    if (end - pos < L.RECORDS) throw corrupt('TRUNCATED', 'record batch header truncated')
    const magic = buf.readInt8(pos + L.MAGIC)
    if (magic !== L.CURRENT_MAGIC) throw invalid('UNSUPPORTED_MAGIC', `record batch has magic ${magic}, expected 2`)
    size = L.LOG_OVERHEAD + buf.readInt32BE(pos + L.BATCH_LENGTH)
    if (size < L.RECORDS || size > end - pos) throw corrupt('BAD_LENGTH', `bad record batch size ${size}`)
  }
  const attributes = buf.readInt16BE(pos + L.ATTRIBUTES)
  return {
    baseOffset: buf.readBigInt64BE(pos + L.BASE_OFFSET),
    batchLength: size - L.LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(pos + L.PARTITION_LEADER_EPOCH),
    magic: L.CURRENT_MAGIC,
    crc: buf.readUInt32BE(pos + L.CRC),
    attributes,
    compression: toCompressionCodec(attributes & L.COMPRESSION_MASK),
    timestampType: (attributes & L.TIMESTAMP_TYPE_BIT) === 0 ? 0 : 1,
    isTransactional: (attributes & L.TRANSACTIONAL_BIT) !== 0,
    isControl: (attributes & L.CONTROL_BIT) !== 0,
    hasDeleteHorizon: (attributes & L.DELETE_HORIZON_BIT) !== 0,
    lastOffsetDelta: buf.readInt32BE(pos + L.LAST_OFFSET_DELTA),
    baseTimestamp: buf.readBigInt64BE(pos + L.BASE_TIMESTAMP),
    maxTimestamp: buf.readBigInt64BE(pos + L.MAX_TIMESTAMP),
    producerId: buf.readBigInt64BE(pos + L.PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + L.PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + L.BASE_SEQUENCE),
    recordCount: buf.readInt32BE(pos + L.RECORD_COUNT),
  }
}

/** Decode the batch at pos, decompressing on the thread pool when large. */
export async function decodeBatch(buf: Buffer, pos = 0, options: DecodeBatchOptions = {}): Promise<RecordBatch> {
  return guard(async () => {
    const header = decodeHeader(buf, pos, buf.length, options.verifyCrc ?? true)
    const section = buf.subarray(pos + L.RECORDS, pos + L.LOG_OVERHEAD + header.batchLength)
    const data =
      header.compression === Compression.NONE
        ? section
        : await decompress(header.compression, section, { maxBytes: maxBytes(options) })
    return { ...header, records: decodeRecords(data, 0, data.length, header.recordCount) }
  })
}

/** Decode the batch at pos synchronously. */
export function decodeBatchSync(buf: Buffer, pos = 0, options: DecodeBatchOptions = {}): RecordBatch {
  return guardSync(() => {
    const header = decodeHeader(buf, pos, buf.length, options.verifyCrc ?? true)
    const section = buf.subarray(pos + L.RECORDS, pos + L.LOG_OVERHEAD + header.batchLength)
    const data =
      header.compression === Compression.NONE
        ? section
        : decompressSync(header.compression, section, { maxBytes: maxBytes(options) })
    return { ...header, records: decodeRecords(data, 0, data.length, header.recordCount) }
  })
}

/** Decode every batch in buf[start, end). */
export async function decodeBatches(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: DecodeBatchOptions = {},
): Promise<RecordBatch[]> {
  const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end)
  const batches: RecordBatch[] = []
  let pos = 0
  while (pos < view.length) {
    const batch = await decodeBatch(view, pos, options)
    batches.push(batch)
    pos += L.LOG_OVERHEAD + batch.batchLength
  }
  return batches
}

/** Decode every batch in buf[start, end) synchronously. */
export function decodeBatchesSync(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: DecodeBatchOptions = {},
): RecordBatch[] {
  const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end)
  const batches: RecordBatch[] = []
  let pos = 0
  while (pos < view.length) {
    const batch = decodeBatchSync(view, pos, options)
    batches.push(batch)
    pos += L.LOG_OVERHEAD + batch.batchLength
  }
  return batches
}

/** Absolute offset of a record of the batch. */
export function recordOffset(batch: RecordBatch, record: KafkaRecord): bigint {
  return batch.baseOffset + BigInt(record.offsetDelta)
}

/** Timestamp of a record: the batch's maxTimestamp under LogAppendTime, else base + delta. */
export function recordTimestamp(batch: RecordBatch, record: KafkaRecord): bigint {
  return batch.timestampType === 1 ? batch.maxTimestamp : batch.baseTimestamp + BigInt(record.timestampDelta)
}

function maxBytes(options: DecodeBatchOptions): number {
  return options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES
}

/** A record to put in a batch. */
export interface RecordInput {
  key?: Buffer | null
  value?: Buffer | null
  headers?: readonly RecordHeader[]
  /** Milliseconds; defaults to BatchInput.defaultTimestamp. */
  timestamp?: number | bigint
  /** Defaults to the record's index (compacted batches may have gaps). */
  offsetDelta?: number
  attributes?: number
}

/** What to encode; defaults are what a non-idempotent Java producer writes. */
export interface BatchInput {
  records: readonly RecordInput[]
  baseOffset?: number | bigint
  /** Default -1 (producers send -1; the broker stamps its leader epoch). */
  partitionLeaderEpoch?: number
  compression?: CompressionCodec
  compressionLevel?: number
  timestampType?: L.TimestampTypeValue
  isTransactional?: boolean
  isControl?: boolean
  producerId?: number | bigint
  producerEpoch?: number
  baseSequence?: number
  /** Default: the first record's timestamp (or the delete horizon when given). */
  baseTimestamp?: number | bigint
  /** Default: the largest record timestamp. Give the append time for LogAppendTime. */
  maxTimestamp?: number | bigint
  /** Default: the largest offsetDelta (kept by compaction when records are removed). */
  lastOffsetDelta?: number
  /** Sets attributes bit 6 and becomes baseTimestamp (KIP-534 tombstone cleanup). */
  deleteHorizonMs?: number | bigint
  /** Timestamp for records without one (default Date.now()). */
  defaultTimestamp?: number
}

interface Prepared {
  attributes: number
  baseTimestamp: number
  maxTimestamp: number
  lastOffsetDelta: number
  records: {
    attributes: number
    timestampDelta: number
    offsetDelta: number
    key: Buffer | null
    value: Buffer | null
    headers: readonly RecordHeader[]
  }[]
}

function prepare(input: BatchInput): Prepared {
  const count = input.records.length
  const fallback = input.defaultTimestamp ?? Date.now()
  const timestamps = new Array<number>(count)
  let maxTs = -1
  let lastDelta = -1
  for (let i = 0; i < count; i++) {
    const r = input.records[i] as RecordInput
    const ts = r.timestamp === undefined ? fallback : Number(r.timestamp)
    timestamps[i] = ts
    if (ts > maxTs) maxTs = ts
    const delta = r.offsetDelta ?? i
    if (delta > lastDelta) lastDelta = delta
  }
  const horizon = input.deleteHorizonMs === undefined ? undefined : Number(input.deleteHorizonMs)
  const baseTimestamp =
    horizon ?? (input.baseTimestamp === undefined ? (timestamps[0] ?? L.NO_TIMESTAMP) : Number(input.baseTimestamp))
  let attributes = input.compression ?? Compression.NONE
  if (input.timestampType === 1) attributes |= L.TIMESTAMP_TYPE_BIT
  if (input.isTransactional === true) attributes |= L.TRANSACTIONAL_BIT
  if (input.isControl === true) attributes |= L.CONTROL_BIT
  if (horizon !== undefined) attributes |= L.DELETE_HORIZON_BIT
  const records = input.records.map((r, i) => ({
    attributes: r.attributes ?? 0,
    timestampDelta: (timestamps[i] as number) - baseTimestamp,
    offsetDelta: r.offsetDelta ?? i,
    key: r.key ?? null,
    value: r.value ?? null,
    headers: r.headers ?? [],
  }))
  return {
    attributes,
    baseTimestamp,
    maxTimestamp: input.maxTimestamp === undefined ? maxTs : Number(input.maxTimestamp),
    lastOffsetDelta: input.lastOffsetDelta ?? lastDelta,
    records,
  }
}

function encodeRecordsSection(prepared: Prepared): Buffer {
  const { total, bodySizes } = measureRecords(prepared.records)
  const out = Buffer.allocUnsafe(total)
  writeRecords(out, 0, prepared.records, bodySizes)
  return out
}

/** Write header and records section into one buffer and seal it with the CRC. */
function assemble(input: BatchInput, prepared: Prepared, section: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(L.RECORDS + section.length)
  const baseOffset = input.baseOffset ?? 0
  if (typeof baseOffset === 'bigint') buf.writeBigInt64BE(baseOffset, L.BASE_OFFSET)
  else L.writeInt64FromNumber(buf, L.BASE_OFFSET, baseOffset)
  buf.writeInt32BE(buf.length - L.LOG_OVERHEAD, L.BATCH_LENGTH)
  buf.writeInt32BE(input.partitionLeaderEpoch ?? -1, L.PARTITION_LEADER_EPOCH)
  buf.writeInt8(L.CURRENT_MAGIC, L.MAGIC)
  buf.writeInt16BE(prepared.attributes, L.ATTRIBUTES)
  buf.writeInt32BE(prepared.lastOffsetDelta, L.LAST_OFFSET_DELTA)
  L.writeInt64FromNumber(buf, L.BASE_TIMESTAMP, prepared.baseTimestamp)
  L.writeInt64FromNumber(buf, L.MAX_TIMESTAMP, prepared.maxTimestamp)
  const producerId = input.producerId ?? L.NO_PRODUCER_ID
  if (typeof producerId === 'bigint') buf.writeBigInt64BE(producerId, L.PRODUCER_ID)
  else L.writeInt64FromNumber(buf, L.PRODUCER_ID, producerId)
  buf.writeInt16BE(input.producerEpoch ?? L.NO_PRODUCER_EPOCH, L.PRODUCER_EPOCH)
  buf.writeInt32BE(input.baseSequence ?? L.NO_SEQUENCE, L.BASE_SEQUENCE)
  buf.writeInt32BE(prepared.records.length, L.RECORD_COUNT)
  section.copy(buf, L.RECORDS)
  buf.writeUInt32BE(crc32c(buf.subarray(L.ATTRIBUTES)), L.CRC)
  return buf
}

/** Encode a batch, compressing on the thread pool when large. */
export async function encodeBatch(input: BatchInput): Promise<Buffer> {
  const prepared = prepare(input)
  const raw = encodeRecordsSection(prepared)
  const codec = input.compression ?? Compression.NONE
  const section = codec === Compression.NONE ? raw : await compress(codec, raw, { level: input.compressionLevel })
  return assemble(input, prepared, section)
}

/** Encode a batch synchronously. */
export function encodeBatchSync(input: BatchInput): Buffer {
  const prepared = prepare(input)
  const raw = encodeRecordsSection(prepared)
  const codec = input.compression ?? Compression.NONE
  const section = codec === Compression.NONE ? raw : compressSync(codec, raw, { level: input.compressionLevel })
  return assemble(input, prepared, section)
}

/** Run a decoder so that nothing but RecordsError escapes (e.g. a RangeError on odd input). */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw asRecordsError(err)
  }
}

function guardSync<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw asRecordsError(err)
  }
}

/** Any failure while decoding untrusted bytes, as a RecordsError. */
export function asRecordsError(err: unknown): RecordsError {
  return err instanceof RecordsError ? err : corrupt('BAD_RECORD', 'malformed record data', err)
}

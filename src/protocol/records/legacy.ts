/**
 * Legacy message sets (magic 0 and 1), spoken by Produce v0-v2 and Fetch v0-v3 clients.
 * Entry: offset int64, size int32, then the message: crc uint32 (CRC-32/IEEE of magic..end),
 * magic int8, attributes int8 (bits 0-2 codec, bit 3 LogAppendTime for v1), timestamp int64
 * (v1 only), key (int32 length, -1 null), value (int32 length, -1 null).
 * A compressed message ("wrapper") holds an inner message set in its value. Magic 1 wrappers
 * carry the absolute offset of their last inner message and inner offsets are relative (KIP-31);
 * magic 0 inner offsets are absolute.
 */
import { crc32 } from '@node-rs/crc32'
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

/** Legacy magic values. */
export type LegacyMagic = 0 | 1

/** One decoded (inner, uncompressed) message with its absolute offset. */
export interface LegacyMessage {
  offset: bigint
  magic: LegacyMagic
  /** Attributes of the message itself (inner messages normally 0). */
  attributes: number
  /** -1 for magic 0; the wrapper's timestamp for inner messages under LogAppendTime. */
  timestamp: bigint
  timestampType: 0 | 1
  key: Buffer | null
  value: Buffer | null
  /** Codec of the wrapper the message came from (0 when it was not compressed). */
  compression: CompressionCodec
}

/** Options for decoding message sets. */
export interface DecodeMessageSetOptions {
  /** Cap on decompressed bytes, summed over all wrappers (default 64 MiB). */
  maxDecompressedBytes?: number
  /** Check CRCs (default true). */
  verifyCrc?: boolean
}

const LOG_OVERHEAD = 12
const V0_MIN_SIZE = 14
const V1_MIN_SIZE = 22
const DEFAULT_MAX_DECOMPRESSED = 64 * 1024 * 1024
const TIMESTAMP_TYPE_BIT = 0x08

/** A parsed entry (before decompression). */
interface RawEntry {
  offset: bigint
  magic: LegacyMagic
  attributes: number
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
  next: number
}

function readEntry(buf: Buffer, pos: number, end: number, verifyCrc: boolean): RawEntry {
  if (end - pos < LOG_OVERHEAD) throw corrupt('TRUNCATED', 'message set entry truncated')
  const offset = buf.readBigInt64BE(pos)
  const size = buf.readInt32BE(pos + 8)
  const start = pos + LOG_OVERHEAD
  if (size < V0_MIN_SIZE) throw corrupt('BAD_LENGTH', `message size ${size} is too small`)
  if (size > end - start) throw corrupt('TRUNCATED', `message of ${size} bytes but ${end - start} left`)
  const msgEnd = start + size
  const magic = buf.readInt8(start + 4)
  if (magic !== 0 && magic !== 1) throw invalid('UNSUPPORTED_MAGIC', `message has magic ${magic}`)
  if (magic === 1 && size < V1_MIN_SIZE) throw corrupt('BAD_LENGTH', `message size ${size} is too small`)
  if (verifyCrc) {
    const stored = buf.readUInt32BE(start)
    const actual = crc32(buf.subarray(start + 4, msgEnd))
    if (stored !== actual) throw corrupt('CRC_MISMATCH', `message CRC is ${stored}, computed ${actual}`)
  }
  const attributes = buf.readInt8(start + 5)
  let p = start + 6
  let timestamp = -1n
  if (magic === 1) {
    timestamp = buf.readBigInt64BE(p)
    p += 8
  }
  const key = readBytes(buf, p, msgEnd)
  p += 4 + (key?.length ?? 0)
  const value = readBytes(buf, p, msgEnd)
  p += 4 + (value?.length ?? 0)
  if (p !== msgEnd) throw corrupt('BAD_LENGTH', 'message size does not match its content')
  return { offset, magic, attributes, timestamp, key, value, next: msgEnd }
}

function readBytes(buf: Buffer, p: number, end: number): Buffer | null {
  if (end - p < 4) throw corrupt('TRUNCATED', 'message field truncated')
  const length = buf.readInt32BE(p)
  if (length < 0) return null
  if (length > end - p - 4) throw corrupt('TRUNCATED', `field of ${length} bytes runs past the message`)
  return buf.subarray(p + 4, p + 4 + length)
}

/** An outer entry with its codec and timestamp type. */
interface OuterEntry extends RawEntry {
  codec: CompressionCodec
  timestampType: 0 | 1
}

/** Parse the outer entries; compressed ones are inflated by the caller. */
function readOuter(buf: Buffer, start: number, end: number, verifyCrc: boolean): OuterEntry[] {
  const entries: OuterEntry[] = []
  let pos = start
  while (pos < end) {
    const e = readEntry(buf, pos, end, verifyCrc)
    pos = e.next
    const codec = toCompressionCodec(e.attributes & 0x07)
    if (codec !== Compression.NONE && e.value === null)
      throw corrupt('BAD_RECORD', 'compressed message has a null value')
    const timestampType = e.magic === 1 && (e.attributes & TIMESTAMP_TYPE_BIT) !== 0 ? 1 : 0
    entries.push({ ...e, codec, timestampType })
  }
  return entries
}

/** Flatten outer entries into messages, given the inflated value of each compressed one. */
function flatten(
  entries: readonly OuterEntry[],
  inflated: readonly (Buffer | undefined)[],
  verifyCrc: boolean,
): LegacyMessage[] {
  const out: LegacyMessage[] = []
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as OuterEntry
    const data = inflated[i]
    if (data === undefined) {
      out.push({
        offset: e.offset,
        magic: e.magic,
        attributes: e.attributes,
        timestamp: e.timestamp,
        timestampType: e.timestampType,
        key: e.key,
        value: e.value,
        compression: Compression.NONE,
      })
    } else {
      unwrap(e, e.codec, e.timestampType, data, verifyCrc, out)
    }
  }
  return out
}

/** Decode the inner messages of one wrapper into out, resolving offsets and timestamps. */
function unwrap(
  wrapper: RawEntry,
  codec: CompressionCodec,
  timestampType: 0 | 1,
  data: Buffer,
  verifyCrc: boolean,
  out: LegacyMessage[],
): void {
  const inner: RawEntry[] = []
  let p = 0
  while (p < data.length) {
    const e = readEntry(data, p, data.length, verifyCrc)
    if ((e.attributes & 0x07) !== 0)
      throw invalid('NESTED_COMPRESSION', 'compressed message inside a compressed message')
    if (e.magic !== wrapper.magic) throw invalid('UNSUPPORTED_MAGIC', 'inner message magic differs from its wrapper')
    inner.push(e)
    p = e.next
  }
  if (inner.length === 0) throw invalid('BAD_COUNT', 'compressed message holds no messages')
  // Magic 1: offsets are relative; the wrapper holds the absolute offset of the last one.
  const shift = wrapper.magic === 1 ? wrapper.offset - (inner[inner.length - 1] as RawEntry).offset : 0n
  for (const e of inner) {
    out.push({
      offset: e.offset + shift,
      magic: e.magic,
      attributes: e.attributes,
      timestamp: timestampType === 1 ? wrapper.timestamp : e.timestamp,
      timestampType,
      key: e.key,
      value: e.value,
      compression: codec,
    })
  }
}

function inflateOptions(maxBytes: number, magic: LegacyMagic) {
  // Kafka < 0.10 wrote a wrong LZ4 header checksum; Kafka accepts it for magic 0 only.
  return { maxBytes, lz4LegacyHeaderChecksum: magic === 0 }
}

/** Decode a message set (flattening compressed wrappers); throws RecordsError. */
export async function decodeMessageSet(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: DecodeMessageSetOptions = {},
): Promise<LegacyMessage[]> {
  try {
    const verifyCrc = options.verifyCrc ?? true
    const entries = readOuter(buf, start, end, verifyCrc)
    const inflated = new Array<Buffer | undefined>(entries.length)
    let budget = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as OuterEntry
      if (e.codec === Compression.NONE) continue
      const data = await decompress(e.codec, e.value as Buffer, inflateOptions(budget, e.magic))
      budget -= data.length
      inflated[i] = data
    }
    return flatten(entries, inflated, verifyCrc)
  } catch (err) {
    throw toRecordsError(err)
  }
}

/** Synchronous decodeMessageSet. */
export function decodeMessageSetSync(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: DecodeMessageSetOptions = {},
): LegacyMessage[] {
  try {
    const verifyCrc = options.verifyCrc ?? true
    const entries = readOuter(buf, start, end, verifyCrc)
    const inflated = new Array<Buffer | undefined>(entries.length)
    let budget = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as OuterEntry
      if (e.codec === Compression.NONE) continue
      const data = decompressSync(e.codec, e.value as Buffer, inflateOptions(budget, e.magic))
      budget -= data.length
      inflated[i] = data
    }
    return flatten(entries, inflated, verifyCrc)
  } catch (err) {
    throw toRecordsError(err)
  }
}

function toRecordsError(err: unknown): RecordsError {
  return err instanceof RecordsError ? err : corrupt('BAD_RECORD', 'malformed message set', err)
}

/** A message to put in a message set. */
export interface LegacyMessageInput {
  key?: Buffer | null
  value?: Buffer | null
  /** Magic 1 only; defaults to MessageSetInput.defaultTimestamp. */
  timestamp?: number | bigint
  /** Absolute offset; defaults to baseOffset + index. */
  offset?: number | bigint
}

/** What to encode as a message set. */
export interface MessageSetInput {
  magic: LegacyMagic
  messages: readonly LegacyMessageInput[]
  /** With a codec, all messages go into one wrapper message. */
  compression?: CompressionCodec
  compressionLevel?: number
  baseOffset?: number | bigint
  /** Magic 1: 1 = LogAppendTime, stamped with logAppendTime. */
  timestampType?: 0 | 1
  logAppendTime?: number | bigint
  /** Timestamp of magic 1 messages without one (default Date.now()). */
  defaultTimestamp?: number
}

interface Entry {
  offset: bigint
  attributes: number
  timestamp: bigint
  key: Buffer | null
  value: Buffer | null
}

function messageSize(magic: LegacyMagic, key: Buffer | null, value: Buffer | null): number {
  return (magic === 1 ? V1_MIN_SIZE : V0_MIN_SIZE) + (key?.length ?? 0) + (value?.length ?? 0)
}

/** Write entries (offset, size, message) into one buffer. */
function writeEntries(magic: LegacyMagic, entries: readonly Entry[]): Buffer {
  let total = 0
  for (const e of entries) total += LOG_OVERHEAD + messageSize(magic, e.key, e.value)
  const buf = Buffer.allocUnsafe(total)
  let p = 0
  for (const e of entries) {
    const size = messageSize(magic, e.key, e.value)
    buf.writeBigInt64BE(e.offset, p)
    buf.writeInt32BE(size, p + 8)
    const start = p + LOG_OVERHEAD
    let q = start + 4
    buf.writeInt8(magic, q++)
    buf.writeInt8(e.attributes, q++)
    if (magic === 1) {
      buf.writeBigInt64BE(e.timestamp, q)
      q += 8
    }
    q = writeBytes(buf, q, e.key)
    q = writeBytes(buf, q, e.value)
    buf.writeUInt32BE(crc32(buf.subarray(start + 4, q)), start)
    p = q
  }
  return buf
}

function writeBytes(buf: Buffer, p: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf.writeInt32BE(-1, p)
    return p + 4
  }
  buf.writeInt32BE(bytes.length, p)
  bytes.copy(buf, p + 4)
  return p + 4 + bytes.length
}

interface Plan {
  magic: LegacyMagic
  codec: CompressionCodec
  logAppend: boolean
  entries: Entry[]
  maxTimestamp: bigint
}

function plan(input: MessageSetInput): Plan {
  const magic = input.magic
  const base = BigInt(input.baseOffset ?? 0)
  const codec = input.compression ?? Compression.NONE
  const logAppend = magic === 1 && input.timestampType === 1
  const fallback = BigInt(input.defaultTimestamp ?? Date.now())
  const appendTime = BigInt(input.logAppendTime ?? fallback)
  let maxTimestamp = -1n
  const entries = input.messages.map((m, i): Entry => {
    const timestamp =
      magic === 0 ? -1n : logAppend ? appendTime : m.timestamp === undefined ? fallback : BigInt(m.timestamp)
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    // Uncompressed v1 messages carry the timestamp-type bit themselves.
    const attributes = logAppend && codec === Compression.NONE ? TIMESTAMP_TYPE_BIT : 0
    return {
      offset: m.offset === undefined ? base + BigInt(i) : BigInt(m.offset),
      attributes,
      timestamp,
      key: m.key ?? null,
      value: m.value ?? null,
    }
  })
  return { magic, codec, logAppend, entries, maxTimestamp }
}

/** Inner set of a wrapper: magic 1 uses offsets relative to the first message. */
function innerSet(p: Plan): Buffer {
  if (p.magic === 0) return writeEntries(0, p.entries)
  const first = p.entries[0]?.offset ?? 0n
  return writeEntries(
    1,
    p.entries.map((e) => ({ ...e, offset: e.offset - first })),
  )
}

function wrap(p: Plan, compressed: Buffer): Buffer {
  const last = p.entries[p.entries.length - 1] as Entry
  return writeEntries(p.magic, [
    {
      offset: last.offset,
      attributes: p.codec | (p.logAppend ? TIMESTAMP_TYPE_BIT : 0),
      timestamp: p.magic === 0 ? -1n : p.maxTimestamp,
      key: null,
      value: compressed,
    },
  ])
}

/** Encode a message set, compressing on the thread pool when large. */
export async function encodeMessageSet(input: MessageSetInput): Promise<Buffer> {
  const p = plan(input)
  if (p.codec === Compression.NONE || p.entries.length === 0) return writeEntries(p.magic, p.entries)
  const compressed = await compress(p.codec, innerSet(p), {
    level: input.compressionLevel,
    lz4BrokenHeaderChecksum: p.magic === 0,
  })
  return wrap(p, compressed)
}

/** Encode a message set synchronously. */
export function encodeMessageSetSync(input: MessageSetInput): Buffer {
  const p = plan(input)
  if (p.codec === Compression.NONE || p.entries.length === 0) return writeEntries(p.magic, p.entries)
  return wrap(
    p,
    compressSync(p.codec, innerSet(p), { level: input.compressionLevel, lz4BrokenHeaderChecksum: p.magic === 0 }),
  )
}

/**
 * Encode and decode the records section of a batch (after decompression). Used only where
 * semantics need records (compaction, conversion, transactions, tools), never on produce/fetch.
 * Decoded keys, values and header values are subarrays of the input: no copies.
 */
import { corrupt, invalid } from './errors.ts'
import { cursor, readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.ts'

/** A record header: a UTF-8 key and nullable bytes. */
export interface RecordHeader {
  key: string
  value: Buffer | null
}

/** One decoded record; absolute offset/timestamp come from the batch (see batch.ts helpers). */
export interface KafkaRecord {
  /** Record attributes byte (unused by Kafka so far). */
  attributes: number
  timestampDelta: number
  offsetDelta: number
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[]
}

/** The smallest encoded record: 1-byte length + 6 one-byte fields. */
const MIN_RECORD_SIZE = 7
const EMPTY_HEADERS: RecordHeader[] = []

/** Decode exactly `count` records from buf[start, end); leftover or missing bytes are errors. */
export function decodeRecords(buf: Buffer, start: number, end: number, count: number): KafkaRecord[] {
  if (count < 0 || count > (end - start) / MIN_RECORD_SIZE) {
    throw corrupt('BAD_COUNT', `${count} records cannot fit in ${end - start} bytes`)
  }
  const records = new Array<KafkaRecord>(count)
  cursor.pos = start
  for (let i = 0; i < count; i++) records[i] = decodeRecord(buf, end)
  if (cursor.pos !== end) throw invalid('BAD_COUNT', `${end - cursor.pos} bytes left after ${count} records`)
  return records
}

function decodeRecord(buf: Buffer, end: number): KafkaRecord {
  const length = readVarint(buf, end)
  const recordEnd = cursor.pos + length
  if (length < MIN_RECORD_SIZE - 1 || recordEnd > end) throw corrupt('BAD_RECORD', `bad record length ${length}`)
  if (cursor.pos >= recordEnd) throw corrupt('TRUNCATED', 'record truncated')
  const attributes = buf[cursor.pos++] as number
  const timestampDelta = readVarlong(buf, recordEnd)
  const offsetDelta = readVarint(buf, recordEnd)
  const key = readBytes(buf, recordEnd)
  const value = readBytes(buf, recordEnd)
  const headerCount = readVarint(buf, recordEnd)
  // Each header takes at least 2 bytes: check before allocating.
  if (headerCount < 0 || headerCount * 2 > recordEnd - cursor.pos) {
    throw invalid('BAD_RECORD', `invalid header count ${headerCount}`)
  }
  let headers = EMPTY_HEADERS
  if (headerCount > 0) {
    headers = new Array<RecordHeader>(headerCount)
    for (let h = 0; h < headerCount; h++) {
      const keyLength = readVarint(buf, recordEnd)
      if (keyLength < 0 || keyLength > recordEnd - cursor.pos)
        throw invalid('BAD_RECORD', `bad header key length ${keyLength}`)
      const headerKey = buf.toString('utf8', cursor.pos, cursor.pos + keyLength)
      cursor.pos += keyLength
      headers[h] = { key: headerKey, value: readBytes(buf, recordEnd) }
    }
  }
  if (cursor.pos !== recordEnd) throw invalid('BAD_RECORD', `record length ${length} does not match its content`)
  return { attributes, timestampDelta, offsetDelta, key, value, headers }
}

function readBytes(buf: Buffer, end: number): Buffer | null {
  const length = readVarint(buf, end)
  // Kafka reads any negative length as null.
  if (length < 0) return null
  const p = cursor.pos
  if (length > end - p) throw corrupt('TRUNCATED', `field of ${length} bytes runs past the record`)
  cursor.pos = p + length
  return buf.subarray(p, p + length)
}

/** A record to encode: deltas are relative to the batch's base offset and base timestamp. */
export interface RecordToEncode {
  attributes?: number
  timestampDelta: number
  offsetDelta: number
  key: Buffer | null
  value: Buffer | null
  headers: readonly RecordHeader[]
}

/** Encoded size of one record's body (without its length prefix); fills keyLengths with header key sizes. */
function bodySize(r: RecordToEncode): number {
  let size = 1 + sizeOfVarlong(r.timestampDelta) + sizeOfVarint(r.offsetDelta)
  size += r.key === null ? 1 : sizeOfVarint(r.key.length) + r.key.length
  size += r.value === null ? 1 : sizeOfVarint(r.value.length) + r.value.length
  size += sizeOfVarint(r.headers.length)
  for (const h of r.headers) {
    const k = Buffer.byteLength(h.key, 'utf8')
    size += sizeOfVarint(k) + k + (h.value === null ? 1 : sizeOfVarint(h.value.length) + h.value.length)
  }
  return size
}

/** Bytes needed to encode these records. Also returns each body size, reused by writeRecords. */
export function measureRecords(records: readonly RecordToEncode[]): { total: number; bodySizes: Int32Array } {
  const bodySizes = new Int32Array(records.length)
  let total = 0
  for (let i = 0; i < records.length; i++) {
    const size = bodySize(records[i] as RecordToEncode)
    bodySizes[i] = size
    total += sizeOfVarint(size) + size
  }
  return { total, bodySizes }
}

/** Write records at p (sizes from measureRecords); returns the position after them. */
export function writeRecords(
  buf: Buffer,
  p: number,
  records: readonly RecordToEncode[],
  bodySizes: Int32Array,
): number {
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RecordToEncode
    p = writeVarint(buf, p, bodySizes[i] as number)
    buf[p++] = (r.attributes ?? 0) & 0xff
    p = writeVarlong(buf, p, r.timestampDelta)
    p = writeVarint(buf, p, r.offsetDelta)
    p = writeBytes(buf, p, r.key)
    p = writeBytes(buf, p, r.value)
    p = writeVarint(buf, p, r.headers.length)
    for (const h of r.headers) {
      const k = Buffer.byteLength(h.key, 'utf8')
      p = writeVarint(buf, p, k)
      p += buf.write(h.key, p, k, 'utf8')
      p = writeBytes(buf, p, h.value)
    }
  }
  return p
}

function writeBytes(buf: Buffer, p: number, bytes: Buffer | null): number {
  if (bytes === null) {
    buf[p] = 1 // zigzag(-1)
    return p + 1
  }
  p = writeVarint(buf, p, bytes.length)
  bytes.copy(buf, p)
  return p + bytes.length
}

/**
 * Zigzag varints specialised for the record layer, which reads several per record and so
 * keeps its own loops instead of going through the general Reader: a module-level cursor
 * (`cursor.pos`) avoids allocating a result object per value. Callers are synchronous, so the
 * shared cursor cannot be observed half-updated.
 * Lengths and deltas are read as numbers; a varlong whose value does not fit a double exactly
 * (|v| > 2^53) is refused rather than rounded.
 */
import { corrupt, invalid } from './errors.ts'

/** The read position shared by the readers below. */
export const cursor = { pos: 0 }

/** Read a zigzag varint (≤ 5 bytes, 32-bit) from buf at cursor.pos, never past end. */
export function readVarint(buf: Buffer, end: number): number {
  let p = cursor.pos
  let raw = 0
  let shift = 0
  for (;;) {
    if (p >= end) throw corrupt('TRUNCATED', 'varint runs past the end of the data')
    const b = buf[p++] as number
    if (shift === 28) {
      // 5th byte: like Kafka's ByteUtils, refuse a continuation bit and drop bits past 32.
      if (b >= 0x80) throw corrupt('BAD_VARINT', 'varint is longer than 5 bytes')
      raw |= b << 28
      break
    }
    raw |= (b & 0x7f) << shift
    if (b < 0x80) break
    shift += 7
  }
  cursor.pos = p
  return (raw >>> 1) ^ -(raw & 1)
}

/** Read a zigzag varlong (≤ 10 bytes) as a number; refuses values beyond ±2^53. */
export function readVarlong(buf: Buffer, end: number): number {
  let p = cursor.pos
  let raw = 0
  let mul = 1
  for (let i = 0; ; i++) {
    if (p >= end) throw corrupt('TRUNCATED', 'varlong runs past the end of the data')
    if (i === 10) throw corrupt('BAD_VARINT', 'varlong is longer than 10 bytes')
    const b = buf[p++] as number
    raw += (b & 0x7f) * mul
    if (b < 0x80) break
    mul *= 128
  }
  if (raw > Number.MAX_SAFE_INTEGER) throw invalid('BAD_VARINT', 'varlong does not fit a safe integer')
  cursor.pos = p
  // zigzag on a double: even → v/2, odd → -(v+1)/2
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
}

/** Bytes needed by writeVarint(v) for a 32-bit signed v. */
export function sizeOfVarint(v: number): number {
  let raw = ((v << 1) ^ (v >> 31)) >>> 0
  let n = 1
  while (raw >= 0x80) {
    raw >>>= 7
    n++
  }
  return n
}

/** Bytes needed by writeVarlong(v) for a safe-integer v. */
export function sizeOfVarlong(v: number): number {
  let raw = v >= 0 ? v * 2 : -v * 2 - 1
  let n = 1
  while (raw >= 0x80) {
    raw = Math.floor(raw / 128)
    n++
  }
  return n
}

/** Write a zigzag varint at p; returns the position after it. */
export function writeVarint(buf: Buffer, p: number, v: number): number {
  let raw = ((v << 1) ^ (v >> 31)) >>> 0
  while (raw >= 0x80) {
    buf[p++] = (raw & 0x7f) | 0x80
    raw >>>= 7
  }
  buf[p++] = raw
  return p
}

/** Write a zigzag varlong (safe-integer v) at p; returns the position after it. */
export function writeVarlong(buf: Buffer, p: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return writeVarint(buf, p, v)
  let raw = v >= 0 ? v * 2 : -v * 2 - 1
  while (raw >= 0x80) {
    buf[p++] = (raw % 128) | 0x80
    raw = Math.floor(raw / 128)
  }
  buf[p++] = raw
  return p
}

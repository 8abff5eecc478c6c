import { ProtocolError } from './protocol-error.ts'
import { uuidFromBytes } from './uuid.ts'

/**
 * A bounds-checked cursor over a frame. Every read checks the remaining bytes first, so truncated
 * or lying input ends in a ProtocolError, never a RangeError or an oversized allocation.
 * Byte fields are returned as views into the frame (no copy).
 */
export class Reader {
  readonly buf: Buffer
  offset: number
  readonly end: number

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf
    this.offset = offset
    this.end = end
  }

  remaining(): number {
    return this.end - this.offset
  }

  fail(message: string): never {
    throw new ProtocolError(message, this.offset)
  }

  #need(n: number): number {
    const at = this.offset
    if (at + n > this.end) this.fail(`need ${n} bytes, ${this.end - at} left`)
    this.offset = at + n
    return at
  }

  readInt8(): number {
    return this.buf.readInt8(this.#need(1))
  }

  readInt16(): number {
    return this.buf.readInt16BE(this.#need(2))
  }

  readUInt16(): number {
    return this.buf.readUInt16BE(this.#need(2))
  }

  readInt32(): number {
    return this.buf.readInt32BE(this.#need(4))
  }

  readUInt32(): number {
    return this.buf.readUInt32BE(this.#need(4))
  }

  readInt64(): bigint {
    return this.buf.readBigInt64BE(this.#need(8))
  }

  readFloat64(): number {
    return this.buf.readDoubleBE(this.#need(8))
  }

  readBool(): boolean {
    return this.buf[this.#need(1)] !== 0
  }

  readUuid(): string {
    return uuidFromBytes(this.buf, this.#need(16))
  }

  /** Unsigned LEB128, at most 5 bytes (32 bits), as Kafka's ByteUtils.readUnsignedVarint. */
  readUVarint(): number {
    let value = 0
    let shift = 0
    for (;;) {
      if (this.offset >= this.end) this.fail('truncated varint')
      const b = this.buf[this.offset++] as number
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) break
      shift += 7
      if (shift > 28) this.fail('varint longer than 5 bytes')
    }
    return value
  }

  /** Zigzag-encoded signed 32-bit varint; bits above 32 are dropped, as Kafka's ByteUtils.readVarint. */
  readVarint(): number {
    const u = this.readUVarint()
    return (u >>> 1) ^ -(u & 1)
  }

  /** Zigzag-encoded signed 64-bit varint. */
  readVarlong(): bigint {
    let value = 0n
    let shift = 0n
    for (;;) {
      if (this.offset >= this.end) this.fail('truncated varlong')
      const b = this.buf[this.offset++] as number
      value |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) break
      shift += 7n
      if (shift > 63n) this.fail('varlong longer than 10 bytes')
    }
    // Bits above 64 (from a 10th byte above 1) are dropped, as Kafka's ByteUtils.readVarlong.
    const u = BigInt.asUintN(64, value)
    return (u >> 1n) ^ -(u & 1n)
  }

  /** A view of the next n bytes. */
  readRaw(n: number): Buffer {
    const at = this.#need(n)
    return this.buf.subarray(at, at + n)
  }

  /** A reader over the next n bytes (a tagged field's value), advancing past them. */
  sub(n: number): Reader {
    const at = this.#need(n)
    return new Reader(this.buf, at, at + n)
  }

  /** Skips a tagged-field section whose tags this version does not define. */
  skipTaggedFields(): void {
    const count = this.readUVarint()
    for (let i = 0; i < count; i++) {
      this.readUVarint()
      this.skip(this.readUVarint())
    }
  }

  skip(n: number): void {
    this.#need(n)
  }

  #text(n: number): string {
    const at = this.#need(n)
    return this.buf.toString('utf8', at, at + n)
  }

  readString(): string {
    const n = this.readInt16()
    if (n < 0) this.fail('null string where a string is required')
    return this.#text(n)
  }

  readNullableString(): string | null {
    const n = this.readInt16()
    return n < 0 ? null : this.#text(n)
  }

  readCompactString(): string {
    const n = this.readUVarint() - 1
    if (n < 0) this.fail('null string where a string is required')
    return this.#text(n)
  }

  readCompactNullableString(): string | null {
    const n = this.readUVarint() - 1
    return n < 0 ? null : this.#text(n)
  }

  readBytes(): Buffer {
    const n = this.readInt32()
    if (n < 0) this.fail('null bytes where bytes are required')
    return this.readRaw(n)
  }

  readNullableBytes(): Buffer | null {
    const n = this.readInt32()
    return n < 0 ? null : this.readRaw(n)
  }

  readCompactBytes(): Buffer {
    const n = this.readUVarint() - 1
    if (n < 0) this.fail('null bytes where bytes are required')
    return this.readRaw(n)
  }

  readCompactNullableBytes(): Buffer | null {
    const n = this.readUVarint() - 1
    return n < 0 ? null : this.readRaw(n)
  }

  /**
   * An array length (int32, or unsigned varint + 1 when compact); -1 means null. Every element
   * takes at least one byte, so a count above the remaining bytes is rejected before anything
   * is allocated for it.
   */
  readArrayLength(compact: boolean): number {
    const n = compact ? this.readUVarint() - 1 : this.readInt32()
    if (n < -1) this.fail(`negative array length ${n}`)
    if (n > this.end - this.offset) this.fail(`array of ${n} elements in ${this.end - this.offset} bytes`)
    return n
  }
}

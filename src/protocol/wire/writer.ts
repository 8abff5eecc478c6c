import { uuidToBytes } from './uuid.ts'

/** Byte fields at least this large are referenced, not copied: fetch responses carry MiBs of log data. */
const REFERENCE_THRESHOLD = 4096

/**
 * An append-only encoder. Small fields go into a growing scratch buffer; large byte fields are kept
 * as references so that a response carrying log data is written with writev and never copied.
 */
export class Writer {
  #chunks: Buffer[] = []
  #buf: Buffer
  #pos = 0
  /** Start of the part of #buf not yet moved to #chunks. */
  #start = 0
  #flushed = 0

  constructor(initialSize = 256) {
    this.#buf = Buffer.allocUnsafe(initialSize)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#flushed + this.#pos - this.#start
  }

  #seal(): void {
    if (this.#pos > this.#start) {
      this.#chunks.push(this.#buf.subarray(this.#start, this.#pos))
      this.#flushed += this.#pos - this.#start
      this.#start = this.#pos
    }
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return
    this.#seal()
    this.#buf = Buffer.allocUnsafe(Math.max(n, this.#buf.length * 2))
    this.#pos = 0
    this.#start = 0
  }

  writeInt8(v: number): void {
    this.#ensure(1)
    this.#pos = this.#buf.writeInt8(v, this.#pos)
  }

  writeInt16(v: number): void {
    this.#ensure(2)
    this.#pos = this.#buf.writeInt16BE(v, this.#pos)
  }

  writeUInt16(v: number): void {
    this.#ensure(2)
    this.#pos = this.#buf.writeUInt16BE(v, this.#pos)
  }

  writeInt32(v: number): void {
    this.#ensure(4)
    this.#pos = this.#buf.writeInt32BE(v, this.#pos)
  }

  writeUInt32(v: number): void {
    this.#ensure(4)
    this.#pos = this.#buf.writeUInt32BE(v, this.#pos)
  }

  writeInt64(v: bigint): void {
    this.#ensure(8)
    this.#pos = this.#buf.writeBigInt64BE(v, this.#pos)
  }

  writeFloat64(v: number): void {
    this.#ensure(8)
    this.#pos = this.#buf.writeDoubleBE(v, this.#pos)
  }

  writeBool(v: boolean): void {
    this.#ensure(1)
    this.#buf[this.#pos++] = v ? 1 : 0
  }

  writeUuid(v: string): void {
    this.#ensure(16)
    uuidToBytes(v, this.#buf, this.#pos)
    this.#pos += 16
  }

  writeUVarint(v: number): void {
    this.#ensure(5)
    let n = v >>> 0
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n & 0x7f) | 0x80
      n >>>= 7
    }
    this.#buf[this.#pos++] = n
  }

  writeVarint(v: number): void {
    this.writeUVarint(((v << 1) ^ (v >> 31)) >>> 0)
  }

  writeVarlong(v: bigint): void {
    this.#ensure(10)
    let n = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n))
    while (n >= 0x80n) {
      this.#buf[this.#pos++] = Number(n & 0x7fn) | 0x80
      n >>= 7n
    }
    this.#buf[this.#pos++] = Number(n)
  }

  /** Appends bytes; large ones by reference, so the caller must not change them afterwards. */
  writeRaw(b: Uint8Array): void {
    if (b.length >= REFERENCE_THRESHOLD) {
      this.#seal()
      this.#chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length))
      this.#flushed += b.length
      return
    }
    this.#ensure(b.length)
    this.#buf.set(b, this.#pos)
    this.#pos += b.length
  }

  #text(s: string, compact: boolean): void {
    const n = Buffer.byteLength(s)
    if (compact) this.writeUVarint(n + 1)
    else this.writeInt16(n)
    this.#ensure(n)
    this.#pos += this.#buf.write(s, this.#pos, 'utf8')
  }

  writeString(s: string): void {
    this.#text(s, false)
  }

  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1)
    else this.#text(s, false)
  }

  writeCompactString(s: string): void {
    this.#text(s, true)
  }

  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUVarint(0)
    else this.#text(s, true)
  }

  writeBytes(b: Uint8Array): void {
    this.writeInt32(b.length)
    this.writeRaw(b)
  }

  writeNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeInt32(-1)
    else this.writeBytes(b)
  }

  writeCompactBytes(b: Uint8Array): void {
    this.writeUVarint(b.length + 1)
    this.writeRaw(b)
  }

  writeCompactNullableBytes(b: Uint8Array | null): void {
    if (b === null) this.writeUVarint(0)
    else this.writeCompactBytes(b)
  }

  /** An array length; -1 for a null array. */
  writeArrayLength(n: number, compact: boolean): void {
    if (compact) this.writeUVarint(n + 1)
    else this.writeInt32(n)
  }

  /** The encoded bytes as a list of chunks, for writev. The writer must not be used afterwards. */
  finish(): Buffer[] {
    this.#seal()
    return this.#chunks
  }

  /** The encoded bytes in one buffer. */
  toBuffer(): Buffer {
    const chunks = this.finish()
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#flushed)
  }
}

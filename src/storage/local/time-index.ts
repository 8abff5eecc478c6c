/**
 * A segment's time index, Kafka's `.timeindex` format: 12-byte big-endian entries of (timestamp:
 * int64, offset - segment base offset: int32). An entry (T, O) says: T is the largest timestamp
 * of the segment up to the batch that ends at offset O, which holds it. Timestamps strictly grow
 * from entry to entry, so every record before that batch has a timestamp ≤ T, and a search for
 * a target > T may skip everything before it.
 */

const ENTRY_SIZE = 12

/** A time index held in memory. */
export class TimeIndex {
  readonly baseOffset: number
  #timestamps: Float64Array = new Float64Array(16)
  #relOffsets: Int32Array = new Int32Array(16)
  #count = 0

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset
  }

  /** Number of entries. */
  get count(): number {
    return this.#count
  }

  /** Adds an entry if timestamp is above the last one (the index only records new maxima). */
  maybeAppend(timestamp: number, offset: number): void {
    if (this.#count > 0 && timestamp <= (this.#timestamps[this.#count - 1] as number)) return
    if (this.#count === this.#timestamps.length) {
      const ts = new Float64Array(this.#count * 2)
      ts.set(this.#timestamps)
      this.#timestamps = ts
      const rel = new Int32Array(this.#count * 2)
      rel.set(this.#relOffsets)
      this.#relOffsets = rel
    }
    this.#timestamps[this.#count] = timestamp
    this.#relOffsets[this.#count] = offset - this.baseOffset
    this.#count++
  }

  /**
   * Offset from which to search for the first record with timestamp ≥ target: the offset of the
   * last entry whose timestamp is below target (its batch and everything before are below it),
   * else the segment's base offset.
   */
  lookup(target: number): number {
    let lo = 0
    let hi = this.#count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#timestamps[mid] as number) < target) lo = mid + 1
      else hi = mid
    }
    return lo === 0 ? this.baseOffset : this.baseOffset + (this.#relOffsets[lo - 1] as number)
  }

  /** The last entry (the segment's max timestamp once the segment is rolled), or undefined. */
  last(): { timestamp: number; offset: number } | undefined {
    if (this.#count === 0) return undefined
    const i = this.#count - 1
    return { timestamp: this.#timestamps[i] as number, offset: this.baseOffset + (this.#relOffsets[i] as number) }
  }

  /** The file content. */
  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.#count * ENTRY_SIZE)
    for (let i = 0; i < this.#count; i++) {
      const ts = BigInt(this.#timestamps[i] as number)
      buf.writeBigInt64BE(ts, i * ENTRY_SIZE)
      buf.writeInt32BE(this.#relOffsets[i] as number, i * ENTRY_SIZE + 8)
    }
    return buf
  }

  /** Parses a file; null when its size is torn or its entries do not grow. */
  static fromBuffer(baseOffset: number, buf: Buffer): TimeIndex | null {
    if (buf.length % ENTRY_SIZE !== 0) return null
    const index = new TimeIndex(baseOffset)
    let prevTs = Number.NEGATIVE_INFINITY
    let prevRel = -1
    for (let p = 0; p < buf.length; p += ENTRY_SIZE) {
      const ts = Number(buf.readBigInt64BE(p))
      const rel = buf.readInt32BE(p + 8)
      if (ts <= prevTs || rel < prevRel) return null
      index.maybeAppend(ts, baseOffset + rel)
      prevTs = ts
      prevRel = rel
    }
    return index
  }
}

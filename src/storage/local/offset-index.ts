/**
 * A segment's sparse offset index, Kafka's `.index` format: 8-byte big-endian entries of
 * (offset - segment base offset: int32, file position: int32), one per index.interval.bytes of
 * log. An entry says "the batch at this position ends at this offset" (its last offset, as Kafka
 * writes it), so the entry at or below a target offset is a safe place to start a header scan.
 * Entries live in memory; the file is written whole when a segment is rolled or closed.
 */

const ENTRY_SIZE = 8

/** An offset index held in memory. */
export class OffsetIndex {
  readonly baseOffset: number
  #relOffsets: Int32Array = new Int32Array(16)
  #positions: Int32Array = new Int32Array(16)
  #count = 0

  constructor(baseOffset: number) {
    this.baseOffset = baseOffset
  }

  /** Number of entries. */
  get count(): number {
    return this.#count
  }

  /** Adds an entry; offsets and positions must grow. */
  append(lastOffset: number, position: number): void {
    if (this.#count === this.#relOffsets.length) {
      this.#relOffsets = grow(this.#relOffsets)
      this.#positions = grow(this.#positions)
    }
    this.#relOffsets[this.#count] = lastOffset - this.baseOffset
    this.#positions[this.#count] = position
    this.#count++
  }

  /** File position to start scanning for offset: that of the last entry whose offset is ≤ it, else 0. */
  lookup(offset: number): number {
    const rel = offset - this.baseOffset
    let lo = 0
    let hi = this.#count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#relOffsets[mid] as number) <= rel) lo = mid + 1
      else hi = mid
    }
    return lo === 0 ? 0 : (this.#positions[lo - 1] as number)
  }

  /** The last entry, or undefined when empty. */
  last(): { offset: number; position: number } | undefined {
    if (this.#count === 0) return undefined
    const i = this.#count - 1
    return { offset: this.baseOffset + (this.#relOffsets[i] as number), position: this.#positions[i] as number }
  }

  /** The file content. */
  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.#count * ENTRY_SIZE)
    for (let i = 0; i < this.#count; i++) {
      buf.writeInt32BE(this.#relOffsets[i] as number, i * ENTRY_SIZE)
      buf.writeInt32BE(this.#positions[i] as number, i * ENTRY_SIZE + 4)
    }
    return buf
  }

  /**
   * Parses a file; null when it cannot belong to a segment of `segmentSize` bytes (torn size,
   * entries not strictly increasing, a position past the end). The caller also checks the last
   * entry against the log, then rebuilds the index from the log when anything is off.
   */
  static fromBuffer(baseOffset: number, buf: Buffer, segmentSize: number): OffsetIndex | null {
    if (buf.length % ENTRY_SIZE !== 0) return null
    const index = new OffsetIndex(baseOffset)
    let prevRel = -1
    let prevPos = -1
    for (let p = 0; p < buf.length; p += ENTRY_SIZE) {
      const rel = buf.readInt32BE(p)
      const pos = buf.readInt32BE(p + 4)
      if (rel <= prevRel || pos <= prevPos || pos >= segmentSize) return null
      index.append(baseOffset + rel, pos)
      prevRel = rel
      prevPos = pos
    }
    return index
  }
}

function grow(a: Int32Array): Int32Array {
  const bigger = new Int32Array(a.length * 2)
  bigger.set(a)
  return bigger
}

/**
 * One share partition's record states (KIP-932), as Kafka's SharePartition keeps them: records
 * between the share-partition start offset (SPSO) and end offset (SPEO) are in flight, each
 * available, acquired by one member under a time lock, acknowledged or archived. Acquiring
 * counts a delivery; a record released (RELEASE, lock expiry, its member's session ending) at
 * the delivery count limit is archived instead of becoming available again. The start offset
 * moves past every leading acknowledged or archived record. Offsets in [SPSO, SPEO) without an
 * entry are not records (control batches, offsets compaction removed) and count as archived.
 *
 * Pure state: no I/O and no timers; share-partitions.ts reads the log, arms the lock timers and
 * makes the state durable (toState / fromState, in the shape of Kafka's share-group state).
 */

/** Acknowledge types of ShareFetch and ShareAcknowledge (RENEW from v2, KIP-1222). */
export const AckType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3, RENEW: 4 } as const

/** Kafka's persisted delivery states (acquired records are persisted as available). */
const DeliveryState = { AVAILABLE: 0, ACKNOWLEDGED: 2, ARCHIVED: 4 } as const

type RecordState = 'available' | 'acquired' | 'acknowledged' | 'archived'

interface InFlight {
  state: RecordState
  deliveryCount: number
  memberId: string | null
  /** Which lock holds an acquired record: a lock timer only releases the records it still holds. */
  lockId: number
}

/** One batch of the log as acquisition sees it: its offsets, not its records. */
export interface LogBatch {
  baseOffset: number
  lastOffset: number
  isControl: boolean
  /** Holds records of an aborted transaction (read_committed): archived, never delivered. */
  aborted?: boolean
}

export interface AcquiredRange {
  firstOffset: number
  lastOffset: number
  deliveryCount: number
}

export interface AcquireLimits {
  memberId: string
  maxRecords: number
  /** record_limit acquire mode (KIP-1206): never more than maxRecords; else whole batches. */
  strict: boolean
  /** group.share.partition.max.record.locks: how far past the start offset records may be in flight. */
  maxInFlight: number
  lockId: number
}

export interface AckBatch {
  firstOffset: number
  lastOffset: number
  acknowledgeTypes: number[]
}

/** The durable form of a share partition (Kafka's ShareGroup state: start offset, state batches, state epoch). */
export interface SharePartitionState {
  stateEpoch: number
  startOffset: number
  endOffset: number
  /** Runs of records: [firstOffset, lastOffset, deliveryState, deliveryCount]. */
  batches: [number, number, number, number][]
}

export class SharePartition {
  stateEpoch: number
  startOffset: number
  endOffset: number
  /** In-flight records by offset, in ascending order (new offsets are only ever added at the end). */
  readonly #records = new Map<number, InFlight>()

  constructor(startOffset: number, stateEpoch = 0) {
    this.startOffset = startOffset
    this.endOffset = startOffset
    this.stateEpoch = stateEpoch
  }

  /** The first offset a fetch should read from: the first available record, else the end offset. */
  nextFetchOffset(): number {
    for (const [offset, r] of this.#records) if (r.state === 'available') return offset
    return this.endOffset
  }

  /** Whether records are in flight up to the limit, so that nothing new may be acquired. */
  full(maxInFlight: number): boolean {
    return this.nextFetchOffset() === this.endOffset && this.endOffset - this.startOffset >= maxInFlight
  }

  /**
   * Acquires, for one member, the available records of `batches` (read from the log at
   * nextFetchOffset) and the new ones past the end offset. Records of aborted batches are
   * acquired and archived at once, as Kafka does for a read_committed group, so they count as
   * in flight but are never handed out. Returns the acquired ranges and the indexes of the
   * batches holding them.
   */
  acquire(batches: readonly LogBatch[], limits: AcquireLimits): { ranges: AcquiredRange[]; used: number[] } {
    const ranges: AcquiredRange[] = []
    const used: number[] = []
    let count = 0
    const take = (offset: number, r: InFlight): void => {
      r.state = 'acquired'
      r.deliveryCount++
      r.memberId = limits.memberId
      r.lockId = limits.lockId
      count++
      const last = ranges[ranges.length - 1]
      if (last && last.lastOffset === offset - 1 && last.deliveryCount === r.deliveryCount) last.lastOffset = offset
      else ranges.push({ firstOffset: offset, lastOffset: offset, deliveryCount: r.deliveryCount })
    }
    const archive = (r: InFlight): void => {
      r.deliveryCount++
      this.#settle(r, 'archived')
    }
    scan: for (let i = 0; i < batches.length; i++) {
      const b = batches[i] as LogBatch
      if (b.lastOffset < this.startOffset) continue
      if (b.isControl) {
        // Markers hold no record to hand out: passed even at the record limit, when nothing
        // unread lies before them, so the start offset can reach the end of a log ending in one.
        const unreadBefore = count >= limits.maxRecords && b.baseOffset > this.endOffset
        if (b.lastOffset >= this.endOffset && !unreadBefore) this.endOffset = b.lastOffset + 1
        continue
      }
      if (count >= limits.maxRecords) break
      const before = count
      for (let o = Math.max(b.baseOffset, this.startOffset); o <= b.lastOffset; o++) {
        if (limits.strict && count >= limits.maxRecords) break
        if (o < this.endOffset) {
          const r = this.#records.get(o)
          if (r?.state !== 'available') continue
          if (b.aborted) archive(r)
          else take(o, r)
          continue
        }
        if (o - this.startOffset >= limits.maxInFlight) {
          if (count > before) used.push(i)
          break scan
        }
        const r: InFlight = { state: 'available', deliveryCount: 0, memberId: null, lockId: 0 }
        this.#records.set(o, r)
        this.endOffset = o + 1
        if (b.aborted) archive(r)
        else take(o, r)
      }
      if (count > before) used.push(i)
    }
    // Archived records and passed markers at the start move the start offset.
    this.#advance()
    return { ranges, used }
  }

  /**
   * Checks acknowledgements from a member: every offset (but gaps) must be acquired by it.
   * Returns false when one is not; nothing is changed then.
   */
  canAcknowledge(memberId: string, batches: readonly AckBatch[]): boolean {
    for (const b of batches) {
      for (let o = b.firstOffset; o <= b.lastOffset; o++) {
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0] : b.acknowledgeTypes[o - b.firstOffset]
        if (type === AckType.GAP) continue
        const r = this.#records.get(o)
        if (r === undefined || r.state !== 'acquired' || r.memberId !== memberId) return false
      }
    }
    return true
  }

  /**
   * Applies checked acknowledgements: ACCEPT acknowledges, REJECT and GAP archive, RELEASE makes
   * the record available again (archived at the delivery limit), RENEW moves it under `renewLockId`.
   * Returns the offsets renewed.
   */
  acknowledge(
    memberId: string,
    batches: readonly AckBatch[],
    deliveryLimit: number,
    renewLockId: number,
  ): { renewed: number[] } {
    const renewed: number[] = []
    for (const b of batches) {
      for (let o = b.firstOffset; o <= b.lastOffset; o++) {
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0] : b.acknowledgeTypes[o - b.firstOffset]
        const r = this.#records.get(o)
        if (r === undefined || r.state !== 'acquired' || r.memberId !== memberId) continue
        if (type === AckType.ACCEPT) this.#settle(r, 'acknowledged')
        else if (type === AckType.RELEASE) this.#release(r, deliveryLimit)
        else if (type === AckType.RENEW) {
          r.lockId = renewLockId
          renewed.push(o)
        } else this.#settle(r, 'archived')
      }
    }
    this.#advance()
    return { renewed }
  }

  /** Releases the records a lock still holds (its timer fired); returns how many. */
  expire(offsets: readonly number[], lockId: number, deliveryLimit: number): number {
    let n = 0
    for (const o of offsets) {
      const r = this.#records.get(o)
      if (r?.state !== 'acquired' || r.lockId !== lockId) continue
      this.#release(r, deliveryLimit)
      n++
    }
    this.#advance()
    return n
  }

  /** Releases every record a member holds (its share session ended); returns how many. */
  releaseMember(memberId: string, deliveryLimit: number): number {
    let n = 0
    for (const r of this.#records.values()) {
      if (r.state !== 'acquired' || r.memberId !== memberId) continue
      this.#release(r, deliveryLimit)
      n++
    }
    this.#advance()
    return n
  }

  /** The log start moved past the start offset (retention, DeleteRecords): earlier records are gone. */
  truncateTo(logStartOffset: number): void {
    if (logStartOffset <= this.startOffset) return
    for (const o of [...this.#records.keys()]) if (o < logStartOffset) this.#records.delete(o)
    this.startOffset = logStartOffset
    this.endOffset = Math.max(this.endOffset, logStartOffset)
    this.#advance()
  }

  /** Moves both offsets to `offset`, forgetting every in-flight record (AlterShareGroupOffsets). */
  reset(offset: number): void {
    this.#records.clear()
    this.startOffset = offset
    this.endOffset = offset
    this.stateEpoch++
  }

  /** Counts of in-flight records by state (DescribeShareGroupOffsets' lag). */
  counts(): Record<RecordState, number> {
    const out = { available: 0, acquired: 0, acknowledged: 0, archived: 0 }
    for (const r of this.#records.values()) out[r.state]++
    return out
  }

  #release(r: InFlight, deliveryLimit: number): void {
    this.#settle(r, r.deliveryCount >= deliveryLimit ? 'archived' : 'available')
  }

  #settle(r: InFlight, state: RecordState): void {
    r.state = state
    r.memberId = null
    r.lockId = 0
  }

  /** Moves the start offset past leading acknowledged and archived records. */
  #advance(): void {
    for (const [o, r] of this.#records) {
      if (r.state === 'available' || r.state === 'acquired') {
        this.startOffset = o
        return
      }
      this.#records.delete(o)
    }
    this.startOffset = this.endOffset
  }

  toState(): SharePartitionState {
    const batches: [number, number, number, number][] = []
    for (const [o, r] of this.#records) {
      const state =
        r.state === 'acknowledged'
          ? DeliveryState.ACKNOWLEDGED
          : r.state === 'archived'
            ? DeliveryState.ARCHIVED
            : DeliveryState.AVAILABLE
      const last = batches[batches.length - 1]
      if (last && last[1] === o - 1 && last[2] === state && last[3] === r.deliveryCount) last[1] = o
      else batches.push([o, o, state, r.deliveryCount])
    }
    return { stateEpoch: this.stateEpoch, startOffset: this.startOffset, endOffset: this.endOffset, batches }
  }

  /** Rebuilds a partition from its durable state: records that were acquired are available again. */
  static fromState(s: SharePartitionState): SharePartition {
    const p = new SharePartition(s.startOffset, s.stateEpoch)
    p.endOffset = s.endOffset
    for (const [first, last, state, deliveryCount] of s.batches) {
      const st: RecordState =
        state === DeliveryState.ACKNOWLEDGED
          ? 'acknowledged'
          : state === DeliveryState.ARCHIVED
            ? 'archived'
            : 'available'
      for (let o = first; o <= last; o++) p.#records.set(o, { state: st, deliveryCount, memberId: null, lockId: 0 })
    }
    p.#advance()
    return p
  }
}

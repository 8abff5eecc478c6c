/**
 * Committed offsets of the groups a coordinator holds, kept in memory and written through to the
 * storage's durable key-value store, so they survive restarts and kill -9 on the local engine and
 * live in the database on PostgreSQL.
 *
 * One record per group (namespace `committed-offsets`, key the group id) holds all its offsets,
 * so that every change is one compare-and-set over the version this coordinator read: when
 * several brokers share the store, a coordinator that lost the group (or one that wrote after it
 * was read elsewhere) can never overwrite a newer commit; its write is refused instead. Commits of
 * one group arriving while its record is being written go out together in the next write.
 * Offsets written one key per partition by earlier versions (namespace `group-offsets`) are moved
 * into the per-group records at start.
 *
 * The same record holds the group's pending transactional offsets (TxnOffsetCommit), by producer
 * id, until the transaction coordinator says the transaction ended (Kafka keeps them as
 * transactional records of __consumer_offsets until the marker): a commit moves them into the
 * committed offsets, an abort drops them, each in one write. Being in the record, they survive a
 * coordinator failover between TxnOffsetCommit and the end of the transaction.
 */
import type { KeyValueStore } from '../../storage/types.ts'

/** The key-value namespace holding committed offsets, one record per group. */
export const OFFSETS_NAMESPACE = 'committed-offsets'
/** Where earlier versions kept committed offsets, one key per group, topic and partition. */
export const LEGACY_OFFSETS_NAMESPACE = 'group-offsets'

/** One committed offset, as OffsetCommit wrote it. */
export interface CommittedOffset {
  offset: bigint
  leaderEpoch: number
  metadata: string
  commitTimestamp: number
  /** Explicit expiry from OffsetCommit v2-4 retention_time_ms; null means "by group state". */
  expireTimestamp: number | null
}

/** One partition's offset to commit. */
export interface OffsetToCommit extends CommittedOffset {
  topic: string
  partition: number
}

type GroupOffsets = Map<string, Map<number, CommittedOffset>>

/** Offsets a producer's open transaction committed for a group, and the epoch it sent them with. */
export interface PendingTxnOffsets {
  epoch: number
  offsets: GroupOffsets
}

/** A group's committed offsets and its pending transactional offsets by producer id. */
interface GroupState {
  committed: GroupOffsets
  pending: Map<number, PendingTxnOffsets>
}

/** A group's offsets as read from the store, with the version they were read at. */
export interface StoredOffsets {
  offsets: GroupOffsets
  pending: Map<number, PendingTxnOffsets>
  version: number
}

type StoredOffset = [string, number, string, number, string, number, number | null]

/** With pending transactional offsets the record is an object; without, the list it always was. */
interface StoredGroup {
  c: StoredOffset[]
  /** Producer id, epoch, offsets. */
  p: [number, number, StoredOffset[]][]
}

function encodeOffsets(offsets: GroupOffsets): StoredOffset[] {
  const list: StoredOffset[] = []
  for (const [topic, ps] of offsets) {
    for (const [p, o] of ps) {
      list.push([topic, p, o.offset.toString(), o.leaderEpoch, o.metadata, o.commitTimestamp, o.expireTimestamp])
    }
  }
  return list
}

function decodeOffsets(list: StoredOffset[]): GroupOffsets {
  const out: GroupOffsets = new Map()
  for (const [topic, p, offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp] of list) {
    setIn(out, topic, p, { offset: BigInt(offset), leaderEpoch, metadata, commitTimestamp, expireTimestamp })
  }
  return out
}

function encodeGroup(g: GroupState): Buffer {
  const committed = encodeOffsets(g.committed)
  if (g.pending.size === 0) return Buffer.from(JSON.stringify(committed))
  const stored: StoredGroup = {
    c: committed,
    p: [...g.pending].map(([producerId, t]) => [producerId, t.epoch, encodeOffsets(t.offsets)]),
  }
  return Buffer.from(JSON.stringify(stored))
}

function decodeGroup(b: Buffer): GroupState {
  const stored = JSON.parse(b.toString()) as StoredOffset[] | StoredGroup
  if (Array.isArray(stored)) return { committed: decodeOffsets(stored), pending: new Map() }
  return {
    committed: decodeOffsets(stored.c),
    pending: new Map(
      stored.p.map(([producerId, epoch, list]) => [producerId, { epoch, offsets: decodeOffsets(list) }]),
    ),
  }
}

function decodeLegacy(b: Buffer): CommittedOffset {
  const v = JSON.parse(b.toString()) as { o: string; e: number; m: string; t: number; x: number | null }
  return { offset: BigInt(v.o), leaderEpoch: v.e, metadata: v.m, commitTimestamp: v.t, expireTimestamp: v.x }
}

function setIn(g: GroupOffsets, topic: string, partition: number, o: CommittedOffset): void {
  let t = g.get(topic)
  if (t === undefined) {
    t = new Map()
    g.set(topic, t)
  }
  t.set(partition, o)
}

function copyOf(g: GroupOffsets | undefined): GroupOffsets {
  return new Map([...(g ?? [])].map(([topic, ps]) => [topic, new Map(ps)]))
}

/** A copy a change may edit: pending entries are replaced, never edited, so they are shared. */
function copyState(g: GroupState | undefined): GroupState {
  return { committed: copyOf(g?.committed), pending: new Map(g?.pending) }
}

/** A change to a group's offsets waiting for the group's next write. */
interface PendingChange {
  apply(state: GroupState): void
  done(written: boolean): void
}

/** Committed offsets by group, topic and partition. */
export class OffsetStore {
  readonly #kv: KeyValueStore
  readonly #writable: (group: string) => boolean
  readonly #groups = new Map<string, GroupState>()
  /** Version of each held group's record as last read or written; absent: not known yet. */
  readonly #versions = new Map<string, number>()
  readonly #pending = new Map<string, PendingChange[]>()
  readonly #writing = new Map<string, Promise<void>>()
  /** Bumped each time a group is installed or forgotten: a write begun before does not update memory. */
  readonly #incarnations = new Map<string, number>()

  /** `writable` is asked right before each write: a group this coordinator lost is not written. */
  constructor(kv: KeyValueStore, writable: (group: string) => boolean = () => true) {
    this.#kv = kv
    this.#writable = writable
  }

  /** Groups that have stored offsets (read from the store). */
  async storedGroupIds(): Promise<string[]> {
    return [...(await this.#kv.list(OFFSETS_NAMESPACE)).keys()]
  }

  /** Reads a group's stored offsets, to be installed with `install`. */
  async read(group: string): Promise<StoredOffsets> {
    const { value, version } = await this.#kv.getVersioned(OFFSETS_NAMESPACE, group)
    const state = value === undefined ? copyState(undefined) : decodeGroup(value)
    return { offsets: state.committed, pending: state.pending, version }
  }

  /** Makes what `read` returned the group's offsets in memory. */
  install(group: string, stored: StoredOffsets): void {
    this.#renew(group)
    this.#hold(group, { committed: stored.offsets, pending: stored.pending })
    this.#versions.set(group, stored.version)
  }

  #renew(group: string): void {
    this.#incarnations.set(group, (this.#incarnations.get(group) ?? 0) + 1)
  }

  /** Drops a group's offsets from memory (its record stays as stored); changes not yet written are refused. */
  forget(group: string): void {
    this.#renew(group)
    this.#groups.delete(group)
    this.#versions.delete(group)
    for (const change of this.#pending.get(group)?.splice(0) ?? []) change.done(false)
  }

  #hold(group: string, state: GroupState): void {
    if (state.committed.size > 0 || state.pending.size > 0) this.#groups.set(group, state)
    else this.#groups.delete(group)
  }

  /** Whether the group has at least one committed offset. */
  has(group: string): boolean {
    return (this.#groups.get(group)?.committed.size ?? 0) > 0
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groups.get(group)?.committed.get(topic)?.get(partition)
  }

  /** Every committed offset of a group, by topic. */
  all(group: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> {
    return this.#groups.get(group)?.committed ?? new Map()
  }

  /** The transactional offsets a producer's open transaction committed for the group, if any. */
  pending(group: string, producerId: number): PendingTxnOffsets | undefined {
    return this.#groups.get(group)?.pending.get(producerId)
  }

  /** Whether an open transaction committed an offset for this partition of the group. */
  hasPending(group: string, topic: string, partition: number): boolean {
    for (const t of this.#groups.get(group)?.pending.values() ?? []) {
      if (t.offsets.get(topic)?.has(partition)) return true
    }
    return false
  }

  /** The held groups for which a producer's transaction has pending offsets. */
  groupsPendingFor(producerId: number): string[] {
    return [...this.#groups].filter(([, g]) => g.pending.has(producerId)).map(([group]) => group)
  }

  /**
   * Adds offsets of a producer's open transaction (TxnOffsetCommit), replacing those it sent
   * before for the same partitions: true once durable, false if the write was refused.
   */
  addPending(group: string, producerId: number, epoch: number, offsets: OffsetToCommit[]): Promise<boolean> {
    return this.#change(group, (g) => {
      const merged = copyOf(g.pending.get(producerId)?.offsets)
      for (const { topic, partition, ...committed } of offsets) setIn(merged, topic, partition, committed)
      g.pending.set(producerId, { epoch, offsets: merged })
    })
  }

  /**
   * A producer's transaction ended: its pending offsets become the group's committed offsets
   * (`commit`) or are dropped. True once durable (at once when it has none), false if refused.
   */
  endPending(group: string, producerId: number, commit: boolean): Promise<boolean> {
    if (this.pending(group, producerId) === undefined) return Promise.resolve(true)
    return this.#change(group, (g) => {
      const txn = g.pending.get(producerId)
      g.pending.delete(producerId)
      if (!commit || txn === undefined) return
      for (const [topic, ps] of txn.offsets) for (const [p, o] of ps) setIn(g.committed, topic, p, o)
    })
  }

  /**
   * Commits offsets atomically: true once all of them are durable; false if the write was refused
   * (another coordinator wrote the group's offsets since they were read, or this one lost it).
   */
  commit(group: string, offsets: OffsetToCommit[]): Promise<boolean> {
    if (offsets.length === 0) return Promise.resolve(true)
    return this.#change(group, (g) => {
      for (const { topic, partition, ...committed } of offsets) setIn(g.committed, topic, partition, committed)
    })
  }

  /**
   * Removes the listed committed offsets (or, with no list, every committed offset of the group;
   * pending transactional offsets stay until their transaction ends); false if refused.
   */
  delete(group: string, which?: { topic: string; partition: number }[]): Promise<boolean> {
    const g = this.#groups.get(group)?.committed
    if (
      g === undefined ||
      g.size === 0 ||
      (which !== undefined && !which.some((w) => g.get(w.topic)?.has(w.partition)))
    ) {
      return Promise.resolve(true)
    }
    return this.#change(group, ({ committed: offsets }) => {
      if (which === undefined) offsets.clear()
      for (const { topic, partition } of which ?? []) {
        const t = offsets.get(topic)
        t?.delete(partition)
        if (t?.size === 0) offsets.delete(topic)
      }
    })
  }

  #change(group: string, apply: (state: GroupState) => void): Promise<boolean> {
    return new Promise<boolean>((done) => {
      let queue = this.#pending.get(group)
      if (queue === undefined) {
        queue = []
        this.#pending.set(group, queue)
      }
      queue.push({ apply, done })
      if (!this.#writing.has(group)) {
        const writing = this.#drain(group).finally(() => this.#writing.delete(group))
        this.#writing.set(group, writing)
      }
    })
  }

  /** Writes the group's waiting changes, as many as arrived meanwhile in each write. */
  async #drain(group: string): Promise<void> {
    for (;;) {
      const changes = this.#pending.get(group)?.splice(0) ?? []
      if (changes.length === 0) {
        this.#pending.delete(group)
        return
      }
      const incarnation = this.#incarnations.get(group)
      const next = copyState(this.#groups.get(group))
      for (const c of changes) c.apply(next)
      let version: number | null = null
      try {
        if (this.#writable(group)) version = await this.#put(group, next)
      } catch {
        // The outcome is unknown: the group is read again before its next change.
        this.#versions.delete(group)
      }
      const current = incarnation === this.#incarnations.get(group)
      if (version !== null && current) {
        this.#versions.set(group, version)
        this.#hold(group, next)
      }
      // Written is written, even for a group dropped meanwhile: its new coordinator reads it.
      for (const c of changes) c.done(version !== null)
    }
  }

  /** One compare-and-set of the group's record: its new version, or null when another write came first. */
  async #put(group: string, state: GroupState): Promise<number | null> {
    let expected = this.#versions.get(group)
    if (expected === undefined) {
      // A group this coordinator created: the key may only be absent (or deleted).
      const stored = await this.#kv.getVersioned(OFFSETS_NAMESPACE, group)
      if (stored.value !== undefined) return null
      expected = stored.version
    }
    const empty = state.committed.size === 0 && state.pending.size === 0
    return this.#kv.putIfVersion(OFFSETS_NAMESPACE, group, expected, empty ? null : encodeGroup(state))
  }

  /** Resolves when every write under way is done. */
  async idle(): Promise<void> {
    while (this.#writing.size > 0) await Promise.allSettled([...this.#writing.values()])
  }

  /**
   * Moves offsets stored one key per partition (earlier versions) into the per-group records,
   * where an offset committed since (in the group's record) wins, then deletes the old keys.
   */
  async migrateLegacy(): Promise<void> {
    const legacy = await this.#kv.list(LEGACY_OFFSETS_NAMESPACE)
    const byGroup = new Map<string, Map<string, Buffer>>()
    for (const [k, v] of legacy) {
      const group = (JSON.parse(k) as [string, string, number])[0]
      let entries = byGroup.get(group)
      if (entries === undefined) {
        entries = new Map()
        byGroup.set(group, entries)
      }
      entries.set(k, v)
    }
    for (const [group, entries] of byGroup) {
      for (let attempt = 1; ; attempt++) {
        const stored = await this.read(group)
        for (const [k, v] of entries) {
          const [, topic, partition] = JSON.parse(k) as [string, string, number]
          if (!stored.offsets.get(topic)?.has(partition)) setIn(stored.offsets, topic, partition, decodeLegacy(v))
        }
        const written = await this.#kv.putIfVersion(
          OFFSETS_NAMESPACE,
          group,
          stored.version,
          encodeGroup({ committed: stored.offsets, pending: stored.pending }),
        )
        if (written !== null) break
        if (attempt >= 5) throw new Error(`moving the committed offsets of group ${group} kept conflicting`)
      }
      await this.#kv.put(LEGACY_OFFSETS_NAMESPACE, new Map([...entries.keys()].map((k) => [k, null])))
    }
  }
}

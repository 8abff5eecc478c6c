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

/** A group's offsets as read from the store, with the version they were read at. */
export interface StoredOffsets {
  offsets: GroupOffsets
  version: number
}

type StoredOffset = [string, number, string, number, string, number, number | null]

function encodeGroup(offsets: GroupOffsets): Buffer {
  const list: StoredOffset[] = []
  for (const [topic, ps] of offsets) {
    for (const [p, o] of ps) {
      list.push([topic, p, o.offset.toString(), o.leaderEpoch, o.metadata, o.commitTimestamp, o.expireTimestamp])
    }
  }
  return Buffer.from(JSON.stringify(list))
}

function decodeGroup(b: Buffer): GroupOffsets {
  const out: GroupOffsets = new Map()
  for (const [topic, p, offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp] of JSON.parse(
    b.toString(),
  ) as StoredOffset[]) {
    setIn(out, topic, p, { offset: BigInt(offset), leaderEpoch, metadata, commitTimestamp, expireTimestamp })
  }
  return out
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

/** A change to a group's offsets waiting for the group's next write. */
interface PendingChange {
  apply(offsets: GroupOffsets): void
  done(written: boolean): void
}

/** Committed offsets by group, topic and partition. */
export class OffsetStore {
  readonly #kv: KeyValueStore
  readonly #writable: (group: string) => boolean
  readonly #groups = new Map<string, GroupOffsets>()
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
    return { offsets: value === undefined ? new Map() : decodeGroup(value), version }
  }

  /** Makes what `read` returned the group's offsets in memory. */
  install(group: string, stored: StoredOffsets): void {
    this.#renew(group)
    if (stored.offsets.size > 0) this.#groups.set(group, stored.offsets)
    else this.#groups.delete(group)
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

  /** Groups that have at least one committed offset. */
  groupIds(): string[] {
    return [...this.#groups.keys()]
  }

  has(group: string): boolean {
    return this.#groups.has(group)
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#groups.get(group)?.get(topic)?.get(partition)
  }

  /** Every committed offset of a group, by topic. */
  all(group: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> {
    return this.#groups.get(group) ?? new Map()
  }

  /**
   * Commits offsets atomically: true once all of them are durable; false if the write was refused
   * (another coordinator wrote the group's offsets since they were read, or this one lost it).
   */
  commit(group: string, offsets: OffsetToCommit[]): Promise<boolean> {
    if (offsets.length === 0) return Promise.resolve(true)
    return this.#change(group, (g) => {
      for (const { topic, partition, ...committed } of offsets) setIn(g, topic, partition, committed)
    })
  }

  /** Removes the listed offsets (or, with no list, every offset of the group); false if refused. */
  delete(group: string, which?: { topic: string; partition: number }[]): Promise<boolean> {
    const g = this.#groups.get(group)
    if (g === undefined || (which !== undefined && !which.some((w) => g.get(w.topic)?.has(w.partition)))) {
      return Promise.resolve(true)
    }
    return this.#change(group, (offsets) => {
      if (which === undefined) offsets.clear()
      for (const { topic, partition } of which ?? []) {
        const t = offsets.get(topic)
        t?.delete(partition)
        if (t?.size === 0) offsets.delete(topic)
      }
    })
  }

  #change(group: string, apply: (offsets: GroupOffsets) => void): Promise<boolean> {
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
      const next = copyOf(this.#groups.get(group))
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
        if (next.size > 0) this.#groups.set(group, next)
        else this.#groups.delete(group)
      }
      // Written is written, even for a group dropped meanwhile: its new coordinator reads it.
      for (const c of changes) c.done(version !== null)
    }
  }

  /** One compare-and-set of the group's record: its new version, or null when another write came first. */
  async #put(group: string, offsets: GroupOffsets): Promise<number | null> {
    let expected = this.#versions.get(group)
    if (expected === undefined) {
      // A group this coordinator created: the key may only be absent (or deleted).
      const stored = await this.#kv.getVersioned(OFFSETS_NAMESPACE, group)
      if (stored.value !== undefined) return null
      expected = stored.version
    }
    return this.#kv.putIfVersion(OFFSETS_NAMESPACE, group, expected, offsets.size > 0 ? encodeGroup(offsets) : null)
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
          encodeGroup(stored.offsets),
        )
        if (written !== null) break
        if (attempt >= 5) throw new Error(`moving the committed offsets of group ${group} kept conflicting`)
      }
      await this.#kv.put(LEGACY_OFFSETS_NAMESPACE, new Map([...entries.keys()].map((k) => [k, null])))
    }
  }
}

/**
 * Committed offsets of every group, kept in memory and written through to the storage's
 * durable key-value store (namespace `group-offsets`, one key per group/topic/partition), so
 * they survive restarts and kill -9 on the local engine and live in the database on PostgreSQL.
 */
import type { KeyValueStore } from '../../storage/types.ts'

/** The key-value namespace holding committed offsets. */
export const OFFSETS_NAMESPACE = 'group-offsets'

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

function key(group: string, topic: string, partition: number): string {
  return JSON.stringify([group, topic, partition])
}

function encode(o: CommittedOffset): Buffer {
  return Buffer.from(
    JSON.stringify({
      o: o.offset.toString(),
      e: o.leaderEpoch,
      m: o.metadata,
      t: o.commitTimestamp,
      x: o.expireTimestamp,
    }),
  )
}

function decode(b: Buffer): CommittedOffset {
  const v = JSON.parse(b.toString()) as { o: string; e: number; m: string; t: number; x: number | null }
  return { offset: BigInt(v.o), leaderEpoch: v.e, metadata: v.m, commitTimestamp: v.t, expireTimestamp: v.x }
}

/** Committed offsets by group, topic and partition. */
export class OffsetStore {
  readonly #kv: KeyValueStore
  readonly #groups = new Map<string, GroupOffsets>()

  constructor(kv: KeyValueStore) {
    this.#kv = kv
  }

  /** Reads every committed offset back from storage. */
  async load(): Promise<void> {
    this.#groups.clear()
    for (const [k, v] of await this.#kv.list(OFFSETS_NAMESPACE)) {
      const [group, topic, partition] = JSON.parse(k) as [string, string, number]
      this.#set(group, topic, partition, decode(v))
    }
  }

  #set(group: string, topic: string, partition: number, o: CommittedOffset): void {
    let g = this.#groups.get(group)
    if (g === undefined) {
      g = new Map()
      this.#groups.set(group, g)
    }
    let t = g.get(topic)
    if (t === undefined) {
      t = new Map()
      g.set(topic, t)
    }
    t.set(partition, o)
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

  /** Commits offsets atomically: all of them are durable when the promise resolves. */
  async commit(group: string, offsets: OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return
    const entries = new Map<string, Buffer | null>()
    for (const o of offsets) entries.set(key(group, o.topic, o.partition), encode(o))
    await this.#kv.put(OFFSETS_NAMESPACE, entries)
    for (const o of offsets) {
      const { topic, partition, ...committed } = o
      this.#set(group, topic, partition, committed)
    }
  }

  /** Removes the listed offsets (or, with no list, every offset of the group). */
  async delete(group: string, which?: { topic: string; partition: number }[]): Promise<void> {
    const g = this.#groups.get(group)
    if (g === undefined) return
    const list = which ?? [...g].flatMap(([topic, ps]) => [...ps.keys()].map((partition) => ({ topic, partition })))
    const entries = new Map<string, Buffer | null>()
    for (const { topic, partition } of list) {
      if (g.get(topic)?.has(partition)) entries.set(key(group, topic, partition), null)
    }
    if (entries.size === 0) return
    await this.#kv.put(OFFSETS_NAMESPACE, entries)
    for (const { topic, partition } of list) {
      const t = g.get(topic)
      t?.delete(partition)
      if (t?.size === 0) g.delete(topic)
    }
    if (g.size === 0) this.#groups.delete(group)
  }

  /** Removes every group's offsets of a topic (the topic was deleted). */
  async deleteTopic(topic: string): Promise<void> {
    for (const [group, g] of this.#groups) {
      const ps = g.get(topic)
      if (ps)
        await this.delete(
          group,
          [...ps.keys()].map((partition) => ({ topic, partition })),
        )
    }
  }
}

/**
 * The share partitions this broker leads (KIP-932's partition-leader side, Kafka's
 * SharePartitionManager with its persister): one SharePartition per group and topic-partition,
 * loaded from the storage engine's key-value store on first use or initialized at the start
 * offset `share.auto.offset.reset` names, acquisition locks that release records when they
 * expire, and every state change written back durably.
 *
 * State lives in the namespace `share-state`, one JSON record per share partition (start
 * offset, end offset, runs of record states with delivery counts, state epoch), each write a
 * compare-and-set over the version last read or written: a write that finds another version
 * (another broker took the partition over) drops the partition from memory, to be read again.
 * Writes of one partition go out in order and coalesce: a write not yet started carries every
 * change made until it starts. Acknowledgements are answered once their write is durable;
 * acquisitions are written without waiting (after a crash their delivery count may be one low).
 * A read_committed group (share.isolation.level) reads the log as a read_committed consumer
 * would (isolated-read.ts): nothing at or past the last stable offset is acquired, and records of
 * aborted transactions are archived as they are reached, so the start offset moves past them.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import { lastOffsetOf, readBatchHeader } from '../../protocol/records/batch-header.ts'
import { RecordsError } from '../../protocol/records/errors.ts'
import type { KeyValueStore, Storage } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import { type Clock, systemClock } from '../clock.ts'
import { GroupTimers } from '../group/timers.ts'
import { type IsolatedRead, type IsolatedReadOptions, inAbortedTransaction } from '../producer/isolated-read.ts'
import type { AbortedTxn } from '../producer/partition-state.ts'
import { byDurationMs, type ShareSettings } from './share-configs.ts'
import {
  type AckBatch,
  type AcquiredRange,
  type LogBatch,
  SharePartition,
  type SharePartitionState,
} from './share-partition.ts'

/** The key-value namespace of share-partition state. */
export const SHARE_STATE_NAMESPACE = 'share-state'

export interface SharePartitionsDeps {
  kv: KeyValueStore
  storage: Pick<Storage, 'offsets' | 'offsetForTimestamp'>
  /** Reads a partition at an isolation level (the producer state's read, isolated-read.ts). */
  read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    options: IsolatedReadOptions,
  ): Promise<IsolatedRead>
  /** A group's resolved settings (share.* group configs over the broker's defaults). */
  settings(groupId: string): ShareSettings
  /** Records became available in a partition: wakes share fetches waiting on it. */
  notify(topic: string, partition: number): void
  clock?: Clock
  log: Log
}

/** Names one share partition: the group and the topic by id (state outlives a topic's name). */
export interface SharePartitionKey {
  groupId: string
  topicId: string
  topic: string
  partition: number
}

interface Held {
  readonly key: SharePartitionKey
  readonly sp: SharePartition
  /** Version of the stored record this broker last read or wrote. */
  version: number
  /** The queued write that has not started yet: it will carry every change made meanwhile. */
  pending: Promise<boolean> | undefined
  tail: Promise<unknown>
  readonly timers: GroupTimers
  dropped: boolean
}

export interface Acquisition {
  errorCode: number
  records: Buffer
  ranges: AcquiredRange[]
}

function storeKey(k: { groupId: string; topicId: string; partition: number }): string {
  // Topic ids and partition numbers hold no ':', so the group id may hold anything.
  return `${k.topicId}:${k.partition}:${k.groupId}`
}

export class SharePartitions {
  readonly #deps: SharePartitionsDeps
  readonly #held = new Map<string, Promise<Held>>()
  readonly #clock: Clock
  #nextLockId = 1
  #closed = false

  constructor(deps: SharePartitionsDeps) {
    this.#deps = deps
    this.#clock = deps.clock ?? systemClock
  }

  /** The partition held in memory, read from storage or initialized first. */
  #get(key: SharePartitionKey): Promise<Held> {
    const k = storeKey(key)
    let held = this.#held.get(k)
    if (held === undefined) {
      held = this.#load(key)
      this.#held.set(k, held)
      held.catch(() => this.#held.delete(k))
    }
    return held
  }

  async #load(key: SharePartitionKey): Promise<Held> {
    const stored = await this.#deps.kv.getVersioned(SHARE_STATE_NAMESPACE, storeKey(key))
    const make = (sp: SharePartition, version: number): Held => ({
      key,
      sp,
      version,
      pending: undefined,
      tail: Promise.resolve(),
      timers: new GroupTimers(this.#clock),
      dropped: false,
    })
    if (stored.value !== undefined) {
      const state = JSON.parse(stored.value.toString()) as SharePartitionState
      return make(SharePartition.fromState(state), stored.version)
    }
    // First use: the start offset is fixed now and made durable, so a restart does not move it.
    const held = make(new SharePartition(await this.#initialOffset(key)), stored.version)
    if (!(await this.#persist(held)))
      throw new Error(`share partition ${storeKey(key)} was initialized by another broker`)
    return held
  }

  /** Where a group starts reading a partition it never read: share.auto.offset.reset. */
  async #initialOffset(key: SharePartitionKey): Promise<number> {
    const offsets = await this.#deps.storage.offsets(key.topic, key.partition)
    const reset = this.#deps.settings(key.groupId).autoOffsetReset
    if (reset === 'earliest') return offsets.logStartOffset
    const ms = byDurationMs(reset)
    if (ms === undefined) return offsets.highWatermark
    const found = await this.#deps.storage.offsetForTimestamp(key.topic, key.partition, this.#clock.now() - ms)
    return found?.offset ?? offsets.highWatermark
  }

  /** Writes a partition's state after its earlier writes; false if the write was refused or failed. */
  #persist(h: Held): Promise<boolean> {
    if (h.pending !== undefined) return h.pending
    const write = h.tail.then(async () => {
      h.pending = undefined
      if (h.dropped) return false
      const value = Buffer.from(JSON.stringify(h.sp.toState()))
      try {
        const version = await this.#deps.kv.putIfVersion(SHARE_STATE_NAMESPACE, storeKey(h.key), h.version, value)
        if (version !== null) {
          h.version = version
          return true
        }
        this.#deps.log.warn({ ...h.key }, 'share partition state was written elsewhere; reading it again')
      } catch (err) {
        this.#deps.log.error({ err, ...h.key }, 'writing share partition state failed')
      }
      this.#drop(h)
      return false
    })
    h.pending = write
    h.tail = write
    return write
  }

  #drop(h: Held): void {
    h.dropped = true
    h.timers.close()
    const k = storeKey(h.key)
    void this.#held.get(k)?.then((current) => {
      if (current === h) this.#held.delete(k)
    })
  }

  /**
   * Acquires records of one partition for a member: available ones first, then new ones, up to
   * `maxRecords` and about `maxBytes` (one batch at least), each under a lock of the group's
   * record lock duration.
   */
  async acquire(
    key: SharePartitionKey,
    memberId: string,
    limits: { maxBytes: number; maxRecords: number; strict: boolean },
  ): Promise<Acquisition> {
    const h = await this.#get(key)
    const settings = this.#deps.settings(key.groupId)
    const none = (errorCode: number): Acquisition => ({ errorCode, records: Buffer.alloc(0), ranges: [] })
    let truncated = false
    for (;;) {
      if (h.dropped || this.#closed) return none(ErrorCode.NOT_LEADER_OR_FOLLOWER)
      if (h.sp.full(settings.maxInFlight)) return none(ErrorCode.NONE)
      const from = h.sp.nextFetchOffset()
      const read = await this.#deps.read(key.topic, key.partition, from, limits.maxBytes, {
        minOneBatch: true,
        readCommitted: settings.readCommitted,
      })
      if (read.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && from < read.offsets.logStartOffset && !truncated) {
        // Retention or DeleteRecords removed records before they were delivered: skip them.
        h.sp.truncateTo(read.offsets.logStartOffset)
        void this.#persist(h)
        truncated = true
        continue
      }
      // Past the high watermark (a partition that lost its tail): nothing to acquire yet.
      if (read.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) return none(ErrorCode.NONE)
      if (read.errorCode !== ErrorCode.NONE) return none(read.errorCode)
      const batches = splitBatches(read.records, read.abortedTransactions ?? [])
      if (batches.length === 0) return none(ErrorCode.NONE)
      const lockId = this.#nextLockId++
      const { ranges, used } = h.sp.acquire(batches, { memberId, ...limits, maxInFlight: settings.maxInFlight, lockId })
      if (ranges.length > 0) {
        this.#lock(h, ranges, lockId, settings)
        void this.#persist(h)
        const records = Buffer.concat(used.map((i) => (batches[i] as SplitBatch).bytes))
        return { errorCode: ErrorCode.NONE, records, ranges }
      }
      if (!batches.some((b) => b.isControl || b.aborted)) return none(ErrorCode.NONE)
      void this.#persist(h)
      // Only markers and aborted records were read: read on past them rather than wait for appends.
      if (h.sp.nextFetchOffset() <= from) return none(ErrorCode.NONE)
    }
  }

  /** Arms the lock of acquired records: when it expires, those it still holds become available. */
  #lock(h: Held, ranges: readonly AcquiredRange[], lockId: number, settings: ShareSettings): void {
    const offsets: number[] = []
    for (const r of ranges) for (let o = r.firstOffset; o <= r.lastOffset; o++) offsets.push(o)
    this.#lockOffsets(h, offsets, lockId, settings)
  }

  #lockOffsets(h: Held, offsets: number[], lockId: number, settings: ShareSettings): void {
    h.timers.set(`lock:${lockId}`, settings.recordLockDurationMs, () => {
      const limit = this.#deps.settings(h.key.groupId).deliveryCountLimit
      if (h.sp.expire(offsets, lockId, limit) === 0) return
      void this.#persist(h)
      this.#deps.notify(h.key.topic, h.key.partition)
    })
  }

  /**
   * Applies a member's acknowledgements to one partition: INVALID_RECORD_STATE (nothing
   * applied) when a record is not acquired by it, else NONE once the new state is durable.
   */
  async acknowledge(key: SharePartitionKey, memberId: string, batches: readonly AckBatch[]): Promise<number> {
    const h = await this.#get(key)
    if (h.dropped || this.#closed) return ErrorCode.NOT_LEADER_OR_FOLLOWER
    if (!h.sp.canAcknowledge(memberId, batches)) return ErrorCode.INVALID_RECORD_STATE
    const settings = this.#deps.settings(key.groupId)
    const lockId = this.#nextLockId++
    const { renewed } = h.sp.acknowledge(memberId, batches, settings.deliveryCountLimit, lockId)
    if (renewed.length > 0) this.#lockOffsets(h, renewed, lockId, settings)
    const written = await this.#persist(h)
    this.#deps.notify(key.topic, key.partition)
    return written ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER
  }

  /** Releases what a member holds in these partitions (its share session ended), durably. */
  async releaseMember(keys: readonly SharePartitionKey[], memberId: string): Promise<void> {
    await Promise.all(
      keys.map(async (key) => {
        const h = await this.#held.get(storeKey(key))?.catch(() => undefined)
        if (h === undefined || h.dropped) return
        if (h.sp.releaseMember(memberId, this.#deps.settings(key.groupId).deliveryCountLimit) === 0) return
        await this.#persist(h)
        this.#deps.notify(key.topic, key.partition)
      }),
    )
  }

  /**
   * Where a group stands in a partition (DescribeShareGroupOffsets): its start offset and how many
   * records past it are done (acknowledged or archived), from memory or storage; undefined when
   * the group never read the partition.
   */
  async summary(key: Omit<SharePartitionKey, 'topic'>): Promise<{ startOffset: number; done: number } | undefined> {
    const held = await this.#held.get(storeKey(key))?.catch(() => undefined)
    if (held !== undefined && !held.dropped) {
      const c = held.sp.counts()
      return { startOffset: held.sp.startOffset, done: c.acknowledged + c.archived }
    }
    const stored = await this.#deps.kv.get(SHARE_STATE_NAMESPACE, storeKey(key))
    if (stored === undefined) return undefined
    const state = JSON.parse(stored.toString()) as SharePartitionState
    const done = state.batches.filter((b) => b[2] !== 0).reduce((n, b) => n + b[1] - b[0] + 1, 0)
    return { startOffset: state.startOffset, done }
  }

  /** The partitions a group has state for (read at least once), by topic id. */
  async groupPartitions(groupId: string): Promise<{ topicId: string; partition: number }[]> {
    const out: { topicId: string; partition: number }[] = []
    for (const k of (await this.#deps.kv.list(SHARE_STATE_NAMESPACE)).keys()) {
      const [topicId, partition, ...rest] = k.split(':')
      if (rest.join(':') === groupId) out.push({ topicId: topicId as string, partition: Number(partition) })
    }
    return out
  }

  /**
   * Moves a group's start offset in a partition (AlterShareGroupOffsets, on an empty group):
   * every in-flight record is forgotten and the state epoch goes up. False if the write failed.
   */
  async reset(key: SharePartitionKey, offset: number): Promise<boolean> {
    const h = await this.#get(key)
    if (h.dropped) return false
    h.timers.clearAll()
    h.sp.reset(offset)
    const written = await this.#persist(h)
    this.#deps.notify(key.topic, key.partition)
    return written
  }

  /**
   * Forgets the state of a group's partitions (DeleteGroups, DeleteShareGroupOffsets), or of
   * every partition of the group when `topicIds` is undefined.
   */
  async deleteGroupState(groupId: string, topicIds?: ReadonlySet<string>): Promise<void> {
    const stored = await this.#deps.kv.list(SHARE_STATE_NAMESPACE)
    const gone = new Map<string, null>()
    for (const k of stored.keys()) {
      const [topicId, , ...rest] = k.split(':')
      if (rest.join(':') !== groupId || (topicIds !== undefined && !topicIds.has(topicId as string))) continue
      gone.set(k, null)
    }
    for (const k of gone.keys()) {
      const h = await this.#held.get(k)?.catch(() => undefined)
      if (h !== undefined) this.#drop(h)
      this.#held.delete(k)
    }
    if (gone.size > 0) await this.#deps.kv.put(SHARE_STATE_NAMESPACE, gone)
  }

  /**
   * A topic was deleted: the share partitions held for it leave memory (their locks stop) and
   * their stored state goes. State of the topic stored by groups never read here stays, under the
   * deleted topic's id, which no topic will have again.
   */
  async forgetTopic(topic: string): Promise<void> {
    const gone = new Map<string, null>()
    for (const [k, pending] of [...this.#held]) {
      const h = await pending.catch(() => undefined)
      if (h === undefined || h.key.topic !== topic) continue
      this.#drop(h)
      this.#held.delete(k)
      gone.set(k, null)
    }
    if (gone.size > 0) await this.#deps.kv.put(SHARE_STATE_NAMESPACE, gone)
  }

  /** Stops every lock timer and waits for the writes under way. */
  async close(): Promise<void> {
    this.#closed = true
    const held = await Promise.all([...this.#held.values()].map((p) => p.catch(() => undefined)))
    for (const h of held) h?.timers.close()
    await Promise.all(held.map((h) => h?.tail))
  }
}

interface SplitBatch extends LogBatch {
  bytes: Buffer
}

/** The batches of stored log bytes, by their headers alone; those of `aborted` transactions marked. */
function splitBatches(buf: Buffer, aborted: readonly AbortedTxn[]): SplitBatch[] {
  const out: SplitBatch[] = []
  let pos = 0
  while (pos < buf.length) {
    const info = readBatchHeader(buf, pos)
    if (info instanceof RecordsError || info.size > buf.length - pos) break
    out.push({
      baseOffset: info.baseOffset,
      lastOffset: lastOffsetOf(info),
      isControl: info.isControl,
      aborted: aborted.length > 0 && inAbortedTransaction(info, aborted),
      bytes: buf.subarray(pos, pos + info.size),
    })
    pos += info.size
  }
  return out
}

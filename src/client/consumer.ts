/**
 * A consumer: manual assignment (assign/seek) or group subscription, fetching from each
 * partition's leader with an incremental fetch session per broker, offsets reset by
 * `autoOffsetReset` when missing or out of range, and commits to the group coordinator.
 */
import type { FetchResponse } from '../protocol/generated/fetch.ts'
import { ApiKey } from '../protocol/generated/index.ts'
import type { Cluster } from './cluster.ts'
import { ClientError, isRetriable, KafkaError } from './errors.ts'
import { type ConsumerRecord, decodeFetched } from './fetch-records.ts'
import { FetchSession, type FetchTarget } from './fetch-session.ts'
import { GroupMembership } from './group/membership.ts'
import {
  commitOffsets,
  EARLIEST,
  fetchCommitted,
  LATEST,
  listOffsets,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from './offsets.ts'

export type { ConsumerRecord } from './fetch-records.ts'

/** Consumer settings (Kafka's names in camelCase). */
export interface ConsumerOptions {
  /** Join this group when subscribing; needed for commits. */
  groupId?: string
  /** Where to start without a committed offset, or when out of range (default latest). */
  autoOffsetReset?: 'earliest' | 'latest' | 'none'
  maxWaitMs?: number
  minBytes?: number
  maxBytes?: number
  partitionMaxBytes?: number
  /** 0 read_uncommitted (default), 1 read_committed. */
  isolationLevel?: number
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** Assignor names by preference (default cooperative-sticky, range). */
  assignors?: string[]
  /** Commit consumed positions on revocation and close (default true with a group). */
  autoCommit?: boolean
}

/** Where to start a partition: an offset, the log start or the log end. */
export type StartOffset = bigint | 'earliest' | 'latest'

interface PartitionState {
  topic: string
  partition: number
  /** Next offset to fetch; undefined until resolved. */
  position: bigint | undefined
  start: StartOffset | undefined
  highWatermark: bigint
  logStartOffset: bigint
}

const OFFSET_OUT_OF_RANGE = 1

/** Reads records from a cluster. */
export class Consumer {
  readonly #cluster: Cluster
  readonly #opts: ConsumerOptions
  readonly #partitions = new Map<string, PartitionState>()
  readonly #sessions = new Map<number, FetchSession>()
  #membership: GroupMembership | undefined
  #closed = false

  constructor(cluster: Cluster, options: ConsumerOptions = {}) {
    this.#cluster = cluster
    this.#opts = options
  }

  /** Consumes exactly these partitions (no group membership), from `offset` or the reset policy. */
  assign(partitions: readonly (TopicPartition & { offset?: StartOffset })[]): void {
    if (this.#membership)
      throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', 'cannot assign while subscribed to a group')
    this.#partitions.clear()
    for (const p of partitions) this.#add(p.topic, p.partition, p.offset)
  }

  #add(topic: string, partition: number, start: StartOffset | undefined): void {
    this.#partitions.set(tpKey(topic, partition), {
      topic,
      partition,
      position: typeof start === 'bigint' ? start : undefined,
      start,
      highWatermark: -1n,
      logStartOffset: -1n,
    })
  }

  /** Joins the group and consumes the partitions it assigns. */
  subscribe(topics: string[]): void {
    const groupId = this.#opts.groupId
    if (!groupId) throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', 'subscribe needs a groupId')
    this.#membership = new GroupMembership(this.#cluster, {
      groupId,
      topics,
      sessionTimeoutMs: this.#opts.sessionTimeoutMs,
      rebalanceTimeoutMs: this.#opts.rebalanceTimeoutMs,
      heartbeatIntervalMs: this.#opts.heartbeatIntervalMs,
      assignors: this.#opts.assignors,
      onAssigned: async (tps) => {
        for (const tp of tps) this.#add(tp.topic, tp.partition, undefined)
        await this.#resolveCommitted(tps)
      },
      onRevoked: async (tps) => {
        if (this.#opts.autoCommit !== false) await this.#commitPartitions(tps).catch(() => undefined)
        for (const tp of tps) this.#partitions.delete(tpKey(tp.topic, tp.partition))
      },
    })
  }

  /** The group membership, when subscribed. */
  get membership(): GroupMembership | undefined {
    return this.#membership
  }

  /** Partitions currently consumed. */
  assignment(): TopicPartition[] {
    return [...this.#partitions.values()].map((p) => ({ topic: p.topic, partition: p.partition }))
  }

  /** Moves a partition's position. */
  seek(topic: string, partition: number, offset: StartOffset): void {
    const p = this.#partitions.get(tpKey(topic, partition))
    if (!p) throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', `${topic}/${partition} is not assigned`)
    p.start = offset
    p.position = typeof offset === 'bigint' ? offset : undefined
  }

  /** Next offset to fetch of a partition (after resolving its start). */
  position(topic: string, partition: number): bigint | undefined {
    return this.#partitions.get(tpKey(topic, partition))?.position
  }

  /** High watermark seen in the last fetch of a partition (-1n before any). */
  highWatermark(topic: string, partition: number): bigint {
    return this.#partitions.get(tpKey(topic, partition))?.highWatermark ?? -1n
  }

  /** Resolves every partition's start to an offset (ListOffsets) if not done yet. */
  async resolvePositions(): Promise<void> {
    const pending = [...this.#partitions.values()].filter((p) => p.position === undefined)
    if (pending.length === 0) return
    const byStart = new Map<bigint, PartitionState[]>()
    for (const p of pending) {
      const start = p.start ?? this.#opts.autoOffsetReset ?? 'latest'
      if (start === 'none')
        throw new KafkaError(
          OFFSET_OUT_OF_RANGE,
          'no committed offset and autoOffsetReset is none',
          tpKey(p.topic, p.partition),
        )
      const ts = start === 'earliest' ? EARLIEST : LATEST
      byStart.set(ts, [...(byStart.get(ts) ?? []), p])
    }
    for (const [ts, list] of byStart) {
      const offsets = await listOffsets(this.#cluster, list, ts)
      for (const p of list) p.position = offsets.get(tpKey(p.topic, p.partition))
    }
  }

  async #resolveCommitted(tps: TopicPartition[]): Promise<void> {
    const groupId = this.#opts.groupId as string
    const committed = await fetchCommitted(this.#cluster, groupId, tps)
    for (const c of committed) {
      const p = this.#partitions.get(tpKey(c.topic, c.partition))
      if (p && c.offset >= 0n) p.position = c.offset
    }
  }

  /**
   * One fetch round: joins/rejoins the group if needed, then fetches every assigned partition
   * from its leader (brokers in parallel) and returns the records, positions advanced past them.
   */
  async poll(): Promise<ConsumerRecord[]> {
    if (this.#closed) throw new ClientError('SAMSA_ERR_CLOSED', 'consumer is closed')
    if (this.#membership) await this.#membership.ensureActive()
    await this.resolvePositions()
    const byLeader = new Map<number, PartitionState[]>()
    for (const p of this.#partitions.values()) {
      if (p.position === undefined) continue
      let leader: number
      try {
        leader = await this.#cluster.leader(p.topic, p.partition)
      } catch (err) {
        if (!isRetriable(err)) throw err
        await this.#cluster.refreshMetadata([p.topic]).catch(() => undefined)
        continue
      }
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p])
    }
    if (byLeader.size === 0) {
      await new Promise((r) => setTimeout(r, Math.min(this.#opts.maxWaitMs ?? 500, 100)))
      return []
    }
    const results = await Promise.all([...byLeader].map(([node, parts]) => this.#fetchFrom(node, parts)))
    return results.flat()
  }

  async #fetchFrom(node: number, parts: PartitionState[]): Promise<ConsumerRecord[]> {
    let session = this.#sessions.get(node)
    if (!session) {
      session = new FetchSession()
      this.#sessions.set(node, session)
    }
    const targets: FetchTarget[] = parts.map((p) => ({
      topic: p.topic,
      topicId: this.#cluster.topics.get(p.topic)?.id ?? '',
      partition: p.partition,
      offset: p.position as bigint,
      maxBytes: this.#opts.partitionMaxBytes ?? 1_048_576,
    }))
    const maxWaitMs = this.#opts.maxWaitMs ?? 500
    let res: FetchResponse
    let version: number
    try {
      const conn = await this.#cluster.connection(node)
      version = conn.version(ApiKey.Fetch)
      // Topic ids are needed from v13 on; fall back to names if metadata had none.
      if (version >= 13 && targets.some((t) => /^[0-]*$/.test(t.topicId))) version = 12
      const request = session.build(version, targets, {
        maxWaitMs,
        minBytes: this.#opts.minBytes ?? 1,
        maxBytes: this.#opts.maxBytes ?? 52_428_800,
        isolationLevel: this.#opts.isolationLevel ?? 0,
      })
      res = await conn.sendVersion<FetchResponse>(ApiKey.Fetch, version, request, { timeoutMs: maxWaitMs + 30_000 })
    } catch (err) {
      session.reset()
      if (isRetriable(err)) {
        await this.#cluster.refreshMetadata(parts.map((p) => p.topic)).catch(() => undefined)
        return []
      }
      throw err
    }
    session.onResponse(version, res.errorCode, res.sessionId)
    if (res.errorCode !== 0) {
      if (isRetriable(new KafkaError(res.errorCode)) || res.errorCode === 70 || res.errorCode === 71) return []
      throw new KafkaError(res.errorCode, null, 'fetch')
    }
    const out: ConsumerRecord[] = []
    for (const t of res.responses) {
      const topic = version >= 13 ? this.#cluster.topicName(t.topicId) : t.topic
      if (topic === undefined) continue
      for (const pd of t.partitions) {
        const state = this.#partitions.get(tpKey(topic, pd.partitionIndex))
        if (!state || state.position === undefined) continue
        if (pd.errorCode === OFFSET_OUT_OF_RANGE) {
          const reset = this.#opts.autoOffsetReset ?? 'latest'
          if (reset === 'none') throw new KafkaError(OFFSET_OUT_OF_RANGE, null, tpKey(topic, pd.partitionIndex))
          state.position = undefined
          state.start = reset
          session.reset()
          continue
        }
        if (pd.errorCode !== 0) {
          const err = new KafkaError(pd.errorCode, null, tpKey(topic, pd.partitionIndex))
          if (!err.retriable) throw err
          session.reset()
          await this.#cluster.refreshMetadata([topic]).catch(() => undefined)
          continue
        }
        state.highWatermark = pd.highWatermark
        state.logStartOffset = pd.logStartOffset
        const aborted = this.#opts.isolationLevel === 1 ? pd.abortedTransactions : null
        const { records, nextOffset } = await decodeFetched(
          topic,
          pd.partitionIndex,
          pd.records,
          state.position,
          aborted,
        )
        state.position = nextOffset
        for (const r of records) out.push(r)
      }
    }
    return out
  }

  /** Commits the given offsets, or every partition's position, for the group. */
  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    const groupId = this.#opts.groupId
    if (!groupId) throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', 'commit needs a groupId')
    const list =
      offsets ??
      [...this.#partitions.values()]
        .filter((p) => p.position !== undefined)
        .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.position as bigint }))
    const m = this.#membership
    try {
      await commitOffsets(this.#cluster, groupId, list, m ? { generationId: m.generationId, memberId: m.memberId } : {})
    } catch (err) {
      if (err instanceof KafkaError && m && (err.code === 27 || err.code === 22 || err.code === 25)) m.requestRejoin()
      throw err
    }
  }

  async #commitPartitions(tps: TopicPartition[]): Promise<void> {
    const offsets: TopicPartitionOffset[] = []
    for (const tp of tps) {
      const p = this.#partitions.get(tpKey(tp.topic, tp.partition))
      if (p?.position !== undefined) offsets.push({ topic: tp.topic, partition: tp.partition, offset: p.position })
    }
    if (offsets.length > 0) await this.commit(offsets)
  }

  /** Commits (with a group and autoCommit), leaves the group and stops. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#membership) await this.#membership.leave()
  }
}

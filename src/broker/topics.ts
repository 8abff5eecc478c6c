import { randomUUID } from 'node:crypto'
import { type LogConfig, resolveLogConfig } from '../config/topic-configs.ts'
import { CHANGE_MARKER, ChangeMarker } from '../storage/change-marker.ts'
import type { Storage, TopicMetadata } from '../storage/types.ts'
import { createLog, type Log } from '../util/logger.ts'
import { appendMetadataRecord } from './metadata-log.ts'

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/
const MAX_NAME_LENGTH = 249

/** Why a topic name is invalid (Kafka's Topic.validate rules), or undefined when it is valid. */
export function invalidTopicName(name: string): string | undefined {
  if (name.length === 0) return "Topic name is illegal, it can't be empty"
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."'
  if (name.length > MAX_NAME_LENGTH)
    return `Topic name is illegal, it can't be longer than ${MAX_NAME_LENGTH} characters`
  if (!LEGAL_NAME.test(name))
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`
  return undefined
}

/** Key-value namespace of the topics' replica settings. */
const REPLICAS_NAMESPACE = 'topic-replicas'

/**
 * A topic's replicas as clients see them: the replication factor it was created with and, when
 * CreateTopics named them, every partition's replica list (the first replica the preferred leader).
 */
export interface TopicReplicas {
  replicationFactor: number
  /** Replica lists as named; null for a partition placed by the cluster's spread. */
  assignments?: (number[] | null)[]
}

/** What changed about a topic, for the parts of the broker that keep per-topic state. */
export interface TopicChange {
  /** `replicas`: a partition reassignment changed replica lists (and so, maybe, leaders). */
  kind: 'created' | 'deleted' | 'partitions' | 'replicas'
  name: string
}

export type TopicChangeListener = (change: TopicChange) => void | Promise<void>

/**
 * The broker's view of its topics: loaded from storage at start, kept in memory so the produce
 * and fetch paths look topics up synchronously, and written through to storage on change.
 */
export class TopicRegistry {
  readonly #storage: Storage
  readonly #brokerDefaults: () => Record<string, string>
  readonly #byName = new Map<string, TopicMetadata>()
  readonly #byId = new Map<string, TopicMetadata>()
  readonly #logConfigs = new Map<string, LogConfig>()
  /** Each partition's stored leader epoch as read when the topic was loaded or created. */
  readonly #leaderEpochs = new Map<string, number[]>()
  /** Higher epochs storage announced since (storage.onLeaderEpoch): claims, here or by other brokers. */
  readonly #announcedEpochs = new Map<string, number[]>()
  /** Replication factor and explicit replica lists per topic, kept in the key-value store. */
  readonly #replicas = new Map<string, TopicReplicas>()
  /** Creations in progress, so concurrent auto-creations of one topic create it once. */
  readonly #creating = new Map<string, Promise<TopicMetadata>>()
  readonly #listeners: TopicChangeListener[] = []
  /**
   * Bumped with each reassignment, which changes no topic row and so sends no topic notice: the
   * other brokers sharing the store poll it to read the replica lists again.
   */
  readonly #replicaChanges: ChangeMarker
  readonly #log: Log

  /** Topics this registry is changing itself: their notifications are its own, already applied. */
  readonly #changing = new Map<string, number>()
  /** Refreshes after notifications, one at a time so they apply in order. */
  #refreshing: Promise<void> = Promise.resolve()

  constructor(storage: Storage, brokerDefaults: () => Record<string, string>, log: Log = createLog('silent')) {
    this.#storage = storage
    this.#brokerDefaults = brokerDefaults
    this.#log = log
    this.#replicaChanges = new ChangeMarker(storage.kv, REPLICAS_NAMESPACE)
    storage.onLeaderEpoch((name, partition, epoch) => {
      let epochs = this.#announcedEpochs.get(name)
      if (epochs === undefined) {
        epochs = []
        this.#announcedEpochs.set(name, epochs)
      }
      if (epoch > (epochs[partition] ?? 0)) epochs[partition] = epoch
    })
    storage.onMetadataChange((name) => {
      if (this.#changing.has(name)) return
      this.#refreshing = this.#refreshing.then(() => this.#refresh(name)).catch(() => {})
    })
  }

  /** Resolves once the notifications received so far are applied (tests, and callers that must see them). */
  settled(): Promise<void> {
    return this.#refreshing
  }

  /**
   * A topic changed in storage by someone else (another broker sharing it): re-reads it and
   * brings this registry's view and its listeners up to date.
   */
  async #refresh(name: string): Promise<void> {
    await this.#reloadReplicas(name)
    const stored = (await this.#storage.listTopics()).find((t) => t.name === name)
    const known = this.#byName.get(name)
    if (stored === undefined) {
      if (known === undefined) return
      this.#forget(known)
      await this.#changed({ kind: 'deleted', name })
    } else if (known === undefined || known.topicId !== stored.topicId) {
      if (known !== undefined) this.#forget(known)
      this.#index(stored)
      await this.#loadLeaderEpochs(name, 0, stored.partitionCount)
      await this.#changed({ kind: 'created', name })
    } else {
      const grown = stored.partitionCount > known.partitionCount
      if (grown) await this.#loadLeaderEpochs(name, known.partitionCount, stored.partitionCount)
      this.#index(stored)
      if (grown) await this.#changed({ kind: 'partitions', name })
    }
  }

  /** Runs one of this registry's own changes of `name`, whose notification it need not refresh. */
  async #own<T>(name: string, change: () => Promise<T>): Promise<T> {
    this.#changing.set(name, (this.#changing.get(name) ?? 0) + 1)
    try {
      return await change()
    } finally {
      const left = (this.#changing.get(name) ?? 1) - 1
      if (left === 0) this.#changing.delete(name)
      else this.#changing.set(name, left)
    }
  }

  #forget(t: TopicMetadata): void {
    this.#replicas.delete(t.name)
    this.#byName.delete(t.name)
    this.#byId.delete(t.topicId)
    this.#logConfigs.delete(t.name)
    this.#leaderEpochs.delete(t.name)
    this.#announcedEpochs.delete(t.name)
  }

  async load(): Promise<void> {
    for (const [name, replicas] of await this.#readAllReplicas()) this.#replicas.set(name, replicas)
    for (const t of await this.#storage.listTopics()) {
      this.#index(t)
      await this.#loadLeaderEpochs(t.name, 0, t.partitionCount)
    }
    if (this.#storage.capabilities.shared) {
      this.#replicaChanges.watch(() => this.#reloadAllReplicas(), this.#log, 'replica assignments')
    }
  }

  /** Stops watching other brokers' reassignments. */
  close(): void {
    this.#replicaChanges.stop()
  }

  async #readAllReplicas(): Promise<Map<string, TopicReplicas>> {
    const stored = await this.#replicaChanges.read(() => this.#storage.kv.list(REPLICAS_NAMESPACE))
    const out = new Map<string, TopicReplicas>()
    for (const [name, raw] of stored) {
      if (name !== CHANGE_MARKER) out.set(name, JSON.parse(raw.toString()) as TopicReplicas)
    }
    return out
  }

  /** Another broker reassigned partitions: takes the replica lists that changed and tells the listeners. */
  async #reloadAllReplicas(): Promise<void> {
    for (const [name, replicas] of await this.#readAllReplicas()) {
      const known = this.#replicas.get(name)
      if (!this.#byName.has(name) || JSON.stringify(known) === JSON.stringify(replicas)) continue
      this.#replicas.set(name, replicas)
      await this.#changed({ kind: 'replicas', name })
    }
  }

  /**
   * The topic's replication factor and, where CreateTopics or CreatePartitions named them, each
   * partition's replicas as given (undefined for topics created before samsa kept them).
   */
  replicas(name: string): TopicReplicas | undefined {
    return this.#replicas.get(name)
  }

  async #setReplicas(name: string, replicas: TopicReplicas | null, announce = false): Promise<void> {
    if (replicas === null) this.#replicas.delete(name)
    else this.#replicas.set(name, replicas)
    const value = replicas === null ? null : Buffer.from(JSON.stringify(replicas))
    const entries = new Map<string, Buffer | null>([[name, value]])
    if (announce) entries.set(...this.#replicaChanges.bump())
    await this.#storage.kv.put(REPLICAS_NAMESPACE, entries)
  }

  async #reloadReplicas(name: string): Promise<void> {
    const raw = await this.#storage.kv.get(REPLICAS_NAMESPACE, name)
    if (raw === undefined) this.#replicas.delete(name)
    else this.#replicas.set(name, JSON.parse(raw.toString()) as TopicReplicas)
  }

  async #loadLeaderEpochs(name: string, from: number, to: number): Promise<void> {
    const epochs = this.#leaderEpochs.get(name) ?? []
    for (let p = from; p < to; p++) epochs[p] = await this.#storage.leaderEpoch(name, p)
    this.#leaderEpochs.set(name, epochs)
  }

  /**
   * The partition's stored leader epoch as read when the topic was loaded or created (0 for a
   * partition this broker does not know): what appends carry where one process owns the storage,
   * so that a claim by anyone else fences them.
   */
  leaderEpoch(name: string, partition: number): number {
    return this.#leaderEpochs.get(name)?.[partition] ?? 0
  }

  /** The highest leader epoch this broker knows the partition at: what Metadata and the partition APIs report. */
  knownLeaderEpoch(name: string, partition: number): number {
    return Math.max(this.leaderEpoch(name, partition), this.#announcedEpochs.get(name)?.[partition] ?? 0)
  }

  #index(t: TopicMetadata): void {
    this.#byName.set(t.name, t)
    this.#byId.set(t.topicId, t)
    this.#logConfigs.delete(t.name)
  }

  get(name: string): TopicMetadata | undefined {
    return this.#byName.get(name)
  }

  getById(topicId: string): TopicMetadata | undefined {
    return this.#byId.get(topicId)
  }

  list(): TopicMetadata[] {
    return [...this.#byName.values()]
  }

  /** Calls `listener` after every topic creation, deletion and partition growth. */
  onChange(listener: TopicChangeListener): void {
    this.#listeners.push(listener)
  }

  async #changed(change: TopicChange): Promise<void> {
    for (const listener of this.#listeners) await listener(change)
  }

  /**
   * An existing topic whose name differs from `name` only by '.' versus '_' (they collide in
   * metric names, so Kafka refuses the second one), or undefined.
   */
  collidingTopic(name: string): string | undefined {
    const normalized = name.replaceAll('.', '_')
    for (const existing of this.#byName.keys()) {
      if (existing !== name && existing.replaceAll('.', '_') === normalized) return existing
    }
    return undefined
  }

  /** True when the topic exists and has the partition. */
  hasPartition(name: string, partition: number): boolean {
    const t = this.#byName.get(name)
    return t !== undefined && partition >= 0 && partition < t.partitionCount
  }

  /** The topic's effective log configs (overrides over broker defaults), cached until they change. */
  logConfig(name: string): LogConfig {
    let c = this.#logConfigs.get(name)
    if (c === undefined) {
      c = resolveLogConfig(this.#byName.get(name)?.configs ?? {}, this.#brokerDefaults())
      this.#logConfigs.set(name, c)
    }
    return c
  }

  /** Forgets cached log configs, after broker defaults changed. */
  invalidateLogConfigs(): void {
    this.#logConfigs.clear()
  }

  /**
   * Creates a validated topic; resolves undefined when it already exists. `replicas` defaults to
   * default.replication.factor without explicit lists.
   */
  async create(
    name: string,
    partitionCount: number,
    configs: Record<string, string>,
    replicas?: TopicReplicas,
  ): Promise<TopicMetadata | undefined> {
    if (this.#byName.has(name) || this.#creating.has(name)) return undefined
    return this.#createOnce(name, partitionCount, configs, replicas)
  }

  /** Returns the topic, creating it with the given settings if it does not exist yet. */
  async getOrCreate(name: string, partitionCount: number): Promise<TopicMetadata> {
    return this.#byName.get(name) ?? this.#creating.get(name) ?? this.#createOnce(name, partitionCount, {})
  }

  #createOnce(
    name: string,
    partitionCount: number,
    configs: Record<string, string>,
    replicas: TopicReplicas = { replicationFactor: Number(this.#brokerDefaults()['default.replication.factor'] ?? 1) },
  ): Promise<TopicMetadata> {
    const topic: TopicMetadata = { name, topicId: randomUUID(), partitionCount, configs }
    const p = this.#own(name, async () => {
      // Before the topic: whoever sees the topic finds its replicas too.
      await this.#setReplicas(name, replicas)
      return this.#storage.createTopic(topic)
    })
      .then(async () => {
        this.#index(topic)
        await appendMetadataRecord(this.#storage.kv, this.#log)
        await this.#loadLeaderEpochs(name, 0, partitionCount)
        await this.#changed({ kind: 'created', name })
        return topic
      })
      .finally(() => this.#creating.delete(name))
    this.#creating.set(name, p)
    return p
  }

  async delete(name: string): Promise<boolean> {
    const t = this.#byName.get(name)
    if (t === undefined) return false
    this.#forget(t)
    const deleted = await this.#own(name, () => this.#storage.deleteTopic(name))
    await this.#setReplicas(name, null)
    await appendMetadataRecord(this.#storage.kv, this.#log)
    await this.#changed({ kind: 'deleted', name })
    return deleted
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.#byName.get(name)
    if (t === undefined) return
    await this.#own(name, () => this.#storage.setTopicConfigs(name, configs))
    this.#index({ ...t, configs })
    await appendMetadataRecord(this.#storage.kv, this.#log)
  }

  /** Grows a topic; `assignments` are the new partitions' replica lists where the request named them. */
  async setPartitionCount(name: string, count: number, assignments?: number[][]): Promise<void> {
    const t = this.#byName.get(name)
    if (t === undefined) return
    if (assignments !== undefined) {
      const current = this.#replicas.get(name) ?? { replicationFactor: assignments[0]?.length ?? 1 }
      const existing = current.assignments ?? new Array<null>(t.partitionCount).fill(null)
      await this.#setReplicas(name, { ...current, assignments: [...existing, ...assignments] })
    }
    await this.#own(name, () => this.#storage.createPartitions(name, count))
    await this.#loadLeaderEpochs(name, t.partitionCount, count)
    this.#index({ ...t, partitionCount: count })
    await appendMetadataRecord(this.#storage.kv, this.#log)
    await this.#changed({ kind: 'partitions', name })
  }

  /**
   * A partition reassignment: each partition of `replicas` gets that replica list, kept as
   * CreateTopics' named lists are (its first replica the preferred leader), the others their own.
   * `replicationFactor` is the one the other partitions are placed with, for a topic created
   * before samsa kept it.
   */
  async reassign(name: string, replicas: ReadonlyMap<number, number[]>, replicationFactor: number): Promise<void> {
    const t = this.#byName.get(name)
    if (t === undefined || replicas.size === 0) return
    const current = this.#replicas.get(name) ?? { replicationFactor }
    const assignments = Array.from({ length: t.partitionCount }, (_, p) => current.assignments?.[p] ?? null)
    for (const [partition, list] of replicas) assignments[partition] = [...list]
    await this.#setReplicas(name, { ...current, assignments }, true)
    await appendMetadataRecord(this.#storage.kv, this.#log)
    await this.#changed({ kind: 'replicas', name })
  }
}

import { randomUUID } from 'node:crypto'
import { type LogConfig, resolveLogConfig } from '../config/topic-configs.ts'
import type { Storage, TopicMetadata } from '../storage/types.ts'

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

/** What changed about a topic, for the parts of the broker that keep per-topic state. */
export interface TopicChange {
  kind: 'created' | 'deleted' | 'partitions'
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
  /** Creations in progress, so concurrent auto-creations of one topic create it once. */
  readonly #creating = new Map<string, Promise<TopicMetadata>>()
  readonly #listeners: TopicChangeListener[] = []

  constructor(storage: Storage, brokerDefaults: () => Record<string, string>) {
    this.#storage = storage
    this.#brokerDefaults = brokerDefaults
  }

  async load(): Promise<void> {
    for (const t of await this.#storage.listTopics()) this.#index(t)
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

  /** Creates a validated topic; resolves undefined when it already exists. */
  async create(
    name: string,
    partitionCount: number,
    configs: Record<string, string>,
  ): Promise<TopicMetadata | undefined> {
    if (this.#byName.has(name) || this.#creating.has(name)) return undefined
    return this.#createOnce(name, partitionCount, configs)
  }

  /** Returns the topic, creating it with the given settings if it does not exist yet. */
  async getOrCreate(name: string, partitionCount: number): Promise<TopicMetadata> {
    return this.#byName.get(name) ?? this.#creating.get(name) ?? this.#createOnce(name, partitionCount, {})
  }

  #createOnce(name: string, partitionCount: number, configs: Record<string, string>): Promise<TopicMetadata> {
    const topic: TopicMetadata = { name, topicId: randomUUID(), partitionCount, configs }
    const p = this.#storage
      .createTopic(topic)
      .then(async () => {
        this.#index(topic)
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
    this.#byName.delete(name)
    this.#byId.delete(t.topicId)
    this.#logConfigs.delete(name)
    const deleted = await this.#storage.deleteTopic(name)
    await this.#changed({ kind: 'deleted', name })
    return deleted
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.#byName.get(name)
    if (t === undefined) return
    await this.#storage.setTopicConfigs(name, configs)
    this.#index({ ...t, configs })
  }

  async setPartitionCount(name: string, count: number): Promise<void> {
    const t = this.#byName.get(name)
    if (t === undefined) return
    await this.#storage.createPartitions(name, count)
    this.#index({ ...t, partitionCount: count })
    await this.#changed({ kind: 'partitions', name })
  }
}

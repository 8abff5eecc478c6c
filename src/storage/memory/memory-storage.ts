/**
 * The memory engine: everything in process memory, nothing survives close(). For tests and for
 * `startBroker({ storage: 'memory' })`. Retention runs only when asked (runRetention, which
 * samsa/testing's advanceTime calls): no timer makes a test's data vanish. Without segments,
 * retention and DeleteRecords work batch by batch.
 */
import { resolveLogConfig } from '../../config/topic-configs.ts'
import { LeaderEpochs } from '../engine/leader-epochs.ts'
import { Listeners } from '../engine/listeners.ts'
import { type StorageLogger, silentLogger } from '../engine/logger.ts'
import { readUnknownPartition } from '../engine/read-result.ts'
import { EngineIoError, EngineRequestError, unknownPartition, unknownTopic } from '../engine/storage-error.ts'
import type { StorageMetrics } from '../engine/storage-metrics.ts'
import type {
  AppendInput,
  AppendListener,
  AppendOptions,
  AppendResult,
  LeaderEpochListener,
  MetadataListener,
  PartitionOffsets,
  ReadOptions,
  ReadResult,
  Storage,
  StorageCapabilities,
  StorageHealth,
  TimestampLookup,
  TopicMetadata,
} from '../types.ts'
import { MemoryKeyValueStore } from './memory-kv.ts'
import { MemoryLog } from './memory-log.ts'

/** Options of the memory engine. */
export interface MemoryStorageOptions {
  /** Broker-level Kafka configs (log.retention.ms, log.retention.bytes, ...), read at each use. */
  brokerDefaults?: () => Record<string, string>
  logger?: StorageLogger
  /** Clock for retention (default Date.now). */
  now?: () => number
  /** Where to count retention's work (the broker's /metrics); none if unset. */
  metrics?: StorageMetrics
}

interface MemoryTopic {
  meta: TopicMetadata
  logs: MemoryLog[]
}

function copyMeta(meta: TopicMetadata): TopicMetadata {
  return { ...meta, configs: { ...meta.configs } }
}

/** A Storage held in memory. */
export class MemoryStorage implements Storage {
  readonly engine = 'memory'
  readonly location = 'memory'
  readonly kv = new MemoryKeyValueStore()
  readonly capabilities: StorageCapabilities = {
    durable: false,
    shared: false,
    segments: false,
    compaction: false,
    logDir: undefined,
    keepsAppendedBytes: true,
  }
  #topics = new Map<string, MemoryTopic>()
  readonly #listeners: Listeners<Parameters<AppendListener>>
  readonly #metadataListeners: Listeners<Parameters<MetadataListener>>
  readonly #epochs: LeaderEpochs
  readonly #brokerDefaults: () => Record<string, string>
  readonly #now: () => number
  readonly #metrics: StorageMetrics | undefined
  #closed = false

  constructor(options: MemoryStorageOptions = {}) {
    const logger = options.logger ?? silentLogger
    this.#listeners = new Listeners(logger, 'onAppend')
    this.#metadataListeners = new Listeners(logger, 'onMetadataChange')
    this.#epochs = new LeaderEpochs(this.kv, logger)
    this.#brokerDefaults = options.brokerDefaults ?? (() => ({}))
    this.#now = options.now ?? Date.now
    this.#metrics = options.metrics
  }

  async listTopics(): Promise<TopicMetadata[]> {
    return [...this.#topics.values()].map((t) => copyMeta(t.meta))
  }

  async createTopic(topic: TopicMetadata): Promise<boolean> {
    this.#checkOpen()
    if (this.#topics.has(topic.name)) return false
    const logs = Array.from({ length: topic.partitionCount }, () => new MemoryLog())
    this.#topics.set(topic.name, { meta: copyMeta(topic), logs })
    this.#metadataListeners.emit(topic.name)
    return true
  }

  async deleteTopic(name: string): Promise<boolean> {
    this.#checkOpen()
    if (!this.#topics.delete(name)) return false
    await this.#epochs.forgetTopic(name)
    this.#metadataListeners.emit(name)
    return true
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    this.#topic(name).meta.configs = { ...configs }
    this.#metadataListeners.emit(name)
  }

  async createPartitions(name: string, count: number): Promise<void> {
    const topic = this.#topic(name)
    if (count < topic.logs.length) {
      throw new EngineRequestError(
        'INVALID_PARTITIONS',
        `${name} has ${topic.logs.length} partitions, cannot shrink to ${count}`,
      )
    }
    while (topic.logs.length < count) topic.logs.push(new MemoryLog())
    topic.meta.partitionCount = count
    this.#metadataListeners.emit(name)
  }

  async append(topic: string, partition: number, input: AppendInput, options: AppendOptions): Promise<AppendResult> {
    this.#checkOpen()
    const log = this.#log(topic, partition)
    this.#epochs.check(topic, partition, options.leaderEpoch)
    const baseOffset = log.append(input, this.#now())
    const offsets = log.offsets()
    this.#listeners.emit(topic, partition, offsets.highWatermark)
    return { baseOffset, logStartOffset: offsets.logStartOffset }
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    options: ReadOptions,
  ): Promise<ReadResult> {
    const log = this.#topics.get(topic)?.logs[partition]
    return log === undefined ? readUnknownPartition() : log.read(offset, maxBytes, options)
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return this.#log(topic, partition).offsets()
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<TimestampLookup | null> {
    return this.#log(topic, partition).offsetForTimestamp(timestamp)
  }

  async maxTimestamp(topic: string, partition: number): Promise<TimestampLookup | null> {
    return this.#log(topic, partition).maxTimestamp()
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    const log = this.#log(topic, partition)
    return this.#removing(log, () => log.deleteBefore(offset))
  }

  async partitionSize(topic: string, partition: number): Promise<number> {
    return this.#log(topic, partition).size
  }

  async leaderEpoch(topic: string, partition: number): Promise<number> {
    this.#log(topic, partition)
    return this.#epochs.current(topic, partition)
  }

  async claimLeadership(topic: string, partition: number, epoch: number): Promise<number> {
    this.#log(topic, partition)
    return this.#epochs.claim(topic, partition, epoch)
  }

  onAppend(listener: AppendListener): () => void {
    return this.#listeners.add(listener)
  }

  onLeaderEpoch(listener: LeaderEpochListener): () => void {
    return this.#epochs.raised.add(listener)
  }

  onMetadataChange(listener: MetadataListener): () => void {
    return this.#metadataListeners.add(listener)
  }

  /** Applies retention.ms and retention.bytes to every partition now. */
  async runRetention(): Promise<void> {
    const now = this.#now()
    if (this.#metrics !== undefined) this.#metrics.retentionPasses++
    for (const { meta, logs } of this.#topics.values()) {
      const config = resolveLogConfig(meta.configs, this.#brokerDefaults())
      for (const log of logs) this.#removing(log, () => log.applyRetention(config, now))
    }
  }

  /** Runs `remove` on `log`, counting the batches and bytes it removed. */
  #removing<T>(log: MemoryLog, remove: () => T): T {
    const metrics = this.#metrics
    if (metrics === undefined) return remove()
    const { batchCount, size } = log
    const result = remove()
    metrics.deletedSegments += batchCount - log.batchCount
    metrics.deletedBytes += size - log.size
    return result
  }

  /** Memory never fails: healthy until closed. */
  health(): StorageHealth {
    return this.#closed ? { ok: false, error: 'storage is closed' } : { ok: true }
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  #topic(name: string): MemoryTopic {
    const topic = this.#topics.get(name)
    if (topic === undefined) throw unknownTopic(name)
    return topic
  }

  #log(topic: string, partition: number): MemoryLog {
    const log = this.#topics.get(topic)?.logs[partition]
    if (log === undefined) throw unknownPartition(topic, partition)
    return log
  }

  #checkOpen(): void {
    if (this.#closed) throw new EngineIoError('CLOSED', 'storage is closed')
  }
}

/**
 * The local engine, samsa's embedded default: one data directory holding the metadata journal
 * (metadata-store.ts) and a directory per partition named `<topic>-<partition>` as in Kafka
 * (partition-log.ts). Topic deletion first renames the partition directories to
 * `<topic>-<partition>.<id>-delete`, then removes them in the background; leftovers of a crash
 * (such directories, or directories of topics the journal does not know) are removed on open.
 */

import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rename, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type LogConfig, resolveLogConfig } from '../../config/topic-configs.ts'
import { SerialQueue } from '../../util/serial-queue.ts'
import { IoHealth } from '../engine/io-health.ts'
import { LeaderEpochs } from '../engine/leader-epochs.ts'
import { Listeners } from '../engine/listeners.ts'
import { type StorageLogger, silentLogger } from '../engine/logger.ts'
import { readUnknownPartition } from '../engine/read-result.ts'
import { EngineIoError, EngineRequestError, unknownPartition, unknownTopic } from '../engine/storage-error.ts'
import type { StorageMetrics } from '../engine/storage-metrics.ts'
import type {
  AbortedTxnsCleanedHandler,
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
import { DataDirLock } from './dir-lock.ts'
import type { StorageFaults } from './faults.ts'
import { CLEAN_SHUTDOWN_FILE, DELETE_SUFFIX, parsePartitionDirName, partitionDirName } from './file-names.ts'
import { fsyncDir, isNotFound, removeQuietly, writeFileAtomic } from './fs-util.ts'
import { SyncSlots, type SyncStats } from './group-sync.ts'
import { LocalKeyValueStore } from './local-kv.ts'
import { LogCleaner, type PartitionCleanResult } from './log-cleaner.ts'
import { MetadataStore } from './metadata-store.ts'
import { PartitionLog } from './partition-log.ts'
import { openSegments } from './recovery.ts'
import { Segment } from './segment.ts'

/** Options of the local engine. */
export interface LocalStorageOptions {
  /** The data directory; created if missing. */
  dataDir: string
  /** Broker-level Kafka configs (log.retention.ms, log.segment.bytes, ...), read at each use. */
  brokerDefaults?: () => Record<string, string>
  logger?: StorageLogger
  /** How often retention runs; default log.retention.check.interval.ms, else 300000. 0 disables the timer. */
  retentionCheckIntervalMs?: number
  /** Clock for retention and compaction (default Date.now). */
  now?: () => number
  /** Log cleaner period; default log.cleaner.backoff.ms (15000). 0 disables the timer (tests call runCleaner). */
  cleanerBackoffMs?: number
  /** Test hooks that simulate disk errors (faults.ts). */
  faults?: StorageFaults
  /** Where to count appends, reads, syncs, retention and compaction (the broker's /metrics); none if unset. */
  metrics?: StorageMetrics
}

/** Files the engine writes in a partition directory. */
const SEGMENT_FILE =
  /^(\d{20}\.(log|index|timeindex)(\.tmp|\.deleted|\.cleaned|\.swap)?|cleaner-offset-checkpoint(\.tmp)?)$/
const DEFAULT_RETENTION_CHECK_MS = 300_000
const DEFAULT_RECOVERY_THREADS = 2

function copyMeta(meta: TopicMetadata): TopicMetadata {
  return { ...meta, configs: { ...meta.configs } }
}

/** A Storage on the local file system. */
export class LocalStorage implements Storage {
  readonly engine = 'local'
  readonly location: string
  readonly kv: LocalKeyValueStore
  readonly capabilities: StorageCapabilities
  readonly #lock: DataDirLock
  readonly #meta: MetadataStore
  readonly #brokerDefaults: () => Record<string, string>
  readonly #logger: StorageLogger
  readonly #listeners: Listeners<Parameters<AppendListener>>
  readonly #metadataListeners: Listeners<Parameters<MetadataListener>>
  readonly #epochs: LeaderEpochs
  readonly #now: () => number
  readonly #logs = new Map<string, PartitionLog[]>()
  readonly #stats: SyncStats = { fdatasyncs: 0, appends: 0, writes: 0 }
  readonly #health = new IoHealth()
  readonly #metrics: StorageMetrics | undefined
  readonly #syncSlots = new SyncSlots()
  readonly #removals = new Set<Promise<void>>()
  readonly #topicQueue = new SerialQueue()
  #retentionTimer: NodeJS.Timeout | undefined
  readonly #retentionPasses = new SerialQueue()
  readonly #faults: StorageFaults | undefined
  readonly #cleaner: LogCleaner
  #abortedTxnsCleaned: AbortedTxnsCleanedHandler | undefined
  #segmentRolled: ((topic: string, partition: number) => void) | undefined
  #closed = false

  private constructor(
    options: LocalStorageOptions,
    lock: DataDirLock,
    meta: MetadataStore,
    kv: LocalKeyValueStore,
    epochs: LeaderEpochs,
  ) {
    this.location = options.dataDir
    this.capabilities = {
      durable: true,
      shared: false,
      segments: true,
      compaction: true,
      logDir: resolve(options.dataDir),
      keepsAppendedBytes: false,
    }
    this.#lock = lock
    this.#meta = meta
    this.kv = kv
    this.#epochs = epochs
    this.#brokerDefaults = options.brokerDefaults ?? (() => ({}))
    this.#logger = options.logger ?? silentLogger
    this.#listeners = new Listeners(this.#logger, 'onAppend')
    this.#metadataListeners = new Listeners(this.#logger, 'onMetadataChange')
    this.#now = options.now ?? Date.now
    this.#faults = options.faults
    this.#metrics = options.metrics
    this.#cleaner = new LogCleaner({
      logs: () => this.#partitionLogs(),
      brokerDefaults: this.#brokerDefaults,
      now: this.#now,
      logger: this.#logger,
      faults: options.faults,
      backoffMs: options.cleanerBackoffMs,
      abortedTxnsCleaned: () => this.#abortedTxnsCleaned,
      metrics: options.metrics,
    })
  }

  *#partitionLogs(): Iterable<{ topic: string; partition: number; log: PartitionLog }> {
    for (const [topic, logs] of this.#logs) {
      for (let partition = 0; partition < logs.length; partition++) {
        yield { topic, partition, log: logs[partition] as PartitionLog }
      }
    }
  }

  /**
   * Opens a data directory, recovering every partition, and starts the retention timer. Refuses
   * (SAMSA_ERR_DATA_DIR_IN_USE) a directory another broker has open.
   */
  static async open(options: LocalStorageOptions): Promise<LocalStorage> {
    await mkdir(options.dataDir, { recursive: true })
    // Before anything else in the directory is read or written (dir-lock.ts).
    const lock = await DataDirLock.acquire(options.dataDir)
    try {
      return await LocalStorage.#openLocked(options, lock)
    } catch (err) {
      await lock.release()
      throw err
    }
  }

  static async #openLocked(options: LocalStorageOptions, lock: DataDirLock): Promise<LocalStorage> {
    const meta = await MetadataStore.open(options.dataDir)
    await fsyncDir(options.dataDir)
    const kv = new LocalKeyValueStore(meta)
    const storage = new LocalStorage(
      options,
      lock,
      meta,
      kv,
      await LeaderEpochs.load(kv, options.logger ?? silentLogger),
    )
    await storage.#cleanDataDir()
    const cleanShutdown = await storage.#takeCleanShutdownMark()
    const started = performance.now()
    const partitions = await storage.#openAllLogs(cleanShutdown)
    if (partitions > 0) {
      storage.#logger.info(
        { partitions, ms: Math.round(performance.now() - started), cleanShutdown },
        cleanShutdown
          ? 'loaded the logs after a clean shutdown'
          : 'recovered the logs after an unclean shutdown (last segments checked batch by batch)',
      )
    }
    const interval =
      options.retentionCheckIntervalMs ??
      Number(storage.#brokerDefaults()['log.retention.check.interval.ms'] ?? DEFAULT_RETENTION_CHECK_MS)
    if (interval > 0) {
      storage.#retentionTimer = setInterval(() => {
        storage.runRetention().catch((err: unknown) => storage.#logger.error({ err }, 'retention failed'))
      }, interval)
      storage.#retentionTimer.unref()
    }
    storage.#cleaner.start()
    return storage
  }

  /**
   * Opens every partition's log, num.recovery.threads.per.data.dir at a time (Kafka's default 2):
   * one partition's reads overlap another's CRC checks. Returns how many were opened.
   */
  async #openAllLogs(cleanShutdown: boolean): Promise<number> {
    const pending: { logs: PartitionLog[]; topic: string; partition: number }[] = []
    for (const topic of this.#meta.topics.values()) {
      const logs: PartitionLog[] = new Array(topic.partitionCount)
      this.#logs.set(topic.name, logs)
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        pending.push({ logs, topic: topic.name, partition })
      }
    }
    const configured = Number(this.#brokerDefaults()['num.recovery.threads.per.data.dir'])
    const threads = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_RECOVERY_THREADS
    let next = 0
    const worker = async (): Promise<void> => {
      for (let job = pending[next++]; job !== undefined; job = pending[next++]) {
        job.logs[job.partition] = await this.#openLog(job.topic, job.partition, false, cleanShutdown)
      }
    }
    await Promise.all(Array.from({ length: Math.min(threads, pending.length) }, worker))
    return pending.length
  }

  /**
   * True when the last stop was clean; removes the mark first, so that a crash from now on is
   * recovered in full.
   */
  async #takeCleanShutdownMark(): Promise<boolean> {
    try {
      await unlink(join(this.location, CLEAN_SHUTDOWN_FILE))
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
    await fsyncDir(this.location)
    return true
  }

  /** Removes `-delete` directories and partition directories the metadata does not know. */
  async #cleanDataDir(): Promise<void> {
    for (const entry of await readdir(this.location, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      if (entry.name.endsWith(DELETE_SUFFIX)) {
        this.#removeInBackground(join(this.location, entry.name))
        continue
      }
      const parsed = parsePartitionDirName(entry.name)
      if (parsed === null) continue
      const topic = this.#meta.topics.get(parsed.topic)
      if (topic !== undefined && parsed.partition < topic.partitionCount) continue
      const dir = join(this.location, entry.name)
      // Only directories holding nothing but segment files are ours to remove.
      if (!(await readdir(dir)).every((name) => SEGMENT_FILE.test(name))) {
        this.#logger.warn({ dir }, 'ignoring a directory that looks like a partition of no known topic')
        continue
      }
      this.#logger.warn({ dir }, 'removing a partition directory of no known topic')
      await this.#retireDir(dir)
    }
  }

  /** Opens (or, when `fresh` or missing, creates) a partition's directory and log. */
  async #openLog(topic: string, partition: number, fresh: boolean, cleanShutdown = false): Promise<PartitionLog> {
    const dir = join(this.location, partitionDirName(topic, partition))
    const logStart = this.#meta.logStarts.get(topic)?.get(partition) ?? 0
    const config = (): LogConfig =>
      resolveLogConfig(this.#meta.topics.get(topic)?.configs ?? {}, this.#brokerDefaults())
    if (fresh) await removeQuietly(dir)
    await mkdir(dir, { recursive: true })
    let segments = fresh
      ? []
      : await openSegments(dir, {
          indexIntervalBytes: config().indexIntervalBytes,
          logger: this.#logger,
          cleanShutdown,
        })
    if (segments.length === 0) {
      segments = [await Segment.create(dir, logStart)]
      await fsyncDir(dir)
      await fsyncDir(this.location)
    }
    const ctx = {
      topic,
      partition,
      dir,
      config,
      persistLogStart: (offset: number) => this.#meta.commit({ op: 'logStart', topic, partition, offset }),
      onAppended: (hw: number) => this.#listeners.emit(topic, partition, hw),
      onRolled: () => this.#segmentRolled?.(topic, partition),
      now: this.#now,
      syncSlots: this.#syncSlots,
      stats: this.#stats,
      logger: this.#logger,
      faults: this.#faults,
      health: this.#health,
      metrics: this.#metrics,
    }
    return new PartitionLog(ctx, segments, logStart)
  }

  /**
   * Creates the logs of partitions [from, to) of a topic, then runs `commit` (the metadata change
   * that makes them known). If any step fails, the logs made so far are closed and their
   * directories removed: a failed CreateTopics or CreatePartitions (say, out of file handles)
   * leaves no open files and no directories behind.
   */
  async #addLogs(topic: string, from: number, to: number, commit: () => Promise<void>): Promise<PartitionLog[]> {
    const made: PartitionLog[] = []
    try {
      for (let p = from; p < to; p++) made.push(await this.#openLog(topic, p, true))
      await commit()
      return made
    } catch (err) {
      for (const log of made) await log.close().catch(() => {})
      // Up to and including the partition whose creation failed.
      for (let p = from; p <= from + made.length && p < to; p++) {
        await removeQuietly(join(this.location, partitionDirName(topic, p))).catch(() => {})
      }
      throw err
    }
  }

  /** Renames a directory out of the way and removes it in the background, as Kafka does. */
  async #retireDir(dir: string): Promise<void> {
    const retired = `${dir}.${randomBytes(8).toString('hex')}${DELETE_SUFFIX}`
    await rename(dir, retired)
    this.#removeInBackground(retired)
  }

  #removeInBackground(dir: string): void {
    const removal = removeQuietly(dir).catch((err: unknown) =>
      this.#logger.error({ err, dir }, 'cannot remove directory'),
    )
    this.#removals.add(removal)
    removal.finally(() => this.#removals.delete(removal))
  }

  /** Serializes topic-level changes. */
  #topicOp<T>(task: () => Promise<T>): Promise<T> {
    return this.#topicQueue.run(() => {
      if (this.#closed) throw new EngineIoError('CLOSED', 'storage is closed')
      return task()
    })
  }

  async listTopics(): Promise<TopicMetadata[]> {
    return [...this.#meta.topics.values()].map(copyMeta)
  }

  createTopic(topic: TopicMetadata): Promise<boolean> {
    return this.#topicOp(async () => {
      if (this.#meta.topics.has(topic.name)) return false
      const logs = await this.#addLogs(topic.name, 0, topic.partitionCount, () =>
        this.#meta.commit({ op: 'topic', topic: copyMeta(topic) }),
      )
      this.#logs.set(topic.name, logs)
      this.#metadataListeners.emit(topic.name)
      return true
    })
  }

  deleteTopic(name: string): Promise<boolean> {
    return this.#topicOp(async () => {
      if (!this.#meta.topics.has(name)) return false
      await this.#meta.commit({ op: 'deleteTopic', name })
      const logs = this.#logs.get(name) ?? []
      this.#logs.delete(name)
      for (let p = 0; p < logs.length; p++) {
        await (logs[p] as PartitionLog).close()
        await this.#retireDir(join(this.location, partitionDirName(name, p)))
      }
      await fsyncDir(this.location)
      await this.#epochs.forgetTopic(name)
      this.#metadataListeners.emit(name)
      return true
    })
  }

  setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    return this.#topicOp(async () => {
      const topic = this.#topic(name)
      await this.#meta.commit({ op: 'topic', topic: { ...copyMeta(topic), configs: { ...configs } } })
      this.#metadataListeners.emit(name)
    })
  }

  createPartitions(name: string, count: number): Promise<void> {
    return this.#topicOp(async () => {
      const topic = this.#topic(name)
      const logs = this.#logs.get(name) ?? []
      if (count < topic.partitionCount) {
        throw new EngineRequestError(
          'INVALID_PARTITIONS',
          `${name} has ${topic.partitionCount} partitions, cannot shrink to ${count}`,
        )
      }
      const added = await this.#addLogs(name, topic.partitionCount, count, () =>
        this.#meta.commit({ op: 'topic', topic: { ...copyMeta(topic), partitionCount: count } }),
      )
      logs.push(...added)
      this.#metadataListeners.emit(name)
    })
  }

  async append(topic: string, partition: number, input: AppendInput, options: AppendOptions): Promise<AppendResult> {
    const log = this.#log(topic, partition)
    this.#epochs.check(topic, partition, options.leaderEpoch)
    const m = this.#metrics
    if (m === undefined) return log.append(input, options.durable)
    return m.timed(m.appendSeconds, 'append', () => log.append(input, options.durable))
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    options: ReadOptions,
  ): Promise<ReadResult> {
    const log = this.#logs.get(topic)?.[partition]
    if (log === undefined) return readUnknownPartition()
    const m = this.#metrics
    if (m === undefined) return log.read(offset, maxBytes, options)
    return m.timed(m.readSeconds, 'read', () => log.read(offset, maxBytes, options))
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
    return this.#log(topic, partition).deleteBefore(offset)
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

  onAbortedTxnsCleaned(handler: AbortedTxnsCleanedHandler): void {
    this.#abortedTxnsCleaned = handler
  }

  onSegmentRolled(listener: (topic: string, partition: number) => void): void {
    this.#segmentRolled = listener
  }

  /** Counters for tests and metrics: fdatasyncs and writes of log data, appends. */
  get stats(): SyncStats {
    return { ...this.#stats }
  }

  /** Base offsets of a partition's segments, oldest first (tests, DescribeLogDirs). */
  segmentBaseOffsets(topic: string, partition: number): number[] {
    return this.#log(topic, partition).segmentBaseOffsets()
  }

  /**
   * Applies retention to every partition (the timer calls this too). Asked for during a pass, it
   * runs after that one, so it ages segments by the clock of its call.
   */
  runRetention(): Promise<void> {
    return this.#retentionPasses.run(async () => {
      if (this.#metrics !== undefined) this.#metrics.retentionPasses++
      for (const logs of [...this.#logs.values()]) {
        for (const log of logs) {
          await log.applyRetention().catch((err: unknown) => {
            if (err instanceof EngineIoError && err.reason === 'CLOSED') return
            this.#metrics?.failed('retention')
            throw err
          })
        }
      }
    })
  }

  /**
   * Runs the log cleaner on every compacted partition that is due now (the timer calls this
   * too); resolves what it cleaned. The memory engine does not compact.
   */
  runCleaner(): Promise<PartitionCleanResult[]> {
    return this.#cleaner.runOnce()
  }

  /** From the latest writes and syncs of log data. */
  health(): StorageHealth {
    return this.#health.state
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#health.closed()
    clearInterval(this.#retentionTimer)
    try {
      await this.#cleaner.close()
      await this.#topicOp(async () => {
        this.#closed = true
      })
      await this.#retentionPasses.idle()
      await Promise.all([...this.#logs.values()].flat().map((log) => log.close()))
      this.#logs.clear()
      await Promise.all([...this.#removals])
      await this.#meta.close()
      await writeFileAtomic(join(this.location, CLEAN_SHUTDOWN_FILE), Buffer.alloc(0))
    } finally {
      // Last: another broker may open the directory from now on. A failed close releases it too,
      // or this process could never open the directory again.
      await this.#lock.release()
    }
  }

  /**
   * Test hook: stops the engine as a crash would. Nothing more is written, synced or marked
   * clean, and the data directory is unlocked (as a dead process's lock is), so that a test can
   * reopen the directory in this process; the open files are left to the garbage collector.
   */
  async abandon(): Promise<void> {
    clearInterval(this.#retentionTimer)
    // Stops its timer at once; a pass in progress is not waited for (a crash would not).
    this.#cleaner.close().catch(() => {})
    this.#closed = true
    await this.#lock.release()
  }

  #topic(name: string): TopicMetadata {
    const topic = this.#meta.topics.get(name)
    if (topic === undefined) throw unknownTopic(name)
    return topic
  }

  #log(topic: string, partition: number): PartitionLog {
    if (this.#closed) throw new EngineIoError('CLOSED', 'storage is closed')
    const log = this.#logs.get(topic)?.[partition]
    if (log === undefined) throw unknownPartition(topic, partition)
    return log
  }
}

/**
 * The postgres engine, samsa's cluster engine: topics, partitions, record batches and the
 * key-value store live in PostgreSQL (schema: migrations.ts), so a broker keeps no state of its
 * own. Each partition has one leader at a time, named by the leader epoch stored with it; the
 * leader assigns offsets from the high watermark it holds in memory and commits whole batches
 * (bytea, never a row per record) for all its partitions in one transaction per group commit
 * (group-commit.ts), refused for any partition whose stored epoch moved on. Reads come from an
 * in-memory tail of the latest batches or one range query (log-queries.ts). Topic changes notify
 * other brokers (metadata-notifications.ts), and so do partition changes (commits, log start
 * moves, compaction, claims: partition-notifications.ts), which the other engines take into their
 * view, waking their long polls. Compacted topics are cleaned by the leader, a range of a
 * partition per transaction with its epoch checked (compaction.ts).
 *
 * Database errors are I/O faults (EngineIoError, KAFKA_STORAGE_ERROR); the pool replaces lost
 * connections by itself. A commit whose answer was lost is answered neither way until the
 * database tells whether it landed (group-commit.ts, commit-doubt.ts).
 */
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import { type LogConfig, resolveLogConfig } from '../../config/topic-configs.ts'
import { SerialQueue } from '../../util/serial-queue.ts'
import type { PartitionCleanResult } from '../engine/cleaner-schedule.ts'
import { IoHealth } from '../engine/io-health.ts'
import { Listeners } from '../engine/listeners.ts'
import { type StorageLogger, silentLogger } from '../engine/logger.ts'
import { readEmpty, readOk, readOutOfRange, readUnknownPartition } from '../engine/read-result.ts'
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
import { PostgresCleaner } from './compaction.ts'
import { createPool, idempotentQuery, ioError, redactUrl, transaction } from './db.ts'
import { type CommitStats, GroupCommitter } from './group-commit.ts'
import * as log from './log-queries.ts'
import { CHANNEL, encodeNotice, type MetadataNotice, MetadataSubscriber } from './metadata-notifications.ts'
import { migrate } from './migrations.ts'
import {
  decodePartitionNotice,
  HELLO_MS,
  PARTITION_CHANNEL,
  type PartitionNoticeEntry,
  PartitionNotifier,
} from './partition-notifications.ts'
import { PartitionState, type StoredPartition, type ViewChange } from './partition-state.ts'
import { PostgresKeyValueStore } from './postgres-kv.ts'

/** Options of the postgres engine. */
export interface PostgresStorageOptions {
  /** Connection string: postgres://user:password@host:port/database. */
  url: string
  /** Broker-level Kafka configs (log.retention.ms, log.retention.bytes, ...), read at each use. */
  brokerDefaults?: () => Record<string, string>
  logger?: StorageLogger
  /** How often retention runs; default log.retention.check.interval.ms, else 300000. 0 disables the timer. */
  retentionCheckIntervalMs?: number
  /** Clock for retention and the write time of batches without timestamps (default Date.now). */
  now?: () => number
  /** Most pooled connections (default 10). */
  poolSize?: number
  /** Bytes of recent batches kept in memory per partition for reads (default 2 MiB). */
  tailBytes?: number
  /** Bytes of appends one commit takes at most (default 16 MiB; a larger append commits alone). */
  maxCommitBytes?: number
  /** Commits in flight at once, each for partitions of its own (default 4). */
  committers?: number
  /** Bytes queued that start a further commit while one is in flight (default 256 KiB). */
  parallelCommitBytes?: number
  /** Polling period for other brokers' changes where LISTEN is not supported (default 1000 ms). */
  metadataPollMs?: number
  /** Log cleaner period; default log.cleaner.backoff.ms (15000). 0 disables the timer (tests call runCleaner). */
  cleanerBackoffMs?: number
  /**
   * Where to count appends, reads, commits, statements, pool use, retention and compaction (the
   * broker's /metrics); none if unset.
   */
  metrics?: StorageMetrics
}

const DEFAULT_RETENTION_CHECK_MS = 300_000
const DEFAULT_TAIL_BYTES = 2 << 20
const DEFAULT_MAX_COMMIT_BYTES = 16 << 20
const DEFAULT_COMMITTERS = 4
/** Notices kept for partitions not known yet (a topic or partition whose creation is still being read). */
const MAX_EARLY_NOTICES = 10_000

interface TopicState {
  meta: TopicMetadata
  partitions: PartitionState[]
}

interface TopicRow {
  name: string
  topic_id: string
  partition_count: number
  configs: Record<string, string>
}

interface PartitionRow {
  topic_id: string
  partition: number
  log_start_offset: number
  high_watermark: number
  leader_epoch: number
  commit_fence: number
}

function metaOf(row: TopicRow): TopicMetadata {
  return { name: row.name, topicId: row.topic_id, partitionCount: row.partition_count, configs: { ...row.configs } }
}

function offsetsOf(row: PartitionRow): StoredPartition {
  return {
    logStartOffset: row.log_start_offset,
    highWatermark: row.high_watermark,
    leaderEpoch: row.leader_epoch,
    commitFence: row.commit_fence,
  }
}

/** True when the database has pg_notify (an empty payload, which listeners ignore). */
async function hasNotify(pool: pg.Pool): Promise<boolean> {
  try {
    await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, ''])
    return true
  } catch {
    return false
  }
}

/** A Storage in PostgreSQL. */
export class PostgresStorage implements Storage {
  readonly engine = 'postgres'
  readonly location: string
  readonly kv: PostgresKeyValueStore
  readonly capabilities: StorageCapabilities = {
    durable: true,
    shared: true,
    segments: false,
    compaction: true,
    logDir: undefined,
    keepsAppendedBytes: true,
  }
  /** Names this engine in its notifications, so that it skips its own. */
  readonly #origin = randomUUID()
  readonly #pool: pg.Pool
  readonly #brokerDefaults: () => Record<string, string>
  readonly #logger: StorageLogger
  readonly #now: () => number
  readonly #tailBytes: number
  readonly #topics = new Map<string, TopicState>()
  /** The same topics by topic id, as partition notices name them. */
  readonly #topicsById = new Map<string, TopicState>()
  /** Reads of the topics started so far; each topic keeps the number of the read it was last taken from. */
  #reads = 0
  readonly #readOf = new Map<string, number>()
  /** Partition notices that came before their topic or partition was read, by `topicId/partition`. */
  readonly #early = new Map<string, PartitionNoticeEntry>()
  readonly #appendListeners: Listeners<Parameters<AppendListener>>
  readonly #epochListeners: Listeners<Parameters<LeaderEpochListener>>
  readonly #metadataListeners: Listeners<Parameters<MetadataListener>>
  readonly #committer: GroupCommitter
  readonly #stats: CommitStats = {
    commits: 0,
    failedCommits: 0,
    retriedCommits: 0,
    commitsInDoubt: 0,
    inDoubtLanded: 0,
    appends: 0,
    batches: 0,
    bytes: 0,
    maxPartitionsPerCommit: 0,
    maxCommitsInFlight: 0,
  }
  /** From commits, key-value queries and the listening connection. */
  readonly #health = new IoHealth()
  readonly #topicQueue = new SerialQueue()
  readonly #retentionPasses = new SerialQueue()
  readonly #subscriber: MetadataSubscriber
  readonly #notifier: PartitionNotifier
  readonly #cleaner: PostgresCleaner
  readonly #metrics: StorageMetrics | undefined
  #abortedTxnsCleaned: AbortedTxnsCleanedHandler | undefined
  #retentionTimer: NodeJS.Timeout | undefined
  #helloTimer: NodeJS.Timeout | undefined
  /** The database has pg_notify (PostgreSQL, not CockroachDB): topic changes notify other brokers. */
  #notify = true
  #closed = false

  private constructor(options: PostgresStorageOptions, pool: pg.Pool) {
    this.location = redactUrl(options.url)
    this.#pool = pool
    this.#brokerDefaults = options.brokerDefaults ?? (() => ({}))
    this.#logger = options.logger ?? silentLogger
    this.#now = options.now ?? Date.now
    this.#tailBytes = options.tailBytes ?? DEFAULT_TAIL_BYTES
    this.#metrics = options.metrics
    if (options.metrics !== undefined) {
      options.metrics.pool = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })
    }
    this.#appendListeners = new Listeners(this.#logger, 'onAppend')
    this.#epochListeners = new Listeners(this.#logger, 'onLeaderEpoch')
    this.#metadataListeners = new Listeners(this.#logger, 'onMetadataChange')
    this.kv = new PostgresKeyValueStore(pool, () => this.#checkOpen(), this.#health)
    this.#committer = new GroupCommitter(
      {
        pool,
        now: this.#now,
        reload: (states) => this.#reloadPartitions(states),
        appended: (state, hw) => {
          this.#appendListeners.emit(state.topic, state.partition, hw)
          this.#changed(state)
        },
        stats: this.#stats,
        logger: this.#logger,
        health: this.#health,
        metrics: options.metrics,
      },
      {
        maxCommitBytes: options.maxCommitBytes ?? DEFAULT_MAX_COMMIT_BYTES,
        committers: options.committers ?? DEFAULT_COMMITTERS,
        parallelCommitBytes: options.parallelCommitBytes,
      },
    )
    this.#subscriber = new MetadataSubscriber(
      options.url,
      {
        notice: (notice) => this.#onNotice(notice),
        partitions: (payload) => this.#onPartitionNotice(payload),
        resync: () => {
          // Listening (again): the others learn of this engine, and it re-reads what it missed.
          this.#hello()
          this.#resync().catch((err: unknown) => this.#logger.warn({ err }, 'cannot re-read the topics'))
        },
        connected: () => this.#health.succeeded(),
        lost: (err) => this.#health.failed(err),
      },
      this.#logger,
      options.metadataPollMs ?? 1000,
    )
    this.#notifier = new PartitionNotifier(pool, this.#origin, this.#logger)
    this.#cleaner = new PostgresCleaner({
      pool,
      partitions: () => this.#compactedPartitions(),
      brokerDefaults: this.#brokerDefaults,
      now: this.#now,
      logger: this.#logger,
      backoffMs: options.cleanerBackoffMs,
      abortedTxnsCleaned: () => this.#abortedTxnsCleaned,
      rewritten: (state) => this.#changed(state, true),
      metrics: options.metrics,
    })
  }

  /** Connects, applies the schema migrations, loads the topics and starts the retention timer. */
  static async open(options: PostgresStorageOptions): Promise<PostgresStorage> {
    const logger = options.logger ?? silentLogger
    let storage: PostgresStorage | undefined
    const pool = createPool(options.url, {
      max: options.poolSize,
      querySeconds: options.metrics?.querySeconds,
      onIdleError: (err) => {
        // A connection that close() is ending may hear the server stop first: nothing is lost then.
        // biome-ignore lint/complexity/useOptionalChain: an optional chain cannot hold a private name
        if (storage !== undefined && storage.#closed) return
        logger.warn({ err }, 'an idle PostgreSQL connection failed; the pool replaces it')
      },
    })
    try {
      const client = await pool.connect()
      try {
        const applied = await migrate(client)
        if (applied.length > 0) logger.info({ applied }, 'applied PostgreSQL schema migrations')
      } finally {
        client.release()
      }
      storage = new PostgresStorage(options, pool)
      storage.#notify = await hasNotify(pool)
      await storage.#resync()
      await storage.#subscriber.start()
    } catch (err) {
      if (storage !== undefined) await storage.#subscriber.close()
      await pool.end().catch(() => {})
      throw ioError(err, `cannot open PostgreSQL storage at ${redactUrl(options.url)}`)
    }
    const interval =
      options.retentionCheckIntervalMs ??
      Number(storage.#brokerDefaults()['log.retention.check.interval.ms'] ?? DEFAULT_RETENTION_CHECK_MS)
    if (interval > 0) {
      const opened = storage
      opened.#retentionTimer = setInterval(() => {
        opened.runRetention().catch((err: unknown) => opened.#logger.error({ err }, 'retention failed'))
      }, interval)
      opened.#retentionTimer.unref()
    }
    storage.#cleaner.start()
    const listening = storage
    listening.#helloTimer = setInterval(() => listening.#hello(), HELLO_MS)
    listening.#helloTimer.unref()
    return storage
  }

  // --- topics ---

  async listTopics(): Promise<TopicMetadata[]> {
    const { rows } = await this.#query<TopicRow>(
      'listing topics',
      'SELECT name, topic_id::text, partition_count, configs FROM topics ORDER BY name',
    )
    return rows.map(metaOf)
  }

  createTopic(topic: TopicMetadata): Promise<boolean> {
    return this.#topicOp(topic.name, async (client) => {
      const inserted = await client.query(
        `INSERT INTO topics (name, topic_id, partition_count, configs) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING RETURNING name`,
        [topic.name, topic.topicId, topic.partitionCount, JSON.stringify(topic.configs)],
      )
      if (inserted.rowCount === 0) return false
      await client.query('INSERT INTO partitions (topic_id, partition) SELECT $1, generate_series(0, $2::int4 - 1)', [
        topic.topicId,
        topic.partitionCount,
      ])
      return true
    })
  }

  deleteTopic(name: string): Promise<boolean> {
    return this.#topicOp(name, async (client) => {
      const { rows } = await client.query<{ topic_id: string }>(
        'DELETE FROM topics WHERE name = $1 RETURNING topic_id::text',
        [name],
      )
      const topicId = rows[0]?.topic_id
      if (topicId === undefined) return false
      await client.query('DELETE FROM batches WHERE topic_id = $1', [topicId])
      await client.query('DELETE FROM partitions WHERE topic_id = $1', [topicId])
      return true
    })
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    await this.#topicOp(name, async (client) => {
      const updated = await client.query('UPDATE topics SET configs = $2 WHERE name = $1', [
        name,
        JSON.stringify(configs),
      ])
      if (updated.rowCount === 0) throw unknownTopic(name)
      return true
    })
  }

  async createPartitions(name: string, count: number): Promise<void> {
    await this.#topicOp(name, async (client) => {
      const { rows } = await client.query<{ topic_id: string; partition_count: number }>(
        'SELECT topic_id::text, partition_count FROM topics WHERE name = $1 FOR UPDATE',
        [name],
      )
      const row = rows[0]
      if (row === undefined) throw unknownTopic(name)
      if (count < row.partition_count) {
        throw new EngineRequestError(
          'INVALID_PARTITIONS',
          `${name} has ${row.partition_count} partitions, cannot shrink to ${count}`,
        )
      }
      if (count === row.partition_count) return false
      await client.query('UPDATE topics SET partition_count = $2 WHERE name = $1', [name, count])
      await client.query(
        'INSERT INTO partitions (topic_id, partition) SELECT $1, generate_series($2::int4, $3::int4 - 1)',
        [row.topic_id, row.partition_count, count],
      )
      return true
    })
  }

  /**
   * Runs a topic change in a transaction that also notifies the other brokers, then re-reads the
   * topic and tells this engine's listeners. `change` resolves whether anything changed.
   */
  #topicOp(name: string, change: (client: pg.PoolClient) => Promise<boolean>): Promise<boolean> {
    return this.#topicQueue.run(async () => {
      this.#checkOpen()
      let changed: boolean
      try {
        changed = await transaction(this.#pool, async (client) => {
          const done = await change(client)
          if (done && this.#notify) {
            await client.query('SELECT pg_notify($1, $2)', [
              CHANNEL,
              encodeNotice({ origin: this.#origin, topic: name }),
            ])
          }
          return done
        })
      } catch (err) {
        if (err instanceof EngineRequestError) throw err
        throw ioError(err, `changing topic ${name}`)
      }
      if (changed) {
        await this.#refreshTopic(name).catch((err: unknown) => {
          throw ioError(err, `re-reading topic ${name}`)
        })
        this.#metadataListeners.emit(name)
      }
      return changed
    })
  }

  // --- partitions ---

  async append(topic: string, partition: number, input: AppendInput, options: AppendOptions): Promise<AppendResult> {
    this.#checkOpen()
    const state = this.#partition(topic, partition)
    const m = this.#metrics
    if (m === undefined) return this.#committer.append(state, input, options.leaderEpoch)
    return m.timed(m.appendSeconds, 'append', () => this.#committer.append(state, input, options.leaderEpoch))
  }

  read(topic: string, partition: number, offset: number, maxBytes: number, options: ReadOptions): Promise<ReadResult> {
    const m = this.#metrics
    if (m === undefined) return this.#read(topic, partition, offset, maxBytes, options)
    return m.timed(m.readSeconds, 'read', () => this.#read(topic, partition, offset, maxBytes, options))
  }

  async #read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    options: ReadOptions,
  ): Promise<ReadResult> {
    this.#checkOpen()
    const state = this.#topics.get(topic)?.partitions[partition]
    if (state === undefined) return readUnknownPartition()
    const offsets = state.offsets()
    if (offset < offsets.logStartOffset || offset > offsets.highWatermark) return readOutOfRange(offsets)
    let parts: Buffer[]
    if (!state.foreign && state.tailCovers(offset)) {
      parts = state.readTail(offset, maxBytes, options)
    } else {
      try {
        parts = await log.readBatches(this.#pool, state, offset, maxBytes, options)
      } catch (err) {
        throw ioError(err, `reading ${topic}-${partition}`)
      }
    }
    if (parts.length === 0) return readEmpty(offsets)
    return readOk(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), offsets)
  }

  async offsets(topic: string, partition: number): Promise<PartitionOffsets> {
    this.#checkOpen()
    return this.#partition(topic, partition).offsets()
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<TimestampLookup | null> {
    return this.#onPartition(topic, partition, 'looking up a timestamp', (state) =>
      log.offsetForTimestamp(this.#pool, state, timestamp),
    )
  }

  maxTimestamp(topic: string, partition: number): Promise<TimestampLookup | null> {
    return this.#onPartition(topic, partition, 'looking up the max timestamp', (state) =>
      log.maxTimestamp(this.#pool, state),
    )
  }

  partitionSize(topic: string, partition: number): Promise<number> {
    return this.#onPartition(topic, partition, 'measuring', (state) => log.partitionSize(this.#pool, state))
  }

  deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.#onPartition(topic, partition, 'deleting records', async (state) => {
      // Another broker's appends may not have reached this engine yet.
      if (offset > state.highWatermark) await this.#readStored(state)
      if (offset > state.highWatermark) {
        throw new EngineRequestError(
          'OFFSET_OUT_OF_RANGE',
          `offset ${offset} is above the high watermark ${state.highWatermark}`,
        )
      }
      if (offset <= state.logStartOffset) return state.logStartOffset
      await this.#deleteBefore(state, offset)
      this.#changed(state)
      return state.logStartOffset
    })
  }

  leaderEpoch(topic: string, partition: number): Promise<number> {
    return this.#onPartition(topic, partition, 'reading the leader epoch', async (state) => {
      const row = await this.#readStored(state)
      if (row === undefined) throw unknownPartition(topic, partition)
      return row.leader_epoch
    })
  }

  /**
   * Raises the stored epoch (never lowers it) and takes the partition's stored offsets, between
   * two commits: another leader may have written since this engine last did.
   */
  claimLeadership(topic: string, partition: number, epoch: number): Promise<number> {
    return this.#onPartition(topic, partition, 'claiming leadership', (state) =>
      this.#committer.exclusive(async () => {
        const { rows } = await idempotentQuery<PartitionRow>(this.#pool, {
          text: `UPDATE partitions SET leader_epoch = greatest(leader_epoch, $3)
           WHERE topic_id = $1 AND partition = $2
           RETURNING topic_id::text, partition, log_start_offset, high_watermark, leader_epoch, commit_fence`,
          values: [state.topicId, state.partition, epoch],
        })
        const row = rows[0]
        if (row === undefined) throw unknownPartition(topic, partition)
        const change = state.reload(offsetsOf(row))
        if (row.leader_epoch === epoch) {
          state.own(epoch)
          this.#changed(state)
        }
        this.#tell(state, change)
        return row.leader_epoch
      }),
    )
  }

  onAppend(listener: AppendListener): () => void {
    return this.#appendListeners.add(listener)
  }

  onLeaderEpoch(listener: LeaderEpochListener): () => void {
    return this.#epochListeners.add(listener)
  }

  onMetadataChange(listener: MetadataListener): () => void {
    return this.#metadataListeners.add(listener)
  }

  onAbortedTxnsCleaned(handler: AbortedTxnsCleanedHandler): void {
    this.#abortedTxnsCleaned = handler
  }

  /** Runs a compaction pass on each compacted partition that is due now (the timer calls this too). */
  runCleaner(): Promise<PartitionCleanResult[]> {
    return this.#cleaner.runOnce()
  }

  /** Counters of the group commit, and the partition notices sent (tests, metrics). */
  get stats(): CommitStats & { notices: number } {
    return { ...this.#stats, notices: this.#notifier.sent }
  }

  /** Applies retention.ms and retention.bytes to every partition now (the timer calls this too). */
  runRetention(): Promise<void> {
    return this.#retentionPasses.run(async () => {
      if (this.#metrics !== undefined) this.#metrics.retentionPasses++
      const now = this.#now()
      for (const { meta, partitions } of [...this.#topics.values()]) {
        const config = resolveLogConfig(meta.configs, this.#brokerDefaults())
        for (const state of partitions) {
          if (this.#closed) return
          if (state.deleted) continue
          try {
            const point = await log.retentionPoint(this.#pool, state, config, now)
            if (point !== null && point > state.logStartOffset) {
              await this.#deleteBefore(state, point)
              this.#changed(state)
            }
          } catch (err) {
            this.#metrics?.failed('retention')
            throw ioError(err, `retention of ${state.topic}-${state.partition}`)
          }
        }
      }
    })
  }

  /** Deletes the batches below `offset` and moves the log start there, counting what went. */
  async #deleteBefore(state: PartitionState, offset: number): Promise<void> {
    const deleted = await log.deleteBefore(this.#pool, state, offset)
    state.advanceLogStart(deleted.logStartOffset)
    if (this.#metrics !== undefined) {
      this.#metrics.deletedSegments += deleted.batches
      this.#metrics.deletedBytes += deleted.bytes
    }
  }

  health(): StorageHealth {
    return this.#health.state
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#health.closed()
    clearInterval(this.#retentionTimer)
    clearInterval(this.#helloTimer)
    await this.#cleaner.close()
    await this.#topicQueue.run(() => {
      this.#closed = true
    })
    await this.#committer.idle()
    this.#committer.failPending(new EngineIoError('CLOSED', 'storage is closed'))
    await this.#retentionPasses.idle().catch(() => {})
    await this.#notifier.close()
    await this.#subscriber.close()
    await this.#pool.end()
  }

  // --- state ---

  #checkOpen(): void {
    if (this.#closed) throw new EngineIoError('CLOSED', 'storage is closed')
  }

  /** The partitions of the compacted topics, with their topic's log config now (the log cleaner's work). */
  #compactedPartitions(): { state: PartitionState; config: LogConfig }[] {
    const out: { state: PartitionState; config: LogConfig }[] = []
    for (const { meta, partitions } of this.#topics.values()) {
      const config = resolveLogConfig(meta.configs, this.#brokerDefaults())
      if (!config.cleanupPolicy.compact) continue
      for (const state of partitions) if (!state.deleted) out.push({ state, config })
    }
    return out
  }

  #partition(topic: string, partition: number): PartitionState {
    const state = this.#topics.get(topic)?.partitions[partition]
    if (state === undefined) throw unknownPartition(topic, partition)
    return state
  }

  /** Runs a database task on a known partition; its database errors become I/O faults. */
  async #onPartition<T>(
    topic: string,
    partition: number,
    what: string,
    task: (state: PartitionState) => Promise<T>,
  ): Promise<T> {
    this.#checkOpen()
    const state = this.#partition(topic, partition)
    try {
      return await task(state)
    } catch (err) {
      if (err instanceof EngineRequestError) throw err
      throw ioError(err, `${what} on ${topic}-${partition}`)
    }
  }

  async #query<R extends pg.QueryResultRow>(
    what: string,
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    this.#checkOpen()
    try {
      return await idempotentQuery<R>(this.#pool, { text, values })
    } catch (err) {
      throw ioError(err, what)
    }
  }

  /** Re-reads partitions' stored offsets and epochs (after a failed or fenced commit). */
  async #reloadPartitions(states: PartitionState[]): Promise<void> {
    const { rows } = await idempotentQuery<PartitionRow>(this.#pool, {
      text: `SELECT topic_id::text, partition, log_start_offset, high_watermark, leader_epoch, commit_fence
       FROM partitions WHERE (topic_id, partition) IN (SELECT * FROM unnest($1::uuid[], $2::int4[]))`,
      values: [states.map((s) => s.topicId), states.map((s) => s.partition)],
    })
    const found = new Map(rows.map((r) => [`${r.topic_id}/${r.partition}`, r]))
    for (const state of states) {
      const row = found.get(`${state.topicId}/${state.partition}`)
      if (row === undefined) state.deleted = true
      else this.#tell(state, state.reload(offsetsOf(row)))
    }
  }

  /** Reads a partition's stored row and takes it as any read of the database (takeStored). */
  async #readStored(state: PartitionState): Promise<PartitionRow | undefined> {
    const { rows } = await idempotentQuery<PartitionRow>(this.#pool, {
      name: 'samsa-partition-row',
      text: `SELECT topic_id::text, partition, log_start_offset, high_watermark, leader_epoch, commit_fence
       FROM partitions WHERE topic_id = $1 AND partition = $2`,
      values: [state.topicId, state.partition],
    })
    const row = rows[0]
    if (row !== undefined) this.#tell(state, state.takeStored(offsetsOf(row)))
    return row
  }

  /** Tells the other engines that this one listens (partition-notifications.ts). */
  #hello(): void {
    if (this.#notify && !this.#closed) this.#subscriber.notify(PARTITION_CHANNEL, this.#origin).catch(() => {})
  }

  /** The partition changed through this engine: the other brokers hear of it. */
  #changed(state: PartitionState, rewritten = false): void {
    if (this.#notify) this.#notifier.changed(state, rewritten)
  }

  /** Tells this engine's listeners what a change of its view raised. */
  #tell(state: PartitionState, change: ViewChange): void {
    if (change.highWatermark) this.#appendListeners.emit(state.topic, state.partition, state.highWatermark)
    if (change.leaderEpoch) this.#epochListeners.emit(state.topic, state.partition, state.leaderEpoch)
  }

  /**
   * Takes a topic's stored metadata and its partitions' rows. Partitions already known keep their
   * state and take their rows as any read of the database (takeStored); new ones start from their
   * rows and take the notices that came before them. A topic gone, or recreated under a new id,
   * leaves its old partitions deleted.
   */
  #applyTopic(meta: TopicMetadata | undefined, name: string, rows: PartitionRow[], read: number): void {
    // A read that began before the one this topic was last taken from is older news: a resync
    // started before a create would otherwise undo it (and mark the new partitions deleted).
    if ((this.#readOf.get(name) ?? 0) > read) return
    this.#readOf.set(name, read)
    const known = this.#topics.get(name)
    if (known !== undefined && (meta === undefined || known.meta.topicId !== meta.topicId)) {
      for (const state of known.partitions) state.deleted = true
      this.#topics.delete(name)
      this.#topicsById.delete(known.meta.topicId)
    }
    if (meta === undefined) return
    const current = this.#topics.get(name)
    const partitions = current?.partitions ?? []
    const byPartition = new Map(rows.map((r) => [r.partition, r]))
    for (const state of partitions) {
      const row = byPartition.get(state.partition)
      if (row !== undefined) this.#tell(state, state.takeStored(offsetsOf(row)))
    }
    const added: PartitionState[] = []
    for (let p = partitions.length; p < meta.partitionCount; p++) {
      const row = byPartition.get(p)
      const offsets =
        row === undefined ? { logStartOffset: 0, highWatermark: 0, leaderEpoch: 0, commitFence: 0 } : offsetsOf(row)
      const state = new PartitionState(name, meta.topicId, p, offsets, this.#tailBytes)
      partitions.push(state)
      added.push(state)
    }
    const topic = { meta, partitions }
    this.#topics.set(name, topic)
    this.#topicsById.set(meta.topicId, topic)
    for (const state of added) {
      const key = `${state.topicId}/${state.partition}`
      const early = this.#early.get(key)
      if (early === undefined) continue
      this.#early.delete(key)
      this.#tell(state, state.takeForeign(early, early.rewritten))
    }
  }

  /** Re-reads one topic. */
  async #refreshTopic(name: string): Promise<void> {
    const read = ++this.#reads
    const { rows } = await idempotentQuery<TopicRow & PartitionRow>(this.#pool, {
      text: `SELECT t.name, t.topic_id::text, t.partition_count, t.configs,
              p.partition, p.log_start_offset, p.high_watermark, p.leader_epoch, p.commit_fence
       FROM topics t LEFT JOIN partitions p ON p.topic_id = t.topic_id WHERE t.name = $1`,
      values: [name],
    })
    const first = rows[0]
    this.#applyTopic(
      first === undefined ? undefined : metaOf(first),
      name,
      rows.filter((r) => r.partition !== null),
      read,
    )
  }

  /** Re-reads every topic (open, a new LISTEN connection, a poll); tells listeners what changed. */
  async #resync(): Promise<void> {
    if (this.#closed) return
    const read = ++this.#reads
    const topics = await idempotentQuery<TopicRow>(this.#pool, {
      text: 'SELECT name, topic_id::text, partition_count, configs FROM topics',
    })
    const parts = await idempotentQuery<PartitionRow>(this.#pool, {
      text: 'SELECT topic_id::text, partition, log_start_offset, high_watermark, leader_epoch, commit_fence FROM partitions',
    })
    const byTopic = new Map<string, PartitionRow[]>()
    for (const row of parts.rows) {
      const list = byTopic.get(row.topic_id) ?? []
      list.push(row)
      byTopic.set(row.topic_id, list)
    }
    const stored = new Map(topics.rows.map((r) => [r.name, metaOf(r)]))
    const changed: string[] = []
    for (const name of new Set([...this.#topics.keys(), ...stored.keys()])) {
      const before = this.#topics.get(name)?.meta
      const after = stored.get(name)
      // Every partition takes its row, changed topic or not: notices may have been missed.
      this.#applyTopic(after, name, after === undefined ? [] : (byTopic.get(after.topicId) ?? []), read)
      if (before === undefined || after === undefined || JSON.stringify(before) !== JSON.stringify(after)) {
        changed.push(name)
      }
    }
    for (const name of changed) this.#metadataListeners.emit(name)
  }

  /**
   * Another broker changed partitions: each known partition takes its state (PartitionState.takeForeign);
   * a partition not known yet keeps it until its topic or partition is read.
   */
  #onPartitionNotice(payload: string | undefined): void {
    if (this.#closed || payload === undefined || payload.startsWith(`${this.#origin} `)) return
    const notice = decodePartitionNotice(payload)
    if (notice === null) {
      this.#logger.warn({ payload: payload.slice(0, 200) }, 'ignored a partition notice it cannot read')
      return
    }
    // Its own hello too comes back.
    if (notice.origin === this.#origin) return
    if (this.#notifier.heard(notice.origin)) this.#hello()
    for (const entry of notice.entries) {
      const state = this.#topicsById.get(entry.topicId)?.partitions[entry.partition]
      if (state !== undefined) this.#tell(state, state.takeForeign(entry, entry.rewritten))
      else this.#keepEarly(entry)
    }
  }

  /** Keeps a notice for a partition not known yet, merged with an earlier one (values only rise). */
  #keepEarly(entry: PartitionNoticeEntry): void {
    const key = `${entry.topicId}/${entry.partition}`
    const kept = this.#early.get(key)
    this.#early.delete(key)
    this.#early.set(
      key,
      kept === undefined
        ? entry
        : {
            ...entry,
            logStartOffset: Math.max(kept.logStartOffset, entry.logStartOffset),
            highWatermark: Math.max(kept.highWatermark, entry.highWatermark),
            leaderEpoch: Math.max(kept.leaderEpoch, entry.leaderEpoch),
            rewritten: kept.rewritten || entry.rewritten,
          },
    )
    // The oldest go first: notices of deleted topics are never claimed.
    for (const oldest of this.#early.keys()) {
      if (this.#early.size <= MAX_EARLY_NOTICES) break
      this.#early.delete(oldest)
    }
  }

  /** Another broker changed a topic: take its stored state, then tell the listeners. */
  #onNotice(notice: MetadataNotice): void {
    if (notice.origin === this.#origin || this.#closed) return
    this.#refreshTopic(notice.topic).then(
      () => this.#metadataListeners.emit(notice.topic),
      (err: unknown) => this.#logger.warn({ err, topic: notice.topic }, 'cannot re-read a changed topic'),
    )
  }
}

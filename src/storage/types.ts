import type { BatchInfo } from '../protocol/records/batch-header.ts'

/**
 * The Storage interface: the seam between the broker and its engines (memory, local files,
 * PostgreSQL). Batch-oriented and async; it knows nothing about sockets or the wire protocol
 * beyond the record batch header. Offsets are plain numbers: a partition would need 2^53
 * records before they lose precision.
 *
 * Expected outcomes are values (an errorCode in a result), not exceptions; engines throw only
 * for I/O faults, which the broker answers with KAFKA_STORAGE_ERROR.
 */

/** A topic as stored: name, id and partition count, plus its explicitly set config overrides. */
export interface TopicMetadata {
  name: string
  /** Canonical 8-4-4-4-12 hex form. */
  topicId: string
  partitionCount: number
  /** Only the configs set on the topic; defaults come from the broker config. */
  configs: Record<string, string>
}

/**
 * Per-batch facts the broker read from a validated batch header (position, size,
 * lastOffsetDelta, timestamps, producer fields, flags), so engines never parse records.
 */
export type { BatchInfo } from '../protocol/records/batch-header.ts'

/** One or more validated v2 batches for one partition, laid out back to back. */
export interface AppendInput {
  data: Buffer
  batches: BatchInfo[]
  /**
   * Called synchronously once offsets are assigned (the first batch gets `baseOffset`), before
   * the high watermark moves past them and before any later append of the partition is
   * assigned: the producer state (coordinator/producer) records offsets in log order here, so
   * the last stable offset never exposes an open transaction. If the append then fails, the
   * offsets are void: the engine gives them to the next append.
   */
  onAssigned?: (baseOffset: number) => void
}

export interface AppendResult {
  /** Offset assigned to the first record of the first batch. */
  baseOffset: number
  logStartOffset: number
}

export interface AppendOptions {
  /** Resolve only once the data is durable (acks=all); appends arriving meanwhile share one sync. */
  durable: boolean
  /**
   * The leader epoch the broker leads the partition with. The engine refuses an append whose
   * epoch is not the partition's stored one (EngineRequestError FENCED_LEADER_EPOCH, nothing
   * written), so a deposed leader can never write.
   */
  leaderEpoch: number
}

export interface PartitionOffsets {
  logStartOffset: number
  highWatermark: number
  /**
   * Engines report the high watermark; the broker lowers it to the first offset of the oldest
   * open transaction from the producer state (coordinator/producer), which it rebuilds from the
   * batch headers in the log.
   */
  lastStableOffset: number
}

export interface ReadOptions {
  /** Upper bound (exclusive) for batches returned, e.g. the last stable offset for read_committed. */
  maxOffset?: number
  /**
   * Return the first batch even when it is larger than maxBytes (KIP-74), so a consumer always
   * makes progress.
   */
  minOneBatch: boolean
}

export interface ReadResult {
  /** Whole batches, as stored, starting with the one that contains the requested offset. */
  records: Buffer
  offsets: PartitionOffsets
  /**
   * NONE, OFFSET_OUT_OF_RANGE (offset outside [logStartOffset, highWatermark]) or
   * UNKNOWN_TOPIC_OR_PARTITION; records is empty unless NONE.
   */
  errorCode: number
}

export interface TimestampLookup {
  offset: number
  timestamp: number
}

/**
 * Called after every append with the partition and its new high watermark: appends through this
 * engine, and for engines that several brokers share, appends by the other brokers as soon as
 * the engine learns of them (they wake long polls there).
 */
export type AppendListener = (topic: string, partition: number, highWatermark: number) => void

/**
 * A partition's stored leader epoch rose (claimLeadership), through this engine or, for engines
 * several brokers share, through another broker's: every broker reports the epoch in Metadata.
 */
export type LeaderEpochListener = (topic: string, partition: number, epoch: number) => void

/** The ABORT marker of a transaction whose data the log cleaner has removed entirely. */
export interface CleanedAbortedTxn {
  producerId: number
  /** Offset of the marker. */
  markerOffset: number
}

/**
 * Told by the log cleaner which aborted transactions of a partition have no data left; resolves
 * once they are durably gone from the aborted-transaction index, after which the cleaner may
 * remove their markers.
 */
export type AbortedTxnsCleanedHandler = (topic: string, partition: number, txns: CleanedAbortedTxn[]) => Promise<void>

/**
 * A value with the version it was read at: 0 for a key never written; a deleted key keeps the
 * version of its deletion, so a compare-and-set expecting 0 fails on it.
 */
export interface Versioned {
  value: Buffer | undefined
  version: number
}

/**
 * A durable key-value namespace for coordinator state (group metadata, committed offsets,
 * producer ids, transactions). Writes in one call are atomic. Several brokers may share one
 * store: conditional writes and allocation keep them from overwriting each other.
 */
export interface KeyValueStore {
  get(namespace: string, key: string): Promise<Buffer | undefined>
  list(namespace: string): Promise<Map<string, Buffer>>
  /** Writes every entry atomically; a null value deletes the key. */
  put(namespace: string, entries: Map<string, Buffer | null>): Promise<void>
  /** Removes a whole namespace. */
  drop(namespace: string): Promise<void>
  /** A value and its version, which every write of the key (put and delete included) increases. */
  getVersioned(namespace: string, key: string): Promise<Versioned>
  /**
   * Compare-and-set: writes `value` (null deletes) only if the key is still at version
   * `expected` (0: never written); resolves the new version, or null when another write came first.
   */
  putIfVersion(namespace: string, key: string, expected: number, value: Buffer | null): Promise<number | null>
  /**
   * Atomically adds `count` to the counter at `key` (starting at 0) and resolves its value before
   * the addition: concurrent callers get disjoint ranges [value, value + count).
   */
  allocate(namespace: string, key: string, count: number): Promise<number>
}

/** What an engine has, so that callers ask about features instead of engine names. */
export interface StorageCapabilities {
  /** What is written survives a restart (snapshots of derived state are worth writing). */
  durable: boolean
  /**
   * Several brokers may share the store, each a member of one cluster (membership, leases and
   * leader claims run over it); otherwise one process owns it.
   */
  shared: boolean
  /** The log lives in segment files that roll (onSegmentRolled). */
  segments: boolean
  /** The engine compacts topics with cleanup.policy=compact (runCleaner). */
  compaction: boolean
  /** The local directory holding the data, whose file system DescribeLogDirs measures; else undefined. */
  logDir: string | undefined
  /**
   * append() may keep a reference to the appended bytes after it settles (kept in memory, or
   * queued for a later commit); otherwise the broker may reuse the request buffer they came in.
   */
  keepsAppendedBytes: boolean
}

/**
 * A topic created, deleted or changed (configs, partition count) through this engine, by this
 * broker or another sharing the store: the listener re-reads it (listTopics).
 */
export type MetadataListener = (topic: string) => void

/** Whether an engine's reads and writes work (the broker's readiness, GET /health/ready). */
export interface StorageHealth {
  ok: boolean
  /** Why not: the I/O fault that the engine's latest operations met. */
  error?: string
  /** Since when (ms since the epoch) operations have been failing. */
  since?: number
}

export interface Storage {
  /** Engine name for logs and DescribeLogDirs: 'memory', 'local', 'postgres'. */
  readonly engine: string
  /** Where the data lives, for DescribeLogDirs (a directory, a connection string, 'memory'). */
  readonly location: string
  readonly kv: KeyValueStore
  readonly capabilities: StorageCapabilities

  listTopics(): Promise<TopicMetadata[]>
  /** Creates a topic; resolves false if a topic with that name already exists. */
  createTopic(topic: TopicMetadata): Promise<boolean>
  /** Deletes a topic and its data; resolves false if it does not exist. */
  deleteTopic(name: string): Promise<boolean>
  /** Replaces a topic's config overrides. */
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<void>
  /** Grows a topic to `count` partitions. */
  createPartitions(name: string, count: number): Promise<void>

  append(topic: string, partition: number, input: AppendInput, options: AppendOptions): Promise<AppendResult>
  read(topic: string, partition: number, offset: number, maxBytes: number, options: ReadOptions): Promise<ReadResult>
  offsets(topic: string, partition: number): Promise<PartitionOffsets>
  /** The first batch whose max timestamp is >= timestamp, or null if none. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<TimestampLookup | null>
  /** The offset and timestamp of the record with the largest timestamp, or null for an empty log. */
  maxTimestamp(topic: string, partition: number): Promise<TimestampLookup | null>
  /** Moves the log start offset forward (DeleteRecords); resolves the new log start offset. */
  deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number>
  /** Bytes stored for a partition. */
  partitionSize(topic: string, partition: number): Promise<number>
  /** The partition's stored leader epoch (0 for a new partition). */
  leaderEpoch(topic: string, partition: number): Promise<number>
  /**
   * A broker taking leadership: stores `epoch` if it is above the stored one, and resolves the
   * stored epoch afterwards (the caller leads only if that equals `epoch`). Appends with any
   * lower epoch are refused from then on.
   */
  claimLeadership(topic: string, partition: number, epoch: number): Promise<number>

  onAppend(listener: AppendListener): () => void
  /** Calls `listener` each time a partition's stored leader epoch rises; returns an unsubscribe. */
  onLeaderEpoch(listener: LeaderEpochListener): () => void
  /** Calls `listener` for every topic created, deleted or changed; returns an unsubscribe. */
  onMetadataChange(listener: MetadataListener): () => void
  /**
   * Engines that compact: sets who keeps the aborted-transaction index (the producer state).
   * Until one is set, the cleaner keeps every ABORT marker, since a read_committed consumer told
   * of an aborted transaction skips the producer's later records up to that marker.
   */
  onAbortedTxnsCleaned?(handler: AbortedTxnsCleanedHandler): void
  /**
   * Engines with segment files: calls `listener` each time a partition's log rolls to a new
   * segment (the producer state snapshots then, so that a crash replays about a segment at most,
   * as Kafka's producer snapshots at each roll).
   */
  onSegmentRolled?(listener: (topic: string, partition: number) => void): void
  /** Applies retention.ms and retention.bytes now, as the engine's timer would (samsa/testing's advanceTime). */
  runRetention?(): Promise<void>
  /** Runs a compaction pass on each compacted partition that is due now, for engines that compact. */
  runCleaner?(): Promise<unknown>
  /**
   * Not ok from an I/O fault (a failed write or sync, a lost database connection) until an
   * operation succeeds again; not ok once closed.
   */
  health(): StorageHealth
  /** Flushes and releases everything; no call may follow. */
  close(): Promise<void>
}

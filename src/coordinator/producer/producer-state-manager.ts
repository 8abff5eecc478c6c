/**
 * Producer state of every partition: idempotent and transactional appends go through here, so
 * sequence checks and offset assignment happen in one ordered step per partition; transaction
 * markers too. Also answers the last stable offset, and reads partitions at an isolation level.
 *
 * Durability: the state is derived from the log. A snapshot per partition goes to the key-value
 * store (namespace `producer-state`) periodically, when a segment rolls and on close; on start
 * each partition loads its snapshot and replays the batch headers written after it (only control
 * batches are decoded, for their commit/abort type). A kill -9 loses at most what the replay
 * rebuilds; a snapshot that lies beyond the recovered log end (a truncated torn tail) is
 * discarded and the whole log replayed. Every snapshot records how far the log was accounted
 * for, up to the high watermark, also for partitions that only plain producers write: the replay
 * after a crash covers what came since the last snapshot or roll, not everything since the last
 * idempotent batch.
 */

import { ErrorCode } from '../../protocol/error-codes.ts'
import { decodeBatchSync } from '../../protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../protocol/records/batch-header.ts'
import { ControlType, encodeEndTxnMarkerBatch, readEndTxnMarker } from '../../protocol/records/control.ts'
import { RecordsError } from '../../protocol/records/errors.ts'
import type { AppendResult, CleanedAbortedTxn, KeyValueStore, Storage } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import { type IsolatedRead, type IsolatedReadOptions, readIsolated } from './isolated-read.ts'
import { type AbortedTxn, PartitionProducerState, type PartitionSnapshot, type TxnVerifier } from './partition-state.ts'

const NAMESPACE = 'producer-state'
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024
const SNAPSHOT_INTERVAL_MS = 30_000

/** Outcome of a stateful append: offsets, or an error code for the partition response. */
export type GuardedAppend =
  | { errorCode: 0; baseOffset: number; logStartOffset: number }
  | { errorCode: number; message: string }

export interface ProducerStateDeps {
  storage: Storage
  log: Log
  now: () => number
  prop: (name: string) => string
  /** Checks a transactional batch against the transaction coordinator. */
  verify: (producerId: number, epoch: number, topic: string, partition: number) => number
  /** The leader epoch this broker appends to a partition with. */
  leaderEpoch: (topic: string, partition: number) => number
}

/** Key of a partition's snapshot in the key-value store. */
function key(topic: string, partition: number): string {
  return JSON.stringify([topic, partition])
}

/** Producer state of all partitions. */
export class ProducerStateManager {
  readonly #deps: ProducerStateDeps
  readonly #kv: KeyValueStore
  /** By topic, then partition: looked up on every idempotent produce and every fetch. */
  readonly #partitions = new Map<string, Map<number, PartitionProducerState>>()
  #timer: NodeJS.Timeout | undefined
  #snapshotting: Promise<void> | null = null
  /** Partitions without producer state: the log end their stored snapshot records. */
  readonly #quietEnds = new Map<string, number>()

  constructor(deps: ProducerStateDeps) {
    this.#deps = deps
    this.#kv = deps.storage.kv
  }

  /** The state of a partition, created empty on first use. */
  partition(topic: string, partition: number): PartitionProducerState {
    let byPartition = this.#partitions.get(topic)
    if (byPartition === undefined) {
      byPartition = new Map()
      this.#partitions.set(topic, byPartition)
    }
    let state = byPartition.get(partition)
    if (state === undefined) {
      state = new PartitionProducerState()
      byPartition.set(partition, state)
    }
    return state
  }

  /** The state of a partition if any producer ever wrote to it. */
  peek(topic: string, partition: number): PartitionProducerState | undefined {
    return this.#partitions.get(topic)?.get(partition)
  }

  /**
   * Appends one producer batch (producerId ≥ 0) after the idempotence and transaction checks.
   * Must be called synchronously in request order, like storage.append. Rejects with the
   * storage's error when the append fails, and so does a retry that waited for it.
   */
  append(topic: string, partition: number, data: Buffer, info: BatchInfo, durable: boolean): Promise<GuardedAppend> {
    const state = this.partition(topic, partition)
    const verify: TxnVerifier = (pid, epoch) => this.#deps.verify(pid, epoch, topic, partition)
    const r = state.check(info, verify)
    if (r.kind === 'error') return Promise.resolve({ errorCode: r.errorCode, message: r.message })
    const storage = this.#deps.storage
    if (r.kind === 'duplicate') {
      // Kafka answers a retried batch it still remembers with the offset it got the first time;
      // one still in flight shares the original's outcome (durability included), or its error.
      return (r.meta.done as Promise<number>).then(async (baseOffset) => ({
        errorCode: ErrorCode.NONE,
        baseOffset,
        logStartOffset: (await storage.offsets(topic, partition)).logStartOffset,
      }))
    }
    const { meta, entry } = r
    const onAssigned = (baseOffset: number): void => state.assigned(entry, meta, baseOffset)
    return storage
      .append(
        topic,
        partition,
        { data, batches: [info], onAssigned },
        { durable, leaderEpoch: this.#deps.leaderEpoch(topic, partition) },
      )
      .then(
        (res: AppendResult) => {
          state.completed(meta)
          return { errorCode: ErrorCode.NONE, baseOffset: res.baseOffset, logStartOffset: res.logStartOffset }
        },
        (err: unknown) => {
          state.failed(entry, meta, err)
          throw err
        },
      )
  }

  /** Writes a COMMIT or ABORT marker for a producer's transaction into a partition (durably). */
  async writeMarker(
    topic: string,
    partition: number,
    producerId: number,
    epoch: number,
    commit: boolean,
    coordinatorEpoch: number,
  ): Promise<void> {
    const state = this.partition(topic, partition)
    const data = encodeEndTxnMarkerBatch({
      type: commit ? ControlType.COMMIT : ControlType.ABORT,
      coordinatorEpoch,
      producerId,
      producerEpoch: epoch,
      timestamp: this.#deps.now(),
    })
    const info = readBatchHeader(data) as BatchInfo
    state.markerIssued(producerId, epoch)
    const onAssigned = (offset: number): void =>
      state.markerAssigned(producerId, epoch, commit, coordinatorEpoch, offset)
    const leaderEpoch = this.#deps.leaderEpoch(topic, partition)
    await this.#deps.storage.append(
      topic,
      partition,
      { data, batches: [info], onAssigned },
      { durable: true, leaderEpoch },
    )
  }

  /** min(high watermark, first offset of the oldest open transaction). */
  lastStableOffset(topic: string, partition: number, highWatermark: number): number {
    const state = this.peek(topic, partition)
    return state === undefined ? highWatermark : Math.min(highWatermark, state.firstUnstableOffset())
  }

  /** Reads a partition as a consumer at an isolation level sees it (isolated-read.ts). */
  read(
    topic: string,
    partition: number,
    offset: number,
    maxBytes: number,
    options: IsolatedReadOptions,
  ): Promise<IsolatedRead> {
    return readIsolated(this.#deps.storage, this.peek(topic, partition), topic, partition, offset, maxBytes, options)
  }

  /** Aborted transactions overlapping [from, to) of a partition. */
  abortedTransactions(topic: string, partition: number, from: number, to: number): AbortedTxn[] {
    const state = this.peek(topic, partition)
    return state === undefined || state.aborted.length === 0 ? [] : state.abortedBetween(from, to)
  }

  /** Loads snapshots and replays the log after them, for every partition of `topics`. */
  async load(topics: { name: string; partitionCount: number }[]): Promise<void> {
    const snapshots = await this.#kv.list(NAMESPACE)
    const scanned = new Map<string, Buffer | null>()
    for (const t of topics) {
      for (let p = 0; p < t.partitionCount; p++) {
        const k = key(t.name, p)
        const raw = snapshots.get(k)
        const snapshot = raw === undefined ? undefined : (JSON.parse(raw.toString()) as PartitionSnapshot)
        const empty = await this.#loadPartition(t.name, p, snapshot)
        if (empty) {
          scanned.set(k, Buffer.from(JSON.stringify(empty.toSnapshot())))
          this.#quietEnds.set(k, empty.stateEnd)
        } else if (this.peek(t.name, p) === undefined) {
          this.#quietEnds.set(k, snapshot?.end ?? 0)
        }
      }
    }
    // Partitions without producers have no state to snapshot later; recording how far their log
    // was read spares the next start from reading it all again.
    if (scanned.size > 0 && this.#deps.storage.capabilities.durable) await this.#kv.put(NAMESPACE, scanned)
    // Only now that every partition's state is loaded may the cleaner's news change it.
    this.#deps.storage.onAbortedTxnsCleaned?.((topic, partition, txns) => this.#forgetAborted(topic, partition, txns))
    // As Kafka snapshots at each segment roll: a crash then replays about a segment at most.
    this.#deps.storage.onSegmentRolled?.(() => {
      this.snapshot().catch((err: unknown) => this.#deps.log.error({ err }, 'producer state snapshot failed'))
    })
    if (this.#deps.storage.capabilities.durable) {
      this.#timer = setInterval(() => {
        this.snapshot().catch((err: unknown) => this.#deps.log.error({ err }, 'producer state snapshot failed'))
      }, SNAPSHOT_INTERVAL_MS)
      this.#timer.unref()
    }
  }

  /**
   * Rebuilds one partition's state; returns the state when it holds no producer but the replay
   * read new log data (its snapshot then records only how far the log was read).
   */
  async #loadPartition(
    topic: string,
    partition: number,
    snapshot: PartitionSnapshot | undefined,
  ): Promise<PartitionProducerState | undefined> {
    const storage = this.#deps.storage
    const offsets = await storage.offsets(topic, partition)
    let state = snapshot === undefined ? new PartitionProducerState() : PartitionProducerState.fromSnapshot(snapshot)
    if (state.stateEnd > offsets.highWatermark) {
      this.#deps.log.warn({ topic, partition }, 'producer state snapshot is ahead of the log; rebuilding from the log')
      state = new PartitionProducerState()
    }
    const start = Math.max(state.stateEnd, offsets.logStartOffset)
    let offset = start
    while (offset < offsets.highWatermark) {
      const read = await storage.read(topic, partition, offset, SCAN_CHUNK_BYTES, { minOneBatch: true })
      if (read.errorCode !== ErrorCode.NONE || read.records.length === 0) break
      const next = replayChunk(state, read.records)
      if (next <= offset) break
      offset = next
    }
    state.dirty = false
    if (state.producers.size > 0 || state.aborted.length > 0) {
      if (!this.#partitions.has(topic)) this.#partitions.set(topic, new Map())
      this.#partitions.get(topic)?.set(partition, state)
      return undefined
    }
    if (offset <= start) return undefined
    state.stateEnd = offset
    return state
  }

  /**
   * The log cleaner removed every batch of these aborted transactions: unlist them, durably,
   * before the cleaner may remove their markers (a snapshot begun before the change would not
   * hold it, so a new one follows it).
   */
  async #forgetAborted(topic: string, partition: number, txns: CleanedAbortedTxn[]): Promise<void> {
    if (!this.peek(topic, partition)?.forgetAborted(txns)) return
    await this.#snapshotting?.catch(() => {})
    await this.snapshot()
  }

  /** Writes a snapshot of every partition whose state changed (and drops idle producers). */
  snapshot(): Promise<void> {
    this.#snapshotting ??= this.#writeSnapshots().finally(() => {
      this.#snapshotting = null
    })
    return this.#snapshotting
  }

  async #writeSnapshots(): Promise<void> {
    const cutoff = this.#deps.now() - Number(this.#deps.prop('producer.id.expiration.ms'))
    const entries = new Map<string, Buffer | null>()
    const quiet = new Map<string, number>()
    const storage = this.#deps.storage
    for (const topic of await storage.listTopics()) {
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        const k = key(topic.name, partition)
        const offsets = await storage.offsets(topic.name, partition).catch(() => undefined)
        if (offsets === undefined) continue
        // Every producer batch below the high watermark was assigned its offset, so it is in the state.
        const state = this.peek(topic.name, partition)
        if (state === undefined) {
          if (offsets.highWatermark <= (this.#quietEnds.get(k) ?? 0)) continue
          const empty = new PartitionProducerState()
          empty.stateEnd = offsets.highWatermark
          entries.set(k, Buffer.from(JSON.stringify(empty.toSnapshot())))
          quiet.set(k, offsets.highWatermark)
          continue
        }
        state.expire(cutoff, offsets.logStartOffset)
        if (offsets.highWatermark > state.stateEnd) {
          state.stateEnd = offsets.highWatermark
          state.dirty = true
        }
        if (!state.dirty) continue
        state.dirty = false
        entries.set(k, Buffer.from(JSON.stringify(state.toSnapshot())))
      }
    }
    if (entries.size > 0) await this.#kv.put(NAMESPACE, entries)
    for (const [k, end] of quiet) this.#quietEnds.set(k, end)
  }

  /** Forgets a deleted topic's state. */
  async forgetTopic(topic: string): Promise<void> {
    const entries = new Map<string, Buffer | null>()
    for (const partition of this.#partitions.get(topic)?.keys() ?? []) entries.set(key(topic, partition), null)
    this.#partitions.delete(topic)
    for (const k of (await this.#kv.list(NAMESPACE)).keys()) {
      if ((JSON.parse(k) as [string, number])[0] === topic) entries.set(k, null)
    }
    if (entries.size > 0) await this.#kv.put(NAMESPACE, entries)
  }

  /** Stops the timer and writes a last snapshot (storage must still be open). */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#deps.storage.capabilities.durable) await this.snapshot()
  }
}

/** Replays the stateful batches of a buffer of stored batches; returns the offset after the last one. */
function replayChunk(state: PartitionProducerState, buf: Buffer): number {
  let pos = 0
  let next = -1
  while (pos < buf.length) {
    const info = readBatchHeader(buf, pos)
    if (info instanceof RecordsError || info.size > buf.length - pos) break
    next = info.baseOffset + info.lastOffsetDelta + 1
    if (info.producerId >= 0) {
      let marker: { commit: boolean; coordinatorEpoch: number } | null = null
      if (info.isControl) {
        const record = decodeBatchSync(buf.subarray(pos, pos + info.size)).records[0]
        if (record !== undefined) {
          try {
            const m = readEndTxnMarker(record)
            marker = { commit: m.type === ControlType.COMMIT, coordinatorEpoch: m.coordinatorEpoch }
          } catch {
            marker = null
          }
        }
        if (marker !== null) state.replay(info, marker)
      } else state.replay(info, null)
    }
    pos += info.size
  }
  return next
}

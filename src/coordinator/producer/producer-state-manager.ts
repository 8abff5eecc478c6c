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
 *
 * Over storage several brokers share, a partition's state is its leader's: a broker loads and
 * snapshots only the partitions it leads (deps.leads), and one that has just become a leader
 * rebuilds the partition from the previous leader's snapshot and log (reloadPartition).
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
  /**
   * Whether this broker leads the partition: only a leader loads a partition's state at start
   * and writes its snapshots. Default: every partition (one broker owns the storage).
   */
  leads?: (topic: string, partition: number) => boolean
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
  /**
   * Over shared storage: the version of each snapshot this broker last read or wrote, for the
   * partitions it rebuilt as their leader. Snapshots are written only over that version, so a
   * deposed leader never overwrites its successor's.
   */
  readonly #versions = new Map<string, number>()

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

  /** Whether the producer has a transaction open (or being opened) in the partition. */
  inTransaction(topic: string, partition: number, producerId: number): boolean {
    return this.peek(topic, partition)?.inTransaction(producerId) === true
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

  #leads(topic: string, partition: number): boolean {
    return this.#deps.leads?.(topic, partition) ?? true
  }

  /**
   * Loads snapshots and replays the log after them, for every partition of `topics` this broker
   * leads (over shared storage, partitions led later are rebuilt by reloadPartition).
   */
  async load(topics: { name: string; partitionCount: number }[]): Promise<void> {
    const shared = this.#deps.storage.capabilities.shared
    const snapshots = shared ? new Map<string, Buffer>() : await this.#kv.list(NAMESPACE)
    const scanned = new Map<string, Buffer | null>()
    for (const t of topics) {
      for (let p = 0; p < t.partitionCount; p++) {
        if (!this.#leads(t.name, p)) continue
        if (shared) {
          await this.reloadPartition(t.name, p)
          continue
        }
        const k = key(t.name, p)
        const raw = snapshots.get(k)
        const snapshot = raw === undefined ? undefined : (JSON.parse(raw.toString()) as PartitionSnapshot)
        const { state, start, end } = await this.#rebuild(t.name, p, snapshot)
        this.#install(t.name, p, state, end > start ? end : (snapshot?.end ?? 0))
        // Partitions without producers have no state to snapshot later; recording how far their
        // log was read spares the next start from reading it all again.
        if (!this.#holds(state) && end > start) scanned.set(k, Buffer.from(JSON.stringify(state.toSnapshot())))
      }
    }
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
   * Rebuilds one partition's producer state from storage: its stored snapshot, then the log after
   * it, replacing what this broker held. For a broker that has just become the partition's leader
   * after another wrote to it: call it once the previous leader is fenced and before serving
   * appends. Over shared storage the rebuilt snapshot is then written back over the version read,
   * which also keeps the previous leader from writing this partition's snapshot any more; a
   * snapshot written in between makes it read again.
   */
  async reloadPartition(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition)
    const shared = this.#deps.storage.capabilities.shared
    for (let attempt = 1; ; attempt++) {
      const { value, version } = await this.#kv.getVersioned(NAMESPACE, k)
      const snapshot = value === undefined ? undefined : (JSON.parse(value.toString()) as PartitionSnapshot)
      const { state, end } = await this.#rebuild(topic, partition, snapshot, true)
      state.stateEnd = Math.max(state.stateEnd, end)
      const data = Buffer.from(JSON.stringify(state.toSnapshot()))
      if (!shared) {
        if (this.#deps.storage.capabilities.durable) await this.#kv.put(NAMESPACE, new Map([[k, data]]))
        this.#install(topic, partition, state, state.stateEnd)
        return
      }
      const written = await this.#kv.putIfVersion(NAMESPACE, k, version, data)
      if (written !== null) {
        this.#versions.set(k, written)
        this.#install(topic, partition, state, state.stateEnd)
        return
      }
      if (attempt >= 3) throw new Error(`the producer state snapshot of ${topic}-${partition} keeps changing`)
    }
  }

  /**
   * Rebuilds one partition's state from a snapshot and the log after it, without installing it;
   * `start` and `end` bound the log read. With `strict`, a failed read fails the rebuild.
   */
  async #rebuild(
    topic: string,
    partition: number,
    snapshot: PartitionSnapshot | undefined,
    strict = false,
  ): Promise<{ state: PartitionProducerState; start: number; end: number }> {
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
      if (strict && read.errorCode !== ErrorCode.NONE) {
        throw new Error(`reading ${topic}-${partition} at ${offset} for its producer state failed (${read.errorCode})`)
      }
      if (read.errorCode !== ErrorCode.NONE || read.records.length === 0) break
      const next = replayChunk(state, read.records)
      if (next <= offset) break
      offset = next
    }
    state.dirty = false
    // A state without producers records only how far the log was read.
    if (!this.#holds(state) && offset > start) state.stateEnd = offset
    return { state, start, end: offset }
  }

  /** Whether a partition's state holds anything beyond how far the log was read. */
  #holds(state: PartitionProducerState): boolean {
    return state.producers.size > 0 || state.aborted.length > 0
  }

  /** Makes a rebuilt state the partition's; `storedEnd` is the log end its stored snapshot records. */
  #install(topic: string, partition: number, state: PartitionProducerState, storedEnd: number): void {
    const k = key(topic, partition)
    if (this.#holds(state)) {
      let byPartition = this.#partitions.get(topic)
      if (byPartition === undefined) {
        byPartition = new Map()
        this.#partitions.set(topic, byPartition)
      }
      byPartition.set(partition, state)
      this.#quietEnds.delete(k)
      return
    }
    this.#partitions.get(topic)?.delete(partition)
    this.#quietEnds.set(k, storedEnd)
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
    const entries = new Map<string, Buffer>()
    const quiet = new Map<string, number>()
    const storage = this.#deps.storage
    const shared = storage.capabilities.shared
    for (const topic of await storage.listTopics()) {
      for (let partition = 0; partition < topic.partitionCount; partition++) {
        const k = key(topic.name, partition)
        // Only the leader's state accounts for every batch below the high watermark; over shared
        // storage, only a partition this broker rebuilt as leader has a snapshot version of its own.
        if (!this.#leads(topic.name, partition) || (shared && !this.#versions.has(k))) continue
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
    if (entries.size === 0) return
    if (!shared) {
      await this.#kv.put(NAMESPACE, entries)
      for (const [k, end] of quiet) this.#quietEnds.set(k, end)
      return
    }
    for (const [k, data] of entries) {
      const written = await this.#kv.putIfVersion(NAMESPACE, k, this.#versions.get(k) ?? 0, data)
      if (written === null) {
        // Another broker rebuilt the partition as its leader since: its snapshots are its own now.
        this.#versions.delete(k)
        this.#deps.log.warn({ partition: k }, 'producer state snapshot was written by another broker; not writing it')
        continue
      }
      this.#versions.set(k, written)
      const end = quiet.get(k)
      if (end !== undefined) this.#quietEnds.set(k, end)
    }
  }

  /** Forgets a deleted topic's state. */
  async forgetTopic(topic: string): Promise<void> {
    const entries = new Map<string, Buffer | null>()
    for (const partition of this.#partitions.get(topic)?.keys() ?? []) entries.set(key(topic, partition), null)
    this.#partitions.delete(topic)
    for (const k of (await this.#kv.list(NAMESPACE)).keys()) {
      if ((JSON.parse(k) as [string, number])[0] === topic) entries.set(k, null)
    }
    for (const k of entries.keys()) {
      this.#versions.delete(k)
      this.#quietEnds.delete(k)
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

/**
 * The part of log compaction that every engine shares: when a pass is due, the key map, and what
 * becomes of each batch. No files, no database: an engine finds the batches of the range it
 * cleans, feeds them through here, and writes back what comes out (the local engine a cleaned
 * segment, the postgres engine the changed rows). The rules are Kafka's LogCleaner's:
 *
 * - A pass is due when dirty bytes / cleanable bytes reach min.cleanable.dirty.ratio, when the
 *   oldest dirty record is older than max.compaction.lag.ms, or when a kept tombstone's or
 *   marker's delete horizon has passed (dueReason).
 * - The key map holds every key of the dirty range with its last offset (addToOffsetMap); the
 *   records of aborted transactions stay out of it.
 * - A record stays when no later record of the map has its key (retain). Tombstones (null
 *   values) stay until delete.retention.ms after the pass that first kept them (KIP-534: the
 *   batch gets a delete horizon in its base timestamp and attributes bit 6) and go in the first
 *   pass after that. Records without a key go too (a compacted topic refuses them).
 * - A batch whose records all stay is kept as is; otherwise its kept records are re-encoded with
 *   the batch's base offset, lastOffsetDelta, leader epoch, producer fields, timestamp type and
 *   compression codec (filterBatch). An emptied batch goes, unless it is the last data batch of
 *   its producer in the scanned range (its sequence numbers matter to idempotence) or the last
 *   batch of the pass, which stay empty, as Kafka keeps them.
 * - Transactions (compaction-txn.ts): records of aborted transactions go. A marker whose
 *   transaction had no batch left when the pass began gets a delete horizon and goes in the
 *   first pass after it; an ABORT marker only once the aborted-transaction index (the producer
 *   state) has durably forgotten its transaction (forgetCleanedAborts), since a read_committed
 *   consumer told of an aborted transaction skips the producer's transactional records until it
 *   sees that producer's ABORT marker. A producer's last batch stays whole.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { LogConfig } from '../../config/topic-configs.ts'
import { decodeBatch, encodeBatch, type RecordInput } from '../../protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../protocol/records/batch-header.ts'
import * as L from '../../protocol/records/batch-layout.ts'
import { Compression } from '../../protocol/records/compression.ts'
import { RecordsError } from '../../protocol/records/errors.ts'
import type { KafkaRecord } from '../../protocol/records/record-codec.ts'
import type { CleanedAbortedTxn } from '../types.ts'
import type { TxnIndex } from './compaction-txn.ts'

/** Estimated bytes of the key map per entry besides the key itself. */
export const MAP_ENTRY_OVERHEAD = 48
/** Longest stretch of work between two yields to the event loop. */
const SLICE_MS = 5

/** Why a pass is due. */
export type CleaningReason = 'dirty-ratio' | 'max-compaction-lag' | 'delete-horizon'

/** What decides whether a pass is due, measured over the cleanable range. */
export interface CleaningFacts {
  dirtyBytes: number
  /** Bytes of the whole cleanable range, clean and dirty. */
  totalBytes: number
  /** Timestamp of the oldest dirty data (-1 when unknown or none). */
  oldestDirtyTimestamp: number
  /** Earliest delete horizon the last pass wrote (Infinity when none). */
  nextDeleteHorizon: number
}

/** Why a pass over the cleanable range is due now, or null. */
export function dueReason(config: LogConfig, facts: CleaningFacts, now: number): CleaningReason | null {
  if (facts.dirtyBytes > 0 && facts.dirtyBytes / facts.totalBytes >= config.minCleanableDirtyRatio) {
    return 'dirty-ratio'
  }
  const oldest = facts.oldestDirtyTimestamp
  if (oldest >= 0 && config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER && now - oldest > config.maxCompactionLagMs) {
    return 'max-compaction-lag'
  }
  if (now >= facts.nextDeleteHorizon) return 'delete-horizon'
  return null
}

/** What a pass did. */
export interface CleanResult {
  /** The new first dirty offset. */
  cleanedUpTo: number
  bytesBefore: number
  bytesAfter: number
  recordsRemoved: number
  /** Earliest delete horizon written by the pass (Infinity when none). */
  nextDeleteHorizon: number
}

/** A result before the pass has done anything. */
export function emptyCleanResult(cleanedUpTo: number): CleanResult {
  return { cleanedUpTo, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, nextDeleteHorizon: Number.POSITIVE_INFINITY }
}

/** Key → last offset over the dirty range, and the transactions of the cleanable range. */
export interface OffsetMap {
  keys: Map<string, number>
  txns: TxnIndex
  /** Records at offsets below this are judged by the map; the pass ends here. */
  end: number
  /** The aborted-transaction index no longer lists the transactions of ABORT markers without data. */
  abortMarkersRemovable: boolean
}

/**
 * Adds the keys of a dirty batch to the map (none for control batches and aborted
 * transactions); resolves the estimated bytes the map grew by.
 */
export async function addToOffsetMap(map: OffsetMap, header: BatchInfo, bytes: Buffer): Promise<number> {
  if (header.isControl) return 0
  if (header.isTransactional && map.txns.isAborted(header.producerId, header.baseOffset)) return 0
  let grown = 0
  const batch = await decodeBatch(bytes)
  for (const r of batch.records) {
    if (r.key === null) continue
    const key = r.key.toString('latin1')
    if (!map.keys.has(key)) grown += key.length + MAP_ENTRY_OVERHEAD
    map.keys.set(key, header.baseOffset + r.offsetDelta)
  }
  return grown
}

/**
 * Tells the aborted-transaction index which transactions have no data left and waits until it
 * forgot them durably; false when there is no index to tell (ABORT markers must stay then).
 */
export async function forgetCleanedAborts(
  txns: TxnIndex,
  forget: ((txns: CleanedAbortedTxn[]) => Promise<void>) | undefined,
): Promise<boolean> {
  if (forget === undefined) return false
  const cleaned = txns.abortsWithoutData()
  if (cleaned.length > 0) await forget(cleaned.map((m) => ({ producerId: m.producerId, markerOffset: m.offset })))
  return true
}

/**
 * The batch as it should be after cleaning: the same bytes (the same Buffer) when every record
 * stays and no delete horizon needs setting, a re-encoded batch, or null when it goes entirely.
 */
export async function filterBatch(
  bytes: Buffer,
  map: OffsetMap,
  deleteRetentionMs: number,
  now: number,
  result: CleanResult,
): Promise<Buffer | null> {
  const header = readBatchHeader(bytes)
  if (header instanceof RecordsError) throw header
  if (header.isControl) return filterMarker(bytes, header, map, deleteRetentionMs, now, result)
  const lastOffset = header.baseOffset + header.lastOffsetDelta
  const batch = await decodeBatch(bytes)
  const aborted =
    header.isTransactional && lastOffset < map.end && map.txns.isAborted(header.producerId, header.baseOffset)
  const horizon = batch.hasDeleteHorizon ? Number(batch.baseTimestamp) : undefined
  const kept: KafkaRecord[] = []
  let tombstones = false
  for (const r of aborted ? [] : batch.records) {
    if (retain(r, header.baseOffset + r.offsetDelta, map, horizon, now)) {
      kept.push(r)
      if (r.value === null) tombstones = true
    }
  }
  result.recordsRemoved += batch.records.length - kept.length
  const newHorizon = tombstones ? (horizon ?? now + deleteRetentionMs) : undefined
  if (newHorizon !== undefined) result.nextDeleteHorizon = Math.min(result.nextDeleteHorizon, newHorizon)
  if (kept.length === batch.records.length && newHorizon === horizon) return bytes
  const common = {
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    timestampType: header.timestampType,
    isTransactional: header.isTransactional,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
  }
  if (kept.length === 0) {
    // An empty batch stays when it holds its producer's last sequence, or ends the pass.
    const lastOfProducer = header.producerId >= 0 && map.txns.lastData.get(header.producerId) === lastOffset
    if (!lastOfProducer && lastOffset + 1 !== map.end) return null
    return encodeBatch({
      ...common,
      records: [],
      compression: Compression.NONE,
      baseTimestamp: header.maxTimestamp,
      maxTimestamp: header.maxTimestamp,
    })
  }
  const baseTimestamp = Number(batch.baseTimestamp)
  const records: RecordInput[] = kept.map((r) => ({
    key: r.key,
    value: r.value,
    headers: r.headers,
    timestamp: baseTimestamp + r.timestampDelta,
    offsetDelta: r.offsetDelta,
    attributes: r.attributes,
  }))
  return encodeBatch({
    ...common,
    records,
    compression: batch.compression,
    // Under LogAppendTime the batch's max timestamp is the append time: keep it.
    ...(header.timestampType === L.TimestampType.LOG_APPEND_TIME ? { maxTimestamp: header.maxTimestamp } : {}),
    ...(newHorizon === undefined ? {} : { deleteHorizonMs: newHorizon }),
  })
}

/**
 * A control batch after cleaning. A marker whose transaction had no batch left when the pass
 * began gets a delete horizon, and goes in the first pass after it (an ABORT marker only once
 * the aborted-transaction index forgot its transaction: see the module comment); every other
 * control batch stays as is, as does a producer's last batch and the last batch of the pass.
 */
async function filterMarker(
  bytes: Buffer,
  header: BatchInfo,
  map: OffsetMap,
  deleteRetentionMs: number,
  now: number,
  result: CleanResult,
): Promise<Buffer | null> {
  const lastOffset = header.baseOffset + header.lastOffsetDelta
  const marker = map.txns.markerAt(header.baseOffset)
  const removable = marker !== undefined && !marker.hasData && (!marker.abort || map.abortMarkersRemovable)
  if (!removable || lastOffset >= map.end) return bytes
  if (map.txns.lastBatch.get(header.producerId) === lastOffset || lastOffset + 1 === map.end) return bytes
  if (header.hasDeleteHorizon) {
    if (now >= header.baseTimestamp) {
      result.recordsRemoved += header.recordCount
      return null
    }
    result.nextDeleteHorizon = Math.min(result.nextDeleteHorizon, header.baseTimestamp)
    return bytes
  }
  const horizon = now + deleteRetentionMs
  result.nextDeleteHorizon = Math.min(result.nextDeleteHorizon, horizon)
  const batch = await decodeBatch(bytes)
  const baseTimestamp = Number(batch.baseTimestamp)
  return encodeBatch({
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    timestampType: header.timestampType,
    isTransactional: header.isTransactional,
    isControl: true,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
    compression: batch.compression,
    maxTimestamp: header.maxTimestamp,
    deleteHorizonMs: horizon,
    records: batch.records.map((r) => ({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: baseTimestamp + r.timestampDelta,
      offsetDelta: r.offsetDelta,
      attributes: r.attributes,
    })),
  })
}

/** Kafka's rule: the last record of its key stays, a tombstone only until its delete horizon. */
function retain(r: KafkaRecord, offset: number, map: OffsetMap, horizon: number | undefined, now: number): boolean {
  if (offset >= map.end) return true
  if (r.key === null) return false
  const latest = map.keys.get(r.key.toString('latin1'))
  if (latest !== undefined && latest > offset) return false
  return r.value !== null || horizon === undefined || now < horizon
}

/** Yields to the event loop once a slice of work has run for a few milliseconds. */
export class Slicer {
  #start = performance.now()

  async maybeYield(): Promise<void> {
    if (performance.now() - this.#start < SLICE_MS) return
    await yieldToEventLoop()
    this.#start = performance.now()
  }
}

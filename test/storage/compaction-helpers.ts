/**
 * Fixtures for the compaction tests of every engine that compacts: keyed, transactional and
 * control batches appended one by one, and a partition read back record by record.
 */
import assert from 'node:assert/strict'
import { decodeBatchesSync, encodeBatchSync, type RecordBatch } from '../../src/protocol/records/batch.ts'
import type { CompressionCodec } from '../../src/protocol/records/compression.ts'
import { ControlType, encodeEndTxnMarkerBatch } from '../../src/protocol/records/control.ts'
import type { Storage } from '../../src/storage/types.ts'
import { appendInput } from './helpers.ts'

export const COMPACT = { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01' }

export interface Rec {
  offset: number
  key: string | null
  value: string | null
}

/** One single-record batch per entry; value null is a tombstone. */
export async function produce(
  storage: Storage,
  topic: string,
  entries: [string | null, string | null][],
  options: { timestamp?: number; compression?: CompressionCodec; producerId?: number } = {},
): Promise<void> {
  for (const [key, value] of entries) {
    const batch = encodeBatchSync({
      records: [
        {
          key: key === null ? null : Buffer.from(key),
          value: value === null ? null : Buffer.from(value),
          timestamp: options.timestamp ?? 1000,
        },
      ],
      compression: options.compression,
      producerId: options.producerId,
      producerEpoch: options.producerId === undefined ? undefined : 0,
      baseSequence: options.producerId === undefined ? undefined : 0,
    })
    await storage.append(topic, 0, appendInput(batch), { durable: false, leaderEpoch: 0 })
  }
}

/** One transactional batch of `producerId` (epoch 0). */
export async function txn(
  storage: Storage,
  topic: string,
  producerId: number,
  baseSequence: number,
  entries: [string, string][],
): Promise<void> {
  const batch = encodeBatchSync({
    records: entries.map(([k, v]) => ({ key: Buffer.from(k), value: Buffer.from(v), timestamp: 1000 })),
    isTransactional: true,
    producerId,
    producerEpoch: 0,
    baseSequence,
  })
  await storage.append(topic, 0, appendInput(batch), { durable: false, leaderEpoch: 0 })
}

/** A COMMIT or ABORT marker of `producerId`. */
export async function marker(
  storage: Storage,
  topic: string,
  producerId: number,
  type: 'commit' | 'abort',
): Promise<void> {
  const batch = encodeEndTxnMarkerBatch({
    type: type === 'commit' ? ControlType.COMMIT : ControlType.ABORT,
    coordinatorEpoch: 0,
    producerId,
    producerEpoch: 0,
    timestamp: 1000,
  })
  await storage.append(topic, 0, appendInput(batch), { durable: false, leaderEpoch: 0 })
}

/** Every batch of partition 0 as stored, decoded. */
export async function rawBatches(storage: Storage, topic: string): Promise<RecordBatch[]> {
  const out: RecordBatch[] = []
  let offset = 0
  for (;;) {
    const res = await storage.read(topic, 0, offset, 1 << 20, { minOneBatch: true })
    if (res.records.length === 0) return out
    for (const b of decodeBatchesSync(res.records)) {
      if (Number(b.baseOffset) + b.lastOffsetDelta < offset) continue
      out.push(b)
      offset = Number(b.baseOffset) + b.lastOffsetDelta + 1
    }
  }
}

/** The control batches of partition 0: offset, whether they carry a delete horizon, base timestamp. */
export async function controlBatches(
  storage: Storage,
  topic: string,
): Promise<{ offset: number; horizon: boolean; baseTimestamp: number }[]> {
  return (await rawBatches(storage, topic))
    .filter((b) => b.isControl)
    .map((b) => ({ offset: Number(b.baseOffset), horizon: b.hasDeleteHorizon, baseTimestamp: Number(b.baseTimestamp) }))
}

/** Every data record of partition 0, in offset order. */
export async function readAll(storage: Storage, topic: string): Promise<Rec[]> {
  const out: Rec[] = []
  let offset = (await storage.offsets(topic, 0)).logStartOffset
  for (;;) {
    const res = await storage.read(topic, 0, offset, 1 << 20, { minOneBatch: true })
    if (res.records.length === 0) break
    for (const b of decodeBatchesSync(res.records)) {
      for (const r of b.isControl ? [] : b.records) {
        const o = Number(b.baseOffset) + r.offsetDelta
        if (o < offset) continue
        out.push({ offset: o, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })
      }
      offset = Number(b.baseOffset) + b.lastOffsetDelta + 1
    }
  }
  return out
}

/** The latest value of each key, in the order a consumer replaying the log ends up with. */
export function latest(records: Rec[]): Map<string, string | null> {
  const m = new Map<string, string | null>()
  for (const r of records) if (r.key !== null) m.set(r.key, r.value)
  return m
}

/** The last record of each key, in offset order: what a pass leaves of a range it cleaned whole. */
export function lastPerKey(records: Rec[]): Rec[] {
  const last = new Map<string | null, Rec>()
  for (const r of records) last.set(r.key, r)
  return [...last.values()].sort((a, b) => a.offset - b.offset)
}

export function assertOffsetsGrow(records: Rec[]): void {
  for (let i = 1; i < records.length; i++) {
    assert.ok((records[i] as Rec).offset > (records[i - 1] as Rec).offset, `offsets grow at ${i}`)
  }
}

/** 10 keys written 10 times each (100 records), then a roll so the last ones sit in a closed segment. */
export function rounds(n = 10, keys = 10): [string, string][] {
  const out: [string, string][] = []
  for (let r = 0; r < n; r++) for (let k = 0; k < keys; k++) out.push([`key-${k}`, `value-${k}-${r}`])
  return out
}

/**
 * The local engine's durable metadata: topics (name, id, partition count, config overrides), log
 * start offsets moved by DeleteRecords or retention, and the kv namespaces of the coordinators.
 *
 * Kept in memory and persisted as an append-only journal of CRC'd records, each one complete
 * change (a topic upsert, a multi-key kv put, ...):
 *   [payload length: uint32][CRC32C of payload: uint32][payload: UTF-8 JSON]
 * A change is applied to the in-memory state only after its record is fdatasync'ed, so readers
 * never see state a crash could undo. Changes arriving while a write+sync runs are written
 * together by the next one (group commit). On open the journal is replayed up to the first torn
 * or corrupt record, and the file is cut there. When the journal grows past twice the size of a
 * snapshot of the state, it is replaced by that snapshot (write new, fsync, rename, fsync dir),
 * so a crash leaves the old journal or the new one, never a mix.
 */

import { type FileHandle, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32c } from '@node-rs/crc32'
import type { TopicMetadata } from '../types.ts'
import { isNotFound, readFully, writeFileAtomic, writeFully } from './fs-util.ts'

/** File name of the journal inside the data directory (never a valid partition directory name). */
export const JOURNAL_FILE = '__samsa_metadata.journal'
const HEADER = 8
const MIN_COMPACT_BYTES = 1024 * 1024

/** One journal record. */
export type MetadataChange =
  | { op: 'topic'; topic: TopicMetadata }
  | { op: 'deleteTopic'; name: string }
  | { op: 'logStart'; topic: string; partition: number; offset: number }
  | { op: 'kv'; ns: string; entries: [string, string | null][] }
  | { op: 'kvDrop'; ns: string }

interface Pending {
  bytes: Buffer
  change: MetadataChange
  resolve: () => void
  reject: (err: unknown) => void
}

/** Durable metadata of the local engine. */
export class MetadataStore {
  readonly topics = new Map<string, TopicMetadata>()
  /** topic → partition → log start offset. */
  readonly logStarts = new Map<string, Map<number, number>>()
  readonly kv = new Map<string, Map<string, Buffer>>()
  readonly #path: string
  #fh: FileHandle
  #size: number
  #compactAt = MIN_COMPACT_BYTES
  #pending: Pending[] = []
  #running: Promise<void> | null = null

  private constructor(path: string, fh: FileHandle, size: number) {
    this.#path = path
    this.#fh = fh
    this.#size = size
  }

  /** Opens (or creates) the journal in dataDir and replays it. */
  static async open(dataDir: string): Promise<MetadataStore> {
    const path = join(dataDir, JOURNAL_FILE)
    await unlink(`${path}.tmp`).catch((err: unknown) => {
      if (!isNotFound(err)) throw err
    })
    const fh = await open(path, 'r+').catch((err: unknown) => {
      if (isNotFound(err)) return open(path, 'w+')
      throw err
    })
    const data = Buffer.allocUnsafe((await fh.stat()).size)
    await readFully(fh, data, 0)
    const store = new MetadataStore(path, fh, 0)
    store.#size = store.#replay(data)
    if (store.#size < data.length) {
      // A torn or corrupt tail: cut it so later records are not written after garbage.
      await fh.truncate(store.#size)
      await fh.datasync()
    }
    store.#compactAt = Math.max(MIN_COMPACT_BYTES, 2 * store.#size)
    return store
  }

  #replay(data: Buffer): number {
    let pos = 0
    while (data.length - pos >= HEADER) {
      const length = data.readUInt32BE(pos)
      if (length > data.length - pos - HEADER) break
      const payload = data.subarray(pos + HEADER, pos + HEADER + length)
      if (crc32c(payload) !== data.readUInt32BE(pos + 4)) break
      this.#apply(JSON.parse(payload.toString('utf8')) as MetadataChange)
      pos += HEADER + length
    }
    return pos
  }

  /** Writes a change durably, then applies it; resolves once both are done. */
  commit(change: MetadataChange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ bytes: encodeRecord(change), change, resolve, reject })
      this.#kick()
    })
  }

  #kick(): void {
    if (this.#running !== null) return
    this.#running = this.#drain().finally(() => {
      this.#running = null
      // A change may have been queued after the loop saw an empty queue.
      if (this.#pending.length > 0) this.#kick()
    })
  }

  /** Writes queued changes, one write and one fdatasync per round. */
  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const round = this.#pending
      this.#pending = []
      const bytes = Buffer.concat(round.map((p) => p.bytes))
      try {
        await writeFully(this.#fh, bytes, this.#size)
        await this.#fh.datasync()
      } catch (err) {
        await this.#fh.truncate(this.#size).catch(() => {})
        for (const p of round) p.reject(err)
        continue
      }
      this.#size += bytes.length
      for (const p of round) {
        this.#apply(p.change)
        p.resolve()
      }
      if (this.#size > this.#compactAt) await this.#compact()
    }
  }

  /** Replaces the journal by a snapshot of the state. */
  async #compact(): Promise<void> {
    const snapshot = Buffer.concat(this.#snapshot().map(encodeRecord))
    await writeFileAtomic(this.#path, snapshot)
    const old = this.#fh
    this.#fh = await open(this.#path, 'r+')
    await old.close()
    this.#size = snapshot.length
    this.#compactAt = Math.max(MIN_COMPACT_BYTES, 2 * snapshot.length)
  }

  #snapshot(): MetadataChange[] {
    const changes: MetadataChange[] = []
    for (const topic of this.topics.values()) changes.push({ op: 'topic', topic })
    for (const [topic, partitions] of this.logStarts) {
      for (const [partition, offset] of partitions) changes.push({ op: 'logStart', topic, partition, offset })
    }
    for (const [ns, entries] of this.kv) {
      changes.push({ op: 'kv', ns, entries: [...entries].map(([k, v]) => [k, v.toString('base64')]) })
    }
    return changes
  }

  #apply(change: MetadataChange): void {
    switch (change.op) {
      case 'topic':
        this.topics.set(change.topic.name, change.topic)
        break
      case 'deleteTopic':
        this.topics.delete(change.name)
        this.logStarts.delete(change.name)
        break
      case 'logStart': {
        let partitions = this.logStarts.get(change.topic)
        if (partitions === undefined) {
          partitions = new Map()
          this.logStarts.set(change.topic, partitions)
        }
        partitions.set(change.partition, change.offset)
        break
      }
      case 'kv': {
        let ns = this.kv.get(change.ns)
        if (ns === undefined) {
          ns = new Map()
          this.kv.set(change.ns, ns)
        }
        for (const [key, value] of change.entries) {
          if (value === null) ns.delete(key)
          else ns.set(key, Buffer.from(value, 'base64'))
        }
        if (ns.size === 0) this.kv.delete(change.ns)
        break
      }
      case 'kvDrop':
        this.kv.delete(change.ns)
        break
    }
  }

  /** Journal bytes (for tests). */
  get journalBytes(): number {
    return this.#size
  }

  /** Waits for queued changes and closes the file. */
  async close(): Promise<void> {
    while (this.#running !== null) await this.#running
    await this.#fh.close()
  }
}

function encodeRecord(change: MetadataChange): Buffer {
  const payload = Buffer.from(JSON.stringify(change), 'utf8')
  const record = Buffer.allocUnsafe(HEADER + payload.length)
  record.writeUInt32BE(payload.length, 0)
  record.writeUInt32BE(crc32c(payload), 4)
  payload.copy(record, HEADER)
  return record
}

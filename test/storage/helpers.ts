/** Fixtures for the storage tests: real v2 batches, append inputs, temp directories, engines. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import * as L from '../../src/protocol/records/batch-layout.ts'
import { validateBatches } from '../../src/protocol/records/batch-validate.ts'
import type { CompressionCodec } from '../../src/protocol/records/compression.ts'
import { RecordsError } from '../../src/protocol/records/errors.ts'
import type { AppendInput, TopicMetadata } from '../../src/storage/types.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'

/** A batch of records with string values and explicit timestamps (default 1000, 1001, ...). */
export function makeBatch(
  values: string[],
  options: { timestamps?: number[]; compression?: CompressionCodec; logAppendTime?: number } = {},
): Buffer {
  return encodeBatchSync({
    records: values.map((v, i) => ({
      key: Buffer.from(`k-${v}`),
      value: Buffer.from(v),
      timestamp: options.timestamps?.[i] ?? 1000 + i,
    })),
    compression: options.compression,
    ...(options.logAppendTime === undefined ? {} : { timestampType: 1, maxTimestamp: options.logAppendTime }),
  })
}

/** Lays batches out back to back with their header facts, as the broker hands them to storage. */
export function appendInput(...batches: Buffer[]): AppendInput {
  const data = Buffer.concat(batches)
  const infos = validateBatches(data)
  if (infos instanceof RecordsError) throw infos
  return { data, batches: infos }
}

/** The bytes storage should return for `batch` once given `baseOffset` (CRC unaffected). */
export function withOffset(batch: Buffer, baseOffset: number): Buffer {
  const copy = Buffer.from(batch)
  L.writeInt64FromNumber(copy, L.BASE_OFFSET, baseOffset)
  return copy
}

/** [baseOffset, lastOffset] of every whole batch in buf. */
export function batchRanges(buf: Buffer): [number, number][] {
  const out: [number, number][] = []
  let pos = 0
  while (pos + L.RECORDS <= buf.length) {
    const base = L.readInt64AsNumber(buf, pos)
    out.push([base, base + buf.readInt32BE(pos + L.LAST_OFFSET_DELTA)])
    pos += L.LOG_OVERHEAD + buf.readInt32BE(pos + L.BATCH_LENGTH)
  }
  return out
}

/** A topic with a random id. */
export function topicMeta(name: string, partitionCount = 1, configs: Record<string, string> = {}): TopicMetadata {
  return { name, topicId: crypto.randomUUID(), partitionCount, configs }
}

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix = 'samsa-storage-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/**
 * For a test file: a function making fresh temporary directories, all removed after the file's
 * tests. Call it at the top level of the file.
 */
export function freshDirs(prefix?: string): () => Promise<string> {
  const removals: (() => Promise<void>)[] = []
  after(async () => {
    for (const remove of removals) await remove()
  })
  return async () => {
    const dir = await tempDir(prefix)
    removals.push(dir.remove)
    return dir.path
  }
}

/** Polls `check` until it holds (`ms` at most, 5 s by default). */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * For a test suite: a function putting a TCP proxy (whose link a test can cut) in front of a
 * database, resolving the proxy and the database's URL through it; the proxies close after the
 * suite. Call it inside the suite.
 */
export function proxies(): (url: string) => Promise<{ proxy: TcpProxy; url: string }> {
  const started: TcpProxy[] = []
  after(async () => {
    for (const p of started) await p.close()
  })
  return async (url) => {
    const direct = new URL(url)
    const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) })
    started.push(proxy)
    const through = new URL(direct)
    through.port = String(proxy.port)
    return { proxy, url: through.toString() }
  }
}

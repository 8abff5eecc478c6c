/**
 * What the storage metrics cost an append, in this process on the local engine: the same appends
 * (1 KiB batches, 4 partitions, 8 appends in flight per partition) to an engine without
 * StorageMetrics and to one with it, alternating over ROUNDS rounds, acks=1 (no fsync) and
 * acks=all (fdatasync group commits); then the metrics code alone per append (the timed wrapper
 * and the histogram updates). Small batches make the per-append cost as visible as it gets.
 */
import { encodeBatchSync } from '../src/protocol/records/batch.ts'
import { validateBatches } from '../src/protocol/records/batch-validate.ts'
import { RecordsError } from '../src/protocol/records/errors.ts'
import { StorageMetrics } from '../src/storage/engine/storage-metrics.ts'
import { LocalStorage } from '../src/storage/local/local-storage.ts'
import type { AppendInput } from '../src/storage/types.ts'
import { fmt, table, tempDir } from './util.ts'

const ROUNDS = 5
const PARTITIONS = 4
const IN_FLIGHT = 8
const DURATION_MS = 1500
const CALLS = 1_000_000

function smallAppend(): () => AppendInput {
  const batch = encodeBatchSync({
    records: Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.alloc(90, i), timestamp: Date.now() })),
  })
  return () => {
    const data = Buffer.from(batch)
    const infos = validateBatches(data)
    if (infos instanceof RecordsError) throw infos
    return { data, batches: infos }
  }
}

/** Appends per second to a fresh engine for DURATION_MS. */
async function appendRate(metrics: StorageMetrics | undefined, durable: boolean): Promise<number> {
  const dir = await tempDir('storage-metrics')
  const storage = await LocalStorage.open({
    dataDir: dir.path,
    metrics,
    retentionCheckIntervalMs: 0,
    cleanerBackoffMs: 0,
  })
  try {
    await storage.createTopic({
      name: 'bench',
      topicId: '00000000-0000-4000-8000-000000000001',
      partitionCount: PARTITIONS,
      configs: {},
    })
    const input = smallAppend()
    const deadline = performance.now() + DURATION_MS
    let appends = 0
    const worker = async (partition: number) => {
      while (performance.now() < deadline) {
        await storage.append('bench', partition, input(), { durable, leaderEpoch: 0 })
        appends++
      }
    }
    const start = performance.now()
    await Promise.all(Array.from({ length: PARTITIONS * IN_FLIGHT }, (_, i) => worker(i % PARTITIONS)))
    return appends / ((performance.now() - start) / 1000)
  } finally {
    await storage.close()
    await dir.cleanup()
  }
}

/** Nanoseconds the metrics code adds to one append: the timed wrapper and a sync's histogram updates. */
async function codeNs(): Promise<number> {
  const m = new StorageMetrics()
  const done = Promise.resolve(0)
  const run = () => done
  const time = async (wrapped: boolean) => {
    const start = performance.now()
    for (let i = 0; i < CALLS; i++) {
      if (wrapped) {
        await m.timed(m.appendSeconds, 'append', run)
        m.syncAppends.observe(1)
        m.syncBytes.observe(1000)
      } else {
        await run()
      }
    }
    return ((performance.now() - start) * 1e6) / CALLS
  }
  await time(true)
  await time(false)
  return (await time(true)) - (await time(false))
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** Runs the comparison and prints it. */
export async function benchStorageMetrics(): Promise<void> {
  const rows = [['appends (local engine, 1 KiB)', 'appends/s off', 'appends/s on', 'difference', 'µs/append off']]
  for (const durable of [false, true]) {
    const off: number[] = []
    const on: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      for (const measured of i % 2 === 0 ? [false, true] : [true, false]) {
        const rate = await appendRate(measured ? new StorageMetrics() : undefined, durable)
        ;(measured ? on : off).push(rate)
      }
    }
    const a = median(off)
    const b = median(on)
    rows.push([
      durable ? 'acks=all (fdatasync)' : 'acks=1',
      fmt(a, 0),
      fmt(b, 0),
      `${fmt(((b - a) / a) * 100, 1)} %`,
      fmt(1e6 / a, 1),
    ])
  }
  console.log(table(rows))
  console.log(
    `medians of ${ROUNDS} rounds each, alternating; the storage metrics code alone: ${fmt(await codeNs(), 0)} ns per append ` +
      '(timed wrapper, append histogram, one group-commit observation)',
  )
}

/**
 * Fetch throughput: reads back what the produce section wrote with pre-encoded Fetch v11
 * requests, one partition per request, 4 batches (~4.1 MB) per response (partition and request
 * max bytes both 4 batches), 3 connections with 2 requests in flight each, cycling over the data
 * for the measured window. Only the head of each response is copied by the client; the records
 * are counted. A source server answering canned responses of the same size is the baseline.
 */
import type { ServerProcess } from './children.ts'
import { type LoadRequest, openConns, runLoad } from './load-generator.ts'
import {
  type BrokerFixture,
  benchBatch,
  CONNECTIONS,
  createTopics,
  DURATION_MS,
  PARTITIONS,
  produceLoad,
  RECORDS_PER_BATCH,
  startBenchBroker,
  type Throughput,
  WARMUP_MS,
} from './produce.ts'
import { fetchFrame, parseFetchHead } from './requests.ts'
import { CpuMeter, MB, percentile, tempDir } from './util.ts'

export const BATCHES_PER_FETCH = 4
export const FETCH_IN_FLIGHT = 2
const HEAD_BYTES = 512

export interface FetchStep extends LoadRequest {
  offset: number
}

export interface FetchRun extends Throughput {
  /** Responses whose size or first offset differed from what was produced. */
  mismatches: number
}

/**
 * Every request of a read-back, pre-encoded: per partition, a Fetch at offsets 0, n, 2n, ... up
 * to its end offset, each asking for `batchesPerFetch` batches of equal size (n records).
 */
export function fetchSteps(
  topic: string,
  endOffsets: readonly number[],
  o: { batchBytes: number; recordsPerBatch: number; batchesPerFetch: number },
): FetchStep[][] {
  const perFetch = o.batchesPerFetch * o.recordsPerBatch
  const maxBytes = o.batchesPerFetch * o.batchBytes
  return endOffsets.map((end, partition) => {
    const list: FetchStep[] = []
    for (let offset = 0; offset < end; offset += perFetch) {
      const batches = Math.min(o.batchesPerFetch, Math.ceil((end - offset) / o.recordsPerBatch))
      list.push({
        frame: fetchFrame({ topic, partition, offset, maxBytes }),
        bytes: batches * o.batchBytes,
        records: batches * o.recordsPerBatch,
        offset,
      })
    }
    return list
  })
}

/**
 * Fetch load against a broker holding `fixture`'s data, or against the source baseline;
 * `onWindow` is called when the measured window opens and closes (more CPU meters).
 */
export async function fetchLoad(
  server: ServerProcess,
  fixture: Omit<BrokerFixture, 'server'>,
  verify: boolean,
  onWindow?: (phase: 'start' | 'end') => void,
) {
  const batchBytes = benchBatch().length
  const steps = fetchSteps(fixture.topic, fixture.endOffsets, {
    batchBytes,
    recordsPerBatch: RECORDS_PER_BATCH,
    batchesPerFetch: BATCHES_PER_FETCH,
  })
  const conns = await openConns(server.port, CONNECTIONS, HEAD_BYTES)
  const owned = conns.map((_, c) => steps.map((_, p) => p).filter((p) => p % CONNECTIONS === c && steps[p]?.length))
  const turn = conns.map(() => 0)
  const cursor = steps.map(() => 0)
  const serverCpu = new CpuMeter(server.pid)
  const clientCpu = new CpuMeter(process.pid)
  const cpu = { server: Number.NaN, client: Number.NaN }
  let mismatches = 0
  try {
    const result = await runLoad({
      conns,
      inFlight: FETCH_IN_FLIGHT,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      next(c) {
        const parts = owned[c] as number[]
        const p = parts[(turn[c] as number)++ % parts.length] as number
        const list = steps[p] as FetchStep[]
        const step = list[(cursor[p] as number) % list.length] as FetchStep
        cursor[p] = (cursor[p] as number) + 1
        return step
      },
      check(_c, req, head) {
        const h = parseFetchHead(head)
        if (h.errorCode !== 0) throw new Error(`fetch error ${h.errorCode}`)
        if (h.recordsBytes !== req.bytes || (verify && h.firstOffset !== (req as FetchStep).offset)) mismatches++
        return h.recordsBytes
      },
      onWindow(phase) {
        if (phase === 'start') {
          serverCpu.start()
          clientCpu.start()
        } else {
          cpu.server = serverCpu.stop()
          cpu.client = clientCpu.stop()
        }
        onWindow?.(phase)
      },
    })
    const run: FetchRun = {
      mbPerSec: result.bytes / MB / result.seconds,
      recordsPerSec: (result.bytes / batchBytes / result.seconds) * RECORDS_PER_BATCH,
      p50Ms: percentile(result.latenciesMs, 50),
      p99Ms: percentile(result.latenciesMs, 99),
      serverCpu: cpu.server,
      clientCpu: cpu.client,
      requests: result.requests,
      mismatches,
    }
    return run
  } finally {
    for (const c of conns) c.close()
  }
}

export interface FetchSection {
  results: { label: string; run: FetchRun; dataMb: number }[]
}

/**
 * Reads back the produce section's data from both engines; when run alone, first fills a local
 * and a memory broker with 2 s of acks=1 produce.
 */
export async function benchFetch(fixtures?: { local: BrokerFixture; memory: BrokerFixture }): Promise<FetchSection> {
  let cleanup = async (): Promise<void> => {}
  if (fixtures === undefined) {
    const dir = await tempDir('fetch')
    const local = await startBenchBroker('local', dir.path)
    const memory = await startBenchBroker('memory')
    const fill = async (server: ServerProcess): Promise<BrokerFixture> => {
      await createTopics(server.port, [{ name: 'bench-acks1', partitions: PARTITIONS }])
      const run = await produceLoad({ server, topic: 'bench-acks1', acks: 1, warmupMs: 0, durationMs: 2000 })
      return { server, topic: 'bench-acks1', endOffsets: run.endOffsets }
    }
    fixtures = { local: await fill(local), memory: await fill(memory) }
    cleanup = async () => {
      await Promise.all([local.stop(), memory.stop()])
      await dir.cleanup()
    }
  }
  try {
    const batchBytes = benchBatch().length
    const dataMb = (f: BrokerFixture): number =>
      (f.endOffsets.reduce((a, b) => a + b, 0) / RECORDS_PER_BATCH) * (batchBytes / MB)
    const local = await fetchLoad(fixtures.local.server, fixtures.local, true)
    const memory = await fetchLoad(fixtures.memory.server, fixtures.memory, true)
    return {
      results: [
        { label: 'fetch, local (page cache)', run: local, dataMb: dataMb(fixtures.local) },
        { label: 'fetch, memory', run: memory, dataMb: dataMb(fixtures.memory) },
      ],
    }
  } finally {
    await cleanup()
  }
}

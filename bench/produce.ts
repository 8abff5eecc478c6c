/**
 * Produce throughput: pre-encoded Produce v8 requests, each one ~1 MB batch (1000 records of
 * 1 KiB, librdkafka's default batch.size of 1,000,000 bytes) for one partition, 6 partitions,
 * 3 connections with 4 requests in flight each. The same frames go to the TCP sink baseline.
 */
import { type ServerProcess, startServer } from './children.ts'
import { type Conn, type LoadRequest, openConns, runLoad } from './load-generator.ts'
import {
  checkCreateTopicsResponse,
  checkProduceResponse,
  createTopicsFrame,
  makeBatch,
  produceFrame,
} from './requests.ts'
import { CpuMeter, MB, percentile, tempDir } from './util.ts'

export const RECORD_SIZE = 1024
export const RECORDS_PER_BATCH = 1000
export const PARTITIONS = 6
export const CONNECTIONS = 3
export const IN_FLIGHT = 4
export const WARMUP_MS = 700
export const DURATION_MS = 4000

/** Broker properties for the benchmark brokers (defaults otherwise). */
export const BENCH_BROKER_CONFIG: Record<string, string> = { 'num.partitions': String(PARTITIONS) }

let batchCache: Buffer | undefined
/** The ~1 MB batch every produce request carries. */
export function benchBatch(): Buffer {
  batchCache ??= makeBatch(RECORDS_PER_BATCH, RECORD_SIZE)
  return batchCache
}

/** One throughput measurement, with the CPU both sides used during the window. */
export interface Throughput {
  mbPerSec: number
  recordsPerSec: number
  /** Request round trip under load, ms. */
  p50Ms: number
  p99Ms: number
  /** % of one core, over the measured window. */
  serverCpu: number
  clientCpu: number
  requests: number
}

export interface ProduceRun extends Throughput {
  /** Offset after the last record acknowledged, per partition (what a fetch can read back). */
  endOffsets: number[]
}

/** Creates topics on a broker over the wire. */
export async function createTopics(port: number, topics: { name: string; partitions: number }[]): Promise<void> {
  const [conn] = (await openConns(port, 1)) as [Conn]
  try {
    checkCreateTopicsResponse(await conn.request(createTopicsFrame(topics)))
  } finally {
    conn.close()
  }
}

export interface ProduceLoadOptions {
  server: ServerProcess
  topic: string
  acks: number
  warmupMs?: number
  durationMs?: number
}

/** Runs the produce load against a broker (or the sink) and measures it. */
export async function produceLoad(o: ProduceLoadOptions): Promise<ProduceRun> {
  const batch = benchBatch()
  const frames = Array.from({ length: PARTITIONS }, (_, p) => produceFrame(o.topic, p, o.acks, batch))
  const conns = await openConns(o.server.port, CONNECTIONS)
  // Connection c owns partitions c, c + CONNECTIONS, ...: each partition is appended to in order.
  const owned = conns.map((_, c) => frames.map((_, p) => p).filter((p) => p % CONNECTIONS === c))
  const turn = conns.map(() => 0)
  const endOffsets = frames.map(() => 0)
  const server = new CpuMeter(o.server.pid)
  const client = new CpuMeter(process.pid)
  let serverCpu = Number.NaN
  let clientCpu = Number.NaN
  try {
    const result = await runLoad({
      conns,
      inFlight: IN_FLIGHT,
      warmupMs: o.warmupMs ?? WARMUP_MS,
      durationMs: o.durationMs ?? DURATION_MS,
      next(c): LoadRequest & { partition: number } {
        const parts = owned[c] as number[]
        const partition = parts[(turn[c] as number)++ % parts.length] as number
        return { frame: frames[partition] as Buffer, bytes: batch.length, records: RECORDS_PER_BATCH, partition }
      },
      check(_c, req, head) {
        const ack = checkProduceResponse(head)
        const p = (req as LoadRequest & { partition: number }).partition
        endOffsets[p] = Math.max(endOffsets[p] as number, ack.baseOffset + RECORDS_PER_BATCH)
        return undefined
      },
      onWindow(phase) {
        if (phase === 'start') {
          server.start()
          client.start()
        } else {
          serverCpu = server.stop()
          clientCpu = client.stop()
        }
      },
    })
    return {
      mbPerSec: result.bytes / MB / result.seconds,
      recordsPerSec: result.records / result.seconds,
      p50Ms: percentile(result.latenciesMs, 50),
      p99Ms: percentile(result.latenciesMs, 99),
      serverCpu,
      clientCpu,
      requests: result.requests,
      endOffsets,
    }
  } finally {
    for (const c of conns) c.close()
  }
}

export interface BrokerFixture {
  server: ServerProcess
  topic: string
  /** Offsets readable per partition. */
  endOffsets: number[]
}

export interface ProduceSection {
  results: { label: string; storage: 'local' | 'memory'; acks: number; run: ProduceRun }[]
  /** Brokers left running with their data, for the fetch section (the caller stops them). */
  fixtures: { local: BrokerFixture; memory: BrokerFixture }
  cleanup(): Promise<void>
}

/** Starts a benchmark broker; `config` adds to the benchmark's broker configs. */
export function startBenchBroker(
  storage: 'local' | 'memory',
  dataDir?: string,
  config: Record<string, string> = {},
): Promise<ServerProcess> {
  return startServer({ kind: 'broker', storage, dataDir, config: { ...BENCH_BROKER_CONFIG, ...config } })
}

/**
 * Produce with acks=1 and acks=-1 to the local engine (one broker, one topic each) and acks=1 to
 * the memory engine. The brokers stay up for the fetch section.
 */
export async function benchProduce(): Promise<ProduceSection> {
  const dir = await tempDir('produce')
  const local = await startBenchBroker('local', dir.path)
  await createTopics(local.port, [
    { name: 'bench-acks1', partitions: PARTITIONS },
    { name: 'bench-acksall', partitions: PARTITIONS },
  ])
  const localAcks1 = await produceLoad({ server: local, topic: 'bench-acks1', acks: 1 })
  const localAcksAll = await produceLoad({ server: local, topic: 'bench-acksall', acks: -1 })
  const memory = await startBenchBroker('memory')
  await createTopics(memory.port, [{ name: 'bench-acks1', partitions: PARTITIONS }])
  const memoryAcks1 = await produceLoad({ server: memory, topic: 'bench-acks1', acks: 1 })
  return {
    results: [
      { label: 'produce acks=1, local', storage: 'local', acks: 1, run: localAcks1 },
      { label: 'produce acks=-1, local', storage: 'local', acks: -1, run: localAcksAll },
      { label: 'produce acks=1, memory', storage: 'memory', acks: 1, run: memoryAcks1 },
    ],
    fixtures: {
      local: { server: local, topic: 'bench-acks1', endOffsets: localAcks1.endOffsets },
      memory: { server: memory, topic: 'bench-acks1', endOffsets: memoryAcks1.endOffsets },
    },
    async cleanup() {
      await Promise.all([local.stop(), memory.stop()])
      await dir.cleanup()
    },
  }
}

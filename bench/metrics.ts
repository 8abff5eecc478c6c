/**
 * What the metrics cost the hot path, measured two ways in one run:
 * - the produce (acks=1) and fetch loads of the produce and fetch sections against a broker
 *   without an HTTP port (nothing is counted) and one with it (every request timed and counted,
 *   /metrics scraped every second meanwhile), on the local engine (the default) and on the memory
 *   engine, alternating over ROUNDS rounds so that the machine's drift hits both alike:
 *   throughput and broker CPU per MB, medians;
 * - the request path's metrics code alone (a connection observer and the dispatcher's hook, on a
 *   produce and a fetch of the benchmark's ~1 MB batches), timed in this process, next to the
 *   broker CPU time one such request takes in the runs without metrics.
 * On a shared 2-core machine the first varies by tens of percent from run to run either way; the
 * second is the steadier figure.
 */
import { RequestMetrics } from '../src/http/metrics/request-metrics.ts'
import { ApiKey } from '../src/protocol/generated/api-keys.ts'
import { createFetchResponse, createPartitionData } from '../src/protocol/generated/fetch.ts'
import {
  createPartitionProduceResponse,
  createProduceRequest,
  createProduceResponse,
  createTopicProduceData,
  createTopicProduceResponse,
} from '../src/protocol/generated/produce.ts'
import { BATCHES_PER_FETCH, fetchLoad } from './fetch.ts'
import {
  benchBatch,
  createTopics,
  PARTITIONS,
  produceLoad,
  RECORDS_PER_BATCH,
  startBenchBroker,
  type Throughput,
} from './produce.ts'
import { fmt, table, tempDir } from './util.ts'

const ROUNDS = 5
const DURATION_MS = 3000
/** Requests timed for the in-process figure. */
const CALLS = 200_000
/** The TCP reads one ~1 MB request arrives in (64 KiB each), each told to the observer. */
const READS_PER_REQUEST = 16

const ENGINES = ['local', 'memory'] as const
type Engine = (typeof ENGINES)[number]

interface Round {
  produce: Throughput
  fetch: Throughput
}

/** One round: a fresh broker (in a fresh data directory), produce, read it all back. */
async function round(engine: Engine, metrics: boolean): Promise<Round> {
  const dir = engine === 'local' ? await tempDir('metrics') : undefined
  const server = await startBenchBroker(engine, dir?.path, metrics ? { 'http.listeners': 'http://127.0.0.1:0' } : {})
  let scraping: NodeJS.Timeout | undefined
  try {
    await createTopics(server.port, [{ name: 'bench-metrics', partitions: PARTITIONS }])
    if (metrics) {
      // As a Prometheus server would, only more often (a failed scrape ends the benchmark).
      scraping = setInterval(
        () => void fetch(`http://127.0.0.1:${server.httpPort}/metrics`).then((r) => r.text()),
        1000,
      )
    }
    const produce = await produceLoad({ server, topic: 'bench-metrics', acks: 1, durationMs: DURATION_MS })
    const fetched = await fetchLoad(server, { topic: 'bench-metrics', endOffsets: produce.endOffsets }, true)
    return { produce, fetch: fetched }
  } finally {
    clearInterval(scraping)
    await server.stop()
    await dir?.cleanup()
  }
}

/**
 * Nanoseconds the metrics add to one produce and one fetch request of ~1 MB: the observer's calls
 * for its reads, its timeline and its send, and the dispatcher hook on the decoded request and
 * response (error codes, bytes and records per topic).
 */
function requestPathNs(): { produce: number; fetch: number } {
  const batch = benchBatch()
  const metrics = new RequestMetrics(() => 'bench-metrics')
  const observer = metrics.observer('PLAINTEXT')
  const header = (apiKey: number): Buffer => {
    const b = Buffer.alloc(8)
    b.writeInt16BE(apiKey, 0)
    b.writeInt16BE(9, 2)
    return b
  }
  const produce = {
    frame: header(ApiKey.Produce),
    request: createProduceRequest({
      acks: 1,
      topicData: [createTopicProduceData({ name: 'bench-metrics', partitionData: [{ index: 0, records: batch }] })],
    }),
    response: createProduceResponse({
      responses: [
        createTopicProduceResponse({
          name: 'bench-metrics',
          partitionResponses: [createPartitionProduceResponse({ index: 0 })],
        }),
      ],
    }),
  }
  const fetched = {
    frame: header(ApiKey.Fetch),
    request: {},
    response: createFetchResponse({
      responses: [{ topic: 'bench-metrics', topicId: '', partitions: [createPartitionData({ records: batch })] }],
    }),
  }
  const time = (r: { frame: Buffer; request: unknown; response: unknown }, apiKey: number): number => {
    const started = process.hrtime.bigint()
    for (let i = 0; i < CALLS; i++) {
      for (let j = 0; j < READS_PER_REQUEST; j++) observer.read(65536)
      const timing = observer.request(r.frame, performance.now())
      metrics.response(apiKey, r.request, r.response)
      timing.answered()
      timing.writing(100)
      timing.sent()
    }
    return Number(process.hrtime.bigint() - started) / CALLS
  }
  time(produce, ApiKey.Produce)
  return { produce: time(produce, ApiKey.Produce), fetch: time(fetched, ApiKey.Fetch) }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** Runs the comparison and prints it. */
export async function benchMetrics(): Promise<void> {
  const off = new Map<Engine, Round[]>(ENGINES.map((e) => [e, []]))
  const on = new Map<Engine, Round[]>(ENGINES.map((e) => [e, []]))
  for (let i = 0; i < ROUNDS; i++) {
    for (const engine of ENGINES) {
      // Alternate which goes first, so that neither always runs on a warmer machine.
      for (const metrics of i % 2 === 0 ? [false, true] : [true, false]) {
        ;(metrics ? on : off).get(engine)?.push(await round(engine, metrics))
      }
    }
  }
  const hotPath = requestPathNs()
  const rows = [
    ['load', 'MB/s off', 'MB/s on', 'throughput', 'CPU ms/MB off', 'CPU ms/MB on', 'code ns/req', 'of req CPU'],
  ]
  for (const [engine, load] of ENGINES.flatMap((e) => (['produce', 'fetch'] as const).map((l) => [e, l] as const))) {
    const offRounds = off.get(engine) as Round[]
    const onRounds = on.get(engine) as Round[]
    const mbOff = median(offRounds.map((r) => r[load].mbPerSec))
    const mbOn = median(onRounds.map((r) => r[load].mbPerSec))
    // Broker CPU (% of a core over the window) per MB moved, and per request.
    const cpuPerMb = (rounds: Round[]): number => median(rounds.map((r) => (r[load].serverCpu * 10) / r[load].mbPerSec))
    const recordsPerRequest = load === 'produce' ? RECORDS_PER_BATCH : BATCHES_PER_FETCH * RECORDS_PER_BATCH
    const requestCpuNs = median(
      offRounds.map((r) => (r[load].serverCpu / 100 / (r[load].recordsPerSec / recordsPerRequest)) * 1e9),
    )
    rows.push([
      load === 'produce' ? `produce acks=1, ${engine}` : `fetch, ${engine}`,
      fmt(mbOff, 1),
      fmt(mbOn, 1),
      `${fmt(((mbOn - mbOff) / mbOff) * 100, 1)} %`,
      fmt(cpuPerMb(offRounds), 2),
      fmt(cpuPerMb(onRounds), 2),
      fmt(hotPath[load], 0),
      `${fmt((hotPath[load] / requestCpuNs) * 100, 2)} %`,
    ])
  }
  console.log(table(rows))
  console.log(
    `medians of ${ROUNDS} rounds each, alternating; "of req CPU": the metrics code's time per request over the ` +
      'broker CPU one request takes without metrics. Target: under 3 % (issue 19)',
  )
}

/**
 * samsa's benchmark: `npm run bench [-- section...] [--profile]`, or
 * `node dist/bench/index.js [section...] [--profile]`.
 * Sections: baselines, produce, fetch, metrics, authorization, quotas, latency, embedded, cli, testing, records, transactions, groups, durability,
 * postgres, cluster, kafka-perf (default: all, in that order).
 * --profile runs the broker processes with --cpu-prof and prints where the profiles went.
 * --rounds=N repeats the kafka-perf section's runs N times (default 1) and prints medians and ranges.
 *
 * The load generator runs in this process; every server (broker, TCP sink/source) runs in a child
 * process, so on a 2-core machine each side has a core and the ratios to the baselines are fair.
 */
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchAuthorization } from './authorization.ts'
import { type MachineResult, machineBaseline, tcpFetchBaseline, tcpProduceBaseline } from './baselines.ts'
import { brokerExecArgv, killAllServers } from './children.ts'
import { benchCliStart, type CliStartResult, FULL_PARTITIONS } from './cli-start.ts'
import { benchCluster } from './cluster.ts'
import { benchDurability } from './durability.ts'
import { benchEmbedded, type EmbeddedResult } from './embedded.ts'
import { BATCHES_PER_FETCH, benchFetch, FETCH_IN_FLIGHT, type FetchRun } from './fetch.ts'
import { benchGroups } from './groups.ts'
import { benchKafkaPerf } from './kafka-perf.ts'
import { benchLatency, type LatencySection } from './latency.ts'
import { benchMetrics } from './metrics.ts'
import { benchPostgres, killBenchPostgres } from './postgres.ts'
import {
  benchBatch,
  benchProduce,
  CONNECTIONS,
  DURATION_MS,
  IN_FLIGHT,
  PARTITIONS,
  type ProduceRun,
  type ProduceSection,
  RECORD_SIZE,
  RECORDS_PER_BATCH,
  type Throughput,
  WARMUP_MS,
} from './produce.ts'
import { benchQuotas } from './quotas.ts'
import { benchRecords } from './records.ts'
import { benchStorageMetrics } from './storage-metrics.ts'
import { benchTesting, TESTING_STARTS, type TestingResult } from './testing.ts'
import { benchTransactions } from './transactions.ts'
import { fmt, MB, removeAllTempDirs, table } from './util.ts'

const SECTIONS = [
  'baselines',
  'produce',
  'fetch',
  'metrics',
  'authorization',
  'quotas',
  'latency',
  'embedded',
  'cli',
  'testing',
  'records',
  'transactions',
  'groups',
  'durability',
  'postgres',
  'cluster',
  'kafka-perf',
] as const
type Section = (typeof SECTIONS)[number]

const COLD_START_TARGET_MS = 100
const COLD_START_LATER_TARGET_MS = 50
const IDLE_RSS_TARGET_MB = 80
const CLI_START_TARGET_MS = 150
/** Issue 17: a test file's import('samsa/testing') and its first startBroker() together. */
const FIRST_TEST_BROKER_TARGET_MS = 50
/** Issue 17: a broker over a data directory of 1,000 partitions listens within a second. */
const FULL_START_TARGET_MS = 1000

function parseArgs(argv: string[]): { sections: Set<Section>; profile: boolean; rounds: number } {
  const names = argv.filter((a) => !a.startsWith('--'))
  const rounds = Number(/^--rounds=(\d+)$/.exec(argv.find((a) => a.startsWith('--rounds=')) ?? '--rounds=1')?.[1])
  if (!(rounds >= 1)) {
    console.error('--rounds=N takes a whole number of at least 1')
    process.exit(2)
  }
  for (const n of names) {
    if (!(SECTIONS as readonly string[]).includes(n)) {
      console.error(`unknown section "${n}"; sections: ${SECTIONS.join(', ')}`)
      process.exit(2)
    }
  }
  return {
    sections: new Set((names.length > 0 ? names : SECTIONS) as Section[]),
    profile: argv.includes('--profile'),
    rounds,
  }
}

const pct = (n: number): string => (Number.isFinite(n) ? `${fmt(n)}%` : 'n/a')
const ms = (n: number): string => fmt(n, n < 10 ? 2 : 1)
const ratio = (a: number, b: number): string => `${fmt(a / b, 2)}×`

function heading(title: string, detail: string): void {
  console.log(`\n== ${title}`)
  console.log(detail)
}

function throughputRow(label: string, r: Throughput, extra: string[]): string[] {
  return [
    label,
    fmt(r.mbPerSec),
    fmt(r.recordsPerSec),
    ms(r.p50Ms),
    ms(r.p99Ms),
    pct(r.serverCpu),
    pct(r.clientCpu),
    fmt((r.serverCpu / 100 / r.mbPerSec) * 1000, 2),
    ...extra,
  ]
}

const THROUGHPUT_HEADER = [
  'test',
  'MB/s',
  'records/s',
  'req p50 ms',
  'req p99 ms',
  'server CPU',
  'client CPU',
  'server CPU s/GB',
]

function printMachine(d: MachineResult): void {
  heading(
    'Machine baseline',
    'fs/promises writes in a temp dir on the same file system as the brokers; memory taken and filled in 1 MiB buffers that are all kept.',
  )
  console.log(
    table([
      ['figure', 'value', 'unit'],
      ['1 MiB appends, no sync (page cache)', fmt(d.appendMbPerSec), 'MB/s'],
      ['1 MiB appends, fdatasync after each', fmt(d.syncedMbPerSec), 'MB/s'],
      ['4 KiB write + fdatasync, p50', ms(d.smallSyncP50Ms), 'ms'],
      ['4 KiB write + fdatasync, p99', ms(d.smallSyncP99Ms), 'ms'],
      ['new memory, 1 MiB copies kept', fmt(d.retainedMemoryMbPerSec), 'MB/s'],
    ]),
  )
}

function printProduce(tcp: ProduceRun, disk: MachineResult, section: ProduceSection | undefined): void {
  const batch = benchBatch().length
  heading(
    'Produce throughput',
    `Produce v8, one ${fmt(batch)}-byte batch (${RECORDS_PER_BATCH} × ${RECORD_SIZE} B records, like librdkafka's ` +
      `batch.size 1,000,000) per request, ${PARTITIONS} partitions, ${CONNECTIONS} connections × ${IN_FLIGHT} in flight, ` +
      `${WARMUP_MS} ms warm-up then ${DURATION_MS} ms measured. MB = 10^6 bytes of record batches; CPU in % of one core ` +
      '(all threads; server CPU s/GB is contention-proof: CPU seconds the server spent per GB).\n' +
      'Target: produce acks=1 ≥ 0.5 × the loopback TCP figure with the same frames. "machine": what the engine ' +
      'must do with every byte, measured above (local acks=1: 1 MiB appends; acks=-1: 1 MiB appends + fdatasync ' +
      'each; memory: new memory kept); a broker cannot beat min(TCP, machine).',
  )
  const rows = [
    [...THROUGHPUT_HEADER, 'vs machine', 'vs TCP', 'target'],
    throughputRow('loopback TCP sink (baseline)', tcp, ['', '1.00×', '']),
  ]
  for (const r of section?.results ?? []) {
    const share = r.run.mbPerSec / tcp.mbPerSec
    const machineMb =
      r.storage === 'memory' ? disk.retainedMemoryMbPerSec : r.acks === 1 ? disk.appendMbPerSec : disk.syncedMbPerSec
    const bound = machineMb < 0.5 * tcp.mbPerSec ? `, machine ${ratio(machineMb, tcp.mbPerSec)} of TCP` : ''
    const verdict = r.acks === 1 ? (share >= 0.5 ? 'PASS (≥ 0.5×)' : `BELOW (< 0.5×${bound})`) : ''
    rows.push(
      throughputRow(r.label, r.run, [ratio(r.run.mbPerSec, machineMb), ratio(r.run.mbPerSec, tcp.mbPerSec), verdict]),
    )
  }
  console.log(table(rows))
}

function printFetch(tcp: FetchRun, results: { label: string; run: FetchRun; dataMb: number }[]): void {
  heading(
    'Fetch throughput',
    `Fetch v11, one partition per request, max bytes = ${BATCHES_PER_FETCH} batches (${fmt((BATCHES_PER_FETCH * benchBatch().length) / MB, 1)} MB), ` +
      `${CONNECTIONS} connections × ${FETCH_IN_FLIGHT} in flight, cycling over the data produced. MB = 10^6 bytes of records returned.`,
  )
  const rows = [
    [...THROUGHPUT_HEADER, 'vs TCP', 'data', 'mismatches'],
    throughputRow('loopback TCP source (baseline)', tcp, ['1.00×', '', '']),
  ]
  for (const r of results) {
    rows.push(
      throughputRow(r.label, r.run, [
        ratio(r.run.mbPerSec, tcp.mbPerSec),
        `${fmt(r.dataMb)} MB`,
        String(r.run.mismatches),
      ]),
    )
  }
  console.log(table(rows))
}

function printLatency(section: LatencySection): void {
  heading(
    'Produce→consume latency',
    '1,000 records/s of 1 KiB in batches of 5 (a Produce every 5 ms), 1 partition, consumer long-polling ' +
      '(Fetch max_wait 500 ms, min_bytes 1); 4 s measured after 0.5 s. Per record, ms.',
  )
  const rows = [
    ['case', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'records', 'ack p50 ms', 'ack p99 ms', 'offered rec/s'],
  ]
  for (const { label, run } of section.results) {
    rows.push([
      label,
      ms(run.p50Ms),
      ms(run.p99Ms),
      ms(run.p999Ms),
      ms(run.maxMs),
      fmt(run.samples),
      ms(run.ackP50Ms),
      ms(run.ackP99Ms),
      fmt(run.offeredRate),
    ])
  }
  console.log(table(rows))
}

function printEmbedded(e: EmbeddedResult): void {
  heading(
    'Embedded broker',
    'startBroker({ storage: "memory" }) from the package entry point (its bundle) in fresh child processes.',
  )
  const verdict = (v: number, target: number): string => (v < target ? 'PASS' : 'BELOW')
  const startTarget = (v: number): string =>
    `< ${COLD_START_TARGET_MS} ms: ${verdict(v, COLD_START_TARGET_MS)}; later < ${COLD_START_LATER_TARGET_MS} ms: ${verdict(v, COLD_START_LATER_TARGET_MS)}`
  console.log(
    table([
      ['figure', 'value', 'unit', 'target'],
      [
        'cold start: first startBroker(), median of 20 fresh processes',
        ms(e.coldStartMs),
        'ms',
        startTarget(e.coldStartMs),
      ],
      ['  same, p90', ms(e.coldStartP90Ms), 'ms', ''],
      ['  import of samsa before it, median', ms(e.importMs), 'ms', ''],
      ['  import + first startBroker(), median', ms(e.coldImportAndStartMs), 'ms', startTarget(e.coldImportAndStartMs)],
      ['  fork() → listening (node boot included), median of 5', ms(e.spawnToReadyMs), 'ms', ''],
      ['warm start: startBroker() ×20 in one process, median', ms(e.warmStartMs), 'ms', ''],
      ['warm close: close() ×20, median', ms(e.warmCloseMs), 'ms', ''],
      [
        'idle RSS of a process running one broker',
        fmt(e.idleRss / 1e6, 1),
        'MB',
        `< ${IDLE_RSS_TARGET_MB} MB: ${verdict(e.idleRss / 1e6, IDLE_RSS_TARGET_MB)}`,
      ],
      ['  V8 heap used in it', fmt(e.idleHeapUsed / 1e6, 1), 'MB', ''],
    ]),
  )
}

function printCliStart(c: CliStartResult): void {
  heading(
    'samsa broker start',
    "bench/cli-start.ts: fresh processes, 15 runs each, interleaved: spawn to exit for node -e '' and samsa --version; " +
      'spawn of samsa broker to its first accepted TCP connection: --memory, a new empty data directory, and a data ' +
      `directory of ${FULL_PARTITIONS} partitions with a record each.`,
  )
  const row = (label: string, f: { medianMs: number; p90Ms: number }, target = ''): string[] => [
    label,
    ms(f.medianMs),
    ms(f.p90Ms),
    ms(f.medianMs - c.node.medianMs),
    target,
  ]
  const pass = (f: { medianMs: number }, target: number): string => (f.medianMs < target ? 'PASS' : 'BELOW')
  const verdict = pass(c.broker, CLI_START_TARGET_MS)
  console.log(
    table([
      ['command', 'median ms', 'p90 ms', 'over node -e, ms', 'target'],
      row("node -e '' (baseline)", c.node),
      row('samsa --version', c.version),
      row('samsa broker --memory → accepting connections', c.broker, `< ${CLI_START_TARGET_MS} ms: ${verdict}`),
      row(
        'samsa broker, empty data directory',
        c.empty,
        `< ${CLI_START_TARGET_MS} ms: ${pass(c.empty, CLI_START_TARGET_MS)}`,
      ),
      row(
        `samsa broker, ${FULL_PARTITIONS} partitions`,
        c.full,
        `< ${FULL_START_TARGET_MS} ms: ${pass(c.full, FULL_START_TARGET_MS)}`,
      ),
    ]),
  )
}

function printTesting(t: TestingResult): void {
  heading(
    'samsa/testing',
    `startBroker() from samsa/testing (its bundle; one topic pre-created) ×${TESTING_STARTS} in a fresh process.`,
  )
  const target = COLD_START_LATER_TARGET_MS
  console.log(
    table([
      ['figure', 'value', 'unit', 'target'],
      ['import of samsa/testing', ms(t.importMs), 'ms', ''],
      ['first startBroker() in the process', ms(t.firstStartMs), 'ms', ''],
      [
        'import + first startBroker()',
        ms(t.importMs + t.firstStartMs),
        'ms',
        `< ${FIRST_TEST_BROKER_TARGET_MS} ms: ${t.importMs + t.firstStartMs < FIRST_TEST_BROKER_TARGET_MS ? 'PASS' : 'BELOW'}`,
      ],
      [
        `startBroker() p50 of ${TESTING_STARTS}`,
        ms(t.startP50Ms),
        'ms',
        `< ${target} ms: ${t.startP50Ms < target ? 'PASS' : 'BELOW'}`,
      ],
      [`startBroker() p99 of ${TESTING_STARTS}`, ms(t.startP99Ms), 'ms', ''],
      [`startBroker({ brokers: 3 }) p50 of ${TESTING_STARTS}`, ms(t.clusterStartP50Ms), 'ms', ''],
      ['RSS with one test broker running', fmt(t.rss / 1e6, 1), 'MB', ''],
      ['startBroker() → first record produced (kafkajs)', ms(t.producedMs), 'ms', ''],
      ['startBroker() → first record produced and consumed (kafkajs group)', ms(t.firstRecordMs), 'ms', ''],
    ]),
  )
}

async function main(): Promise<void> {
  const { sections, profile, rounds } = parseArgs(process.argv.slice(2))
  if (profile) {
    const dir = join(tmpdir(), 'samsa-bench-profiles')
    mkdirSync(dir, { recursive: true })
    brokerExecArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`)
    console.log(`broker CPU profiles go to ${dir}`)
  }
  const started = process.hrtime.bigint()
  console.log(
    `samsa benchmark — node ${process.version}, ${process.platform}/${process.arch}; sections: ${[...sections].join(', ')}`,
  )

  let produce: ProduceSection | undefined
  try {
    if (sections.has('baselines') || sections.has('produce')) {
      const disk = await machineBaseline()
      printMachine(disk)
      const tcp = await tcpProduceBaseline()
      if (sections.has('produce')) produce = await benchProduce()
      printProduce(tcp, disk, produce)
    }
    if (sections.has('baselines') || sections.has('fetch')) {
      const tcp = await tcpFetchBaseline()
      const fetched = sections.has('fetch') ? await benchFetch(produce?.fixtures) : undefined
      printFetch(tcp, fetched?.results ?? [])
    }
  } finally {
    await produce?.cleanup()
  }

  if (sections.has('metrics')) {
    heading(
      'Metrics overhead',
      'bench/metrics.ts: produce and fetch with and without the HTTP port and its metrics (scraped every second), ' +
        "and the request path's metrics code alone; bench/storage-metrics.ts: local-engine appends with and without the storage metrics.",
    )
    await benchMetrics()
    await benchStorageMetrics()
  }
  if (sections.has('authorization')) {
    heading(
      'Authorization overhead',
      "bench/authorization.ts: small produce requests with and without Kafka's standard authorizer, and one check alone.",
    )
    await benchAuthorization()
  }
  if (sections.has('quotas')) {
    heading(
      'Client quota overhead',
      'bench/quotas.ts: small produce requests without quotas, with a request_percentage (each request timed), and with a byte rate too.',
    )
    await benchQuotas()
  }
  if (sections.has('latency')) printLatency(await benchLatency())
  if (sections.has('embedded')) printEmbedded(await benchEmbedded())
  if (sections.has('cli')) printCliStart(await benchCliStart())
  if (sections.has('testing')) printTesting(await benchTesting())
  if (sections.has('records')) {
    heading('Record codec', 'bench/records.ts: the produce hot path and full decoding next to a Buffer.copy.')
    await benchRecords()
  }
  if (sections.has('transactions')) {
    heading(
      'Transactions',
      'bench/transactions.ts: transactional produce next to idempotent produce (local engine, acks=all).',
    )
    await benchTransactions()
  }
  if (sections.has('groups')) {
    heading(
      'Consumer group rebalance',
      'bench/groups.ts: time for a group to be Stable again after an 11th member joins or leaves; broker ' +
        '(samsa/testing startBroker, group.initial.rebalance.delay.ms 0) and clients share this process.',
    )
    await benchGroups()
  }
  if (sections.has('durability')) {
    heading(
      'Durability',
      'bench/durability.ts: acks=all next to acks=1 and the disk fsync rate (local engine), recovery after kill -9.',
    )
    await benchDurability()
  }
  if (sections.has('postgres')) {
    heading(
      'PostgreSQL engine',
      'bench/postgres.ts: produce (acks=all) and fetch on --storage postgres:// next to the raw rate at which the ' +
        'same embedded PostgreSQL (durable commits) takes the same batches as bytea rows through pg.',
    )
    await benchPostgres()
  }
  if (sections.has('cluster')) {
    heading(
      'Cluster over PostgreSQL',
      'bench/cluster.ts: produce (acks=all) with 1, 2 and 3 broker processes over one embedded PostgreSQL, next to ' +
        'its raw insert rate, consume from the leaders, and the gap a producer sees when a broker is killed.',
    )
    await benchCluster()
  }
  if (sections.has('kafka-perf')) {
    heading(
      'librdkafka perf client: samsa, Apache Kafka, librdkafka mock',
      'bench/kafka-perf.ts: rdkafka_performance runs against each broker in its own process (issue 17).',
    )
    await benchKafkaPerf({ rounds })
  }
  console.log(`\nbenchmark finished in ${fmt(Number(process.hrtime.bigint() - started) / 1e9, 1)} s`)
}

const abort = (signal: string): void => {
  killAllServers()
  killBenchPostgres()
  void removeAllTempDirs().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
}
process.once('SIGINT', () => abort('SIGINT'))
process.once('SIGTERM', () => abort('SIGTERM'))

try {
  await main()
} catch (err) {
  console.error(err)
  killAllServers()
  killBenchPostgres()
  await removeAllTempDirs()
  process.exitCode = 1
}

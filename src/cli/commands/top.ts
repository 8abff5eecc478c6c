/**
 * `samsa top`: a live view of a running broker from its /metrics (the HTTP port): bytes and
 * records in and out per topic, request rates and latencies per API, consumer group lag and the
 * storage's append, sync and group-commit figures. Rates and latencies are over the refresh
 * interval (the difference of two scrapes), as `top` shows the last interval.
 */
import type { Command } from 'commander'
import { EXIT_CODES_HELP, ExitCode, printJson, UsageError } from '../common.ts'
import { type MetricSample, parseMetricsText, sumOf } from '../metrics-text.ts'
import { formatBytes, formatTable } from '../output/table.ts'

interface TopFlags {
  http: string
  interval: string
  once?: boolean
  json?: boolean
}

/** One frame of the view, as --json prints it. */
export interface TopFrame {
  url: string
  intervalSeconds: number
  connections: number
  requestsInFlight: number
  topics: {
    topic: string
    bytesInPerSec: number
    bytesOutPerSec: number
    recordsInPerSec: number
    recordsOutPerSec: number
    bytesIn: number
    bytesOut: number
  }[]
  apis: { api: string; requestsPerSec: number; requests: number; p50Ms: number | null; p99Ms: number | null }[]
  groups: { group: string; state: string; members: number; lag: number }[]
  storage: { appendP99Ms: number | null; syncP99Ms: number | null; appendsPerSync: number | null; errors: number }
}

/** The broker's /metrics, parsed; a clear error when the HTTP port does not answer. */
async function scrape(url: string): Promise<MetricSample[]> {
  let res: Response
  try {
    res = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(5000) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
    throw new Unreachable(
      `cannot reach the broker's HTTP port at ${url} (${cause}); start the broker with --http-port (e.g. samsa broker --http-port 8080) and pass its address with --http`,
    )
  }
  if (!res.ok) throw new Error(`${url}/metrics answered HTTP ${res.status}`)
  return parseMetricsText(await res.text())
}

class Unreachable extends Error {}

/** Label values of `name`'s samples for `label`, sorted. */
function labelValues(samples: readonly MetricSample[], name: string, label: string): string[] {
  const values = new Set<string>()
  for (const s of samples) if (s.name === name && s.labels[label] !== undefined) values.add(s.labels[label] as string)
  return [...values].sort()
}

/**
 * The `q` quantile (ms) of a histogram's observations between two scrapes, from its cumulative
 * buckets (the upper bound of the bucket holding it, as Prometheus' histogram_quantile without
 * interpolation); null when nothing was observed.
 */
function quantileMs(
  now: readonly MetricSample[],
  then: readonly MetricSample[],
  name: string,
  labels: Record<string, string>,
  q: number,
): number | null {
  const buckets = new Map<string, number>()
  const add = (samples: readonly MetricSample[], sign: number) => {
    for (const s of samples) {
      if (s.name !== `${name}_bucket`) continue
      if (!Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue
      const le = s.labels.le as string
      buckets.set(le, (buckets.get(le) ?? 0) + sign * s.value)
    }
  }
  add(now, 1)
  add(then, -1)
  const total = buckets.get('+Inf') ?? 0
  if (total <= 0) return null
  const sorted = [...buckets].filter(([le]) => le !== '+Inf').sort((a, b) => Number(a[0]) - Number(b[0]))
  for (const [le, count] of sorted) if (count >= q * total) return Number(le) * 1000
  return Number.POSITIVE_INFINITY
}

/** The frame between two scrapes `seconds` apart. */
export function topFrame(url: string, now: MetricSample[], then: MetricSample[], seconds: number): TopFrame {
  const rate = (name: string, labels: Record<string, string> = {}) =>
    Math.max(0, sumOf(now, name, labels) - sumOf(then, name, labels)) / seconds
  const topics = labelValues(now, 'samsa_topic_bytes_in_total', 'topic')
    .concat(labelValues(now, 'samsa_topic_bytes_out_total', 'topic'))
    .filter((t, i, all) => all.indexOf(t) === i)
    .sort()
    .map((topic) => ({
      topic,
      bytesInPerSec: rate('samsa_topic_bytes_in_total', { topic }),
      bytesOutPerSec: rate('samsa_topic_bytes_out_total', { topic }),
      recordsInPerSec: rate('samsa_topic_records_in_total', { topic }),
      recordsOutPerSec: rate('samsa_topic_records_out_total', { topic }),
      bytesIn: sumOf(now, 'samsa_topic_bytes_in_total', { topic }),
      bytesOut: sumOf(now, 'samsa_topic_bytes_out_total', { topic }),
    }))
  const total = 'samsa_request_total_time_seconds'
  const apis = labelValues(now, 'samsa_requests_total', 'api').map((api) => ({
    api,
    requestsPerSec: rate('samsa_requests_total', { api }),
    requests: sumOf(now, 'samsa_requests_total', { api }),
    p50Ms: quantileMs(now, then, total, { api }, 0.5),
    p99Ms: quantileMs(now, then, total, { api }, 0.99),
  }))
  const states = new Map<string, string>()
  for (const s of now) {
    if (s.name === 'samsa_consumer_group_state' && s.value === 1)
      states.set(s.labels.group as string, s.labels.state as string)
  }
  const groups = [...new Set([...states.keys(), ...labelValues(now, 'samsa_consumer_group_lag', 'group')])]
    .sort()
    .map((group) => ({
      group,
      state: states.get(group) ?? '',
      members: sumOf(now, 'samsa_consumer_group_members', { group }),
      lag: sumOf(now, 'samsa_consumer_group_lag', { group }),
    }))
  const syncs =
    sumOf(now, 'samsa_storage_group_commit_appends_count') - sumOf(then, 'samsa_storage_group_commit_appends_count')
  const synced =
    sumOf(now, 'samsa_storage_group_commit_appends_sum') - sumOf(then, 'samsa_storage_group_commit_appends_sum')
  return {
    url,
    intervalSeconds: seconds,
    connections: sumOf(now, 'samsa_connections'),
    requestsInFlight: sumOf(now, 'samsa_requests_in_flight'),
    topics,
    apis,
    groups,
    storage: {
      appendP99Ms: quantileMs(now, then, 'samsa_storage_append_time_seconds', {}, 0.99),
      syncP99Ms: quantileMs(now, then, 'samsa_storage_sync_time_seconds', {}, 0.99),
      appendsPerSync: syncs > 0 ? synced / syncs : null,
      errors: sumOf(now, 'samsa_storage_errors_total'),
    },
  }
}

const ms = (v: number | null): string => (v === null ? '-' : v === Number.POSITIVE_INFINITY ? '>30000' : `≤${v}`)
const perSec = (v: number): string => (v === 0 ? '0' : v < 10 ? v.toFixed(1) : String(Math.round(v)))

/** The frame as text: a header line, then the topic, API, group and storage tables. */
export function formatFrame(f: TopFrame): string {
  const lines = [
    `samsa top: ${f.url}, every ${Number(f.intervalSeconds.toFixed(1))} s; ${f.connections} connections, ${f.requestsInFlight} requests in flight`,
    '',
    formatTable(
      ['TOPIC', 'IN/S', 'OUT/S', 'RECORDS-IN/S', 'RECORDS-OUT/S', 'IN', 'OUT'],
      f.topics.map((t) => [
        t.topic,
        formatBytes(Math.round(t.bytesInPerSec)),
        formatBytes(Math.round(t.bytesOutPerSec)),
        perSec(t.recordsInPerSec),
        perSec(t.recordsOutPerSec),
        formatBytes(t.bytesIn),
        formatBytes(t.bytesOut),
      ]),
    ),
    '',
    formatTable(
      ['API', 'REQUESTS/S', 'REQUESTS', 'P50-MS', 'P99-MS'],
      f.apis.map((a) => [a.api, perSec(a.requestsPerSec), a.requests, ms(a.p50Ms), ms(a.p99Ms)]),
    ),
    '',
    formatTable(
      ['GROUP', 'STATE', 'MEMBERS', 'LAG'],
      f.groups.map((g) => [g.group, g.state, g.members, g.lag]),
    ),
    '',
    `storage: append p99 ${ms(f.storage.appendP99Ms)} ms, sync p99 ${ms(f.storage.syncP99Ms)} ms, ` +
      `appends per sync ${f.storage.appendsPerSync === null ? '-' : f.storage.appendsPerSync.toFixed(1)}, errors ${f.storage.errors}`,
  ]
  return `${lines.join('\n')}\n`
}

function parseInterval(value: string): number {
  const seconds = Number(value)
  if (!(seconds > 0) || seconds > 3600) throw new UsageError(`invalid --interval "${value}" (seconds, e.g. 2 or 0.5)`)
  return seconds
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })

/** Scrapes, waits an interval, scrapes again: one frame; live mode repeats until Ctrl-C. */
async function runTop(flags: TopFlags): Promise<void> {
  const seconds = parseInterval(flags.interval)
  const url = flags.http.replace(/\/+$/, '')
  const stop = new AbortController()
  const onSigint = () => stop.abort()
  process.once('SIGINT', onSigint)
  const tty = process.stdout.isTTY === true && !flags.json
  try {
    let then = await scrape(url)
    let thenAt = performance.now()
    do {
      await sleep(seconds * 1000, stop.signal)
      if (stop.signal.aborted) break
      const now = await scrape(url)
      const nowAt = performance.now()
      const frame = topFrame(url, now, then, (nowAt - thenAt) / 1000)
      if (flags.json) {
        if (flags.once) printJson(frame)
        else process.stdout.write(`${JSON.stringify(frame)}\n`)
      } else {
        // In place on a terminal: cursor home and clear, then the frame.
        process.stdout.write(tty && !flags.once ? `\x1b[H\x1b[2J${formatFrame(frame)}` : formatFrame(frame))
        if (!tty && !flags.once) process.stdout.write('\n')
      }
      then = now
      thenAt = nowAt
    } while (!flags.once && !stop.signal.aborted)
  } finally {
    process.removeListener('SIGINT', onSigint)
  }
}

/** Registers `samsa top`. */
export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description("a live view of a broker from its HTTP port's /metrics: topic traffic, request latencies, group lag")
    .option('--http <url>', "the broker's HTTP port (samsa broker --http-port)", 'http://localhost:8080')
    .option('--interval <seconds>', 'refresh interval; rates and latencies are over it', '2')
    .option('--once', 'print one frame (two scrapes an interval apart) and exit')
    .option('--json', 'print frames as JSON (one object; a line per frame without --once)')
    .addHelpText(
      'after',
      `
The broker must have an HTTP port (samsa broker --http-port 8080). Rates and latencies (the
bucket bound holding the 50th and 99th percentile of requests' total time) are over the last
interval; lag is the sum over each group's partitions. Ctrl-C stops the live view.

Examples:
  samsa top --once
  samsa top --http http://localhost:8080 --interval 1
  samsa top --once --json --interval 0.5 | jq '.topics[] | {topic, bytesInPerSec}'
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: TopFlags) => {
      try {
        await runTop(flags)
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err
        process.stderr.write(`samsa: error: ${err.message}\n`)
        process.exitCode = ExitCode.UNREACHABLE
      }
    })
}

/** Latency samples and the throughput/latency summary printed by `samsa perf`. */

/** Collects latency samples in milliseconds. */
export class LatencyRecorder {
  #samples = new Float64Array(1024)
  #count = 0
  #sum = 0
  #max = 0

  /** Adds one sample. */
  record(ms: number): void {
    if (this.#count === this.#samples.length) {
      const bigger = new Float64Array(this.#samples.length * 2)
      bigger.set(this.#samples)
      this.#samples = bigger
    }
    this.#samples[this.#count++] = ms
    this.#sum += ms
    if (ms > this.#max) this.#max = ms
  }

  /** Number of samples. */
  get count(): number {
    return this.#count
  }

  /**
   * avg, p50, p95, p99, p99.9 and max (nearest-rank percentiles). A percentile needs enough
   * samples to differ from the maximum (20 for p95, 100 for p99, 1000 for p99.9); with fewer it
   * is null rather than the maximum under another name.
   */
  summary(): LatencySummary {
    if (this.#count === 0) return { avg: null, p50: null, p95: null, p99: null, p999: null, max: null }
    const sorted = this.#samples.slice(0, this.#count).sort()
    const at = (q: number): number | null =>
      this.#count < Math.round(1 / (1 - q)) ? null : (sorted[Math.ceil(q * this.#count) - 1] as number)
    return { avg: this.#sum / this.#count, p50: at(0.5), p95: at(0.95), p99: at(0.99), p999: at(0.999), max: this.#max }
  }
}

/** Latency statistics in milliseconds; null where there are too few samples. */
export interface LatencySummary {
  avg: number | null
  p50: number | null
  p95: number | null
  p99: number | null
  p999: number | null
  max: number | null
}

/** The percentiles and how many samples each needs. */
const PERCENTILES = [
  ['p50', 'p50', 2],
  ['p95', 'p95', 20],
  ['p99', 'p99', 100],
  ['p999', 'p99.9', 1000],
] as const

/** The summary of a perf run. */
export interface PerfSummary {
  records: number
  bytes: number
  elapsedMs: number
  recordsPerSec: number
  mbPerSec: number
  /** How many latencies were measured (records for produce, fetches that returned records for consume). */
  latencySamples: number
  latencyMs: LatencySummary
}

/** Computes a summary. */
export function summarize(records: number, bytes: number, elapsedMs: number, latency: LatencyRecorder): PerfSummary {
  const secs = Math.max(elapsedMs, 1e-3) / 1000
  return {
    records,
    bytes,
    elapsedMs: round(elapsedMs),
    recordsPerSec: round(records / secs),
    mbPerSec: round(bytes / (1024 * 1024) / secs),
    latencySamples: latency.count,
    latencyMs: roundAll(latency.summary()),
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100
}

function roundAll(l: LatencySummary): LatencySummary {
  const r = (v: number | null): number | null => (v === null ? null : round(v))
  return { avg: r(l.avg), p50: r(l.p50), p95: r(l.p95), p99: r(l.p99), p999: r(l.p999), max: r(l.max) }
}

/** The summary as text; `latencyWhat` names what one sample is ("produce", "fetch"). */
export function formatSummary(s: PerfSummary, what: string, latencyWhat: string): string {
  const l = s.latencyMs
  const lines = [
    `${s.records} records ${what} in ${(s.elapsedMs / 1000).toFixed(2)} s`,
    `throughput: ${s.recordsPerSec.toFixed(1)} records/s, ${s.mbPerSec.toFixed(2)} MB/s`,
  ]
  if (l.avg === null || l.max === null) {
    lines.push(`${latencyWhat} latency: no samples`)
    return lines.join('\n')
  }
  const parts = [`avg ${l.avg.toFixed(2)}`]
  const missing: string[] = []
  for (const [key, label, needs] of PERCENTILES) {
    const v = l[key]
    if (v === null) missing.push(`${label} needs ${needs}`)
    else parts.push(`${label} ${v.toFixed(2)}`)
  }
  parts.push(`max ${l.max.toFixed(2)}`)
  lines.push(`${latencyWhat} latency (ms, ${s.latencySamples} samples): ${parts.join(', ')}`)
  if (missing.length > 0) {
    lines.push(`too few samples for ${missing.map((m) => m.split(' ')[0]).join(', ')} (${missing.join(', ')})`)
  }
  return lines.join('\n')
}

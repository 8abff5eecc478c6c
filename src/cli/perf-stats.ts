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

  /** avg, p50, p95, p99, p99.9 and max (nearest-rank percentiles). */
  summary(): { avg: number; p50: number; p95: number; p99: number; p999: number; max: number } {
    if (this.#count === 0) return { avg: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 }
    const sorted = this.#samples.slice(0, this.#count).sort()
    const at = (q: number): number => sorted[Math.min(this.#count - 1, Math.ceil(q * this.#count) - 1)] as number
    return { avg: this.#sum / this.#count, p50: at(0.5), p95: at(0.95), p99: at(0.99), p999: at(0.999), max: this.#max }
  }
}

/** The summary of a perf run. */
export interface PerfSummary {
  records: number
  bytes: number
  elapsedMs: number
  recordsPerSec: number
  mbPerSec: number
  latencyMs: ReturnType<LatencyRecorder['summary']>
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
    latencyMs: Object.fromEntries(
      Object.entries(latency.summary()).map(([k, v]) => [k, round(v)]),
    ) as PerfSummary['latencyMs'],
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100
}

/** The summary as text. */
export function formatSummary(s: PerfSummary, what: string, latencyWhat: string): string {
  const l = s.latencyMs
  return [
    `${s.records} records ${what} in ${(s.elapsedMs / 1000).toFixed(2)} s`,
    `throughput: ${s.recordsPerSec.toFixed(1)} records/s, ${s.mbPerSec.toFixed(2)} MB/s`,
    `${latencyWhat} latency (ms): avg ${l.avg.toFixed(2)}, p50 ${l.p50.toFixed(2)}, p95 ${l.p95.toFixed(2)}, p99 ${l.p99.toFixed(2)}, p99.9 ${l.p999.toFixed(2)}, max ${l.max.toFixed(2)}`,
  ].join('\n')
}

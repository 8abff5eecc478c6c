/**
 * A histogram cheap enough for the hot path: one array increment per observation, no labels and
 * no allocation. Metrics code turns it into Prometheus series at scrape time.
 */

/** Upper bounds (seconds) of the latency histograms: 0.1 ms to 30 s (long polls wait up to their max.wait). */
export const LATENCY_BOUNDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

/** One series of a histogram: a _bucket (with its le label), _sum or _count. */
export interface HistogramSeries {
  metricName: string
  labels: Record<string, string | number>
  value: number
}

/** Counts per bucket (not cumulative; the last is above every bound), their sum and count. */
export class Histogram {
  readonly bounds: readonly number[]
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(bounds: readonly number[] = LATENCY_BOUNDS) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += value
    this.count++
  }

  /** The Prometheus series of this histogram under `name` with `labels`. */
  series(name: string, labels: Record<string, string | number>): HistogramSeries[] {
    const out: HistogramSeries[] = []
    let cumulative = 0
    this.bounds.forEach((le, i) => {
      cumulative += this.counts[i] as number
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative })
    })
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count })
    out.push({ metricName: `${name}_sum`, labels, value: this.sum })
    out.push({ metricName: `${name}_count`, labels, value: this.count })
    return out
  }
}

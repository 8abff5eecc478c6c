/**
 * Metrics whose values are read at scrape time: the hot path counts into plain numbers and
 * arrays (cheaper than prom-client's per-call label hashing), and these objects hand them to
 * prom-client's registry, which renders Prometheus text or OpenMetrics.
 */
import type { Metric, Registry } from 'prom-client'

/** One value of a metric: its labels, and for histograms the series it belongs to (_bucket, _sum, _count). */
export interface Sample {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

export type MetricType = 'counter' | 'gauge' | 'histogram'

/** Registers a metric computed by `collect` at each scrape. */
export function registerScraped(
  registry: Registry,
  name: string,
  help: string,
  type: MetricType,
  collect: () => Sample[] | Promise<Sample[]>,
): void {
  // The shape of prom-client's metrics as its registry reads them (get() and a name).
  const metric = {
    name,
    help,
    type,
    async get() {
      return { name: metric.name, help, type, values: await collect(), aggregator: 'sum' }
    },
  }
  registry.registerMetric(metric as unknown as Metric)
}

/** Upper bounds (seconds) of the latency histograms: 0.1 ms to 30 s (long polls wait up to their max.wait). */
export const LATENCY_BOUNDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

/** A latency histogram as counts per bucket (not cumulative; the last is above every bound). */
export class Timings {
  readonly counts = new Float64Array(LATENCY_BOUNDS.length + 1)
  sum = 0
  count = 0

  observe(seconds: number): void {
    let i = 0
    while (i < LATENCY_BOUNDS.length && seconds > (LATENCY_BOUNDS[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += seconds
    this.count++
  }

  /** The Prometheus series of this histogram under `name` with `labels`. */
  samples(name: string, labels: Record<string, string | number>): Sample[] {
    const out: Sample[] = []
    let cumulative = 0
    LATENCY_BOUNDS.forEach((le, i) => {
      cumulative += this.counts[i] as number
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative })
    })
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count })
    out.push({ metricName: `${name}_sum`, labels, value: this.sum })
    out.push({ metricName: `${name}_count`, labels, value: this.count })
    return out
  }
}

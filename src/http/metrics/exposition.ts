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

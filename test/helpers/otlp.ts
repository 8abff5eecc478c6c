/**
 * OTLP metrics payloads as a client pushes them (KIP-714), encoded with protobufjs from the
 * broker's own descriptor, for the raw telemetry tests.
 */
import { Root } from 'protobufjs/light.js'
import { OTLP_METRICS } from '../../src/http/metrics/otlp-descriptor.ts'

export interface TestMetric {
  name: string
  kind: 'gauge' | 'delta-counter' | 'cumulative-counter'
  value: number
  attributes?: Record<string, string>
}

const DELTA = 1
const CUMULATIVE = 2

/** An ExportMetricsServiceRequest with one resource and scope holding the metrics. */
export function otlpPayload(metrics: TestMetric[]): Buffer {
  const type = Root.fromJSON(OTLP_METRICS).lookupType('ExportMetricsServiceRequest')
  const asMetric = (m: TestMetric) => {
    const dataPoints = [
      {
        attributes: Object.entries(m.attributes ?? {}).map(([key, value]) => ({ key, value: { stringValue: value } })),
        asDouble: m.value,
      },
    ]
    if (m.kind === 'gauge') return { name: m.name, gauge: { dataPoints } }
    const temporality = m.kind === 'delta-counter' ? DELTA : CUMULATIVE
    return { name: m.name, sum: { dataPoints, aggregationTemporality: temporality, isMonotonic: true } }
  }
  const message = type.fromObject({ resourceMetrics: [{ scopeMetrics: [{ metrics: metrics.map(asMetric) }] }] })
  return Buffer.from(type.encode(message).finish())
}

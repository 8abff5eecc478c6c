/**
 * Reads the OTLP metrics a client pushes (KIP-714: an ExportMetricsServiceRequest, protobuf)
 * into flat data points: gauges and sums, each point with its metric's name and its attributes.
 * Histograms, summaries and exponential histograms are skipped.
 */
import { Root, type Type } from 'protobufjs/light.js'
import { OTLP_METRICS } from './otlp-descriptor.ts'

/** One data point of a pushed metric. */
export interface OtlpPoint {
  metric: string
  description: string
  /** Monotonic sums are counters; gauges and other sums are gauges. */
  type: 'counter' | 'gauge'
  /** A delta sum: the value adds to the previous one instead of replacing it. */
  delta: boolean
  attributes: Record<string, string>
  value: number
}

const DELTA = 1
let request: Type | undefined

interface AnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: number
  doubleValue?: number
}
interface DataPoint {
  attributes?: { key?: string; value?: AnyValue }[]
  asDouble?: number
  asInt?: number
}
interface Metric {
  name?: string
  description?: string
  gauge?: { dataPoints?: DataPoint[] }
  sum?: { dataPoints?: DataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean }
}
interface ExportRequest {
  resourceMetrics?: { scopeMetrics?: { metrics?: Metric[] }[] }[]
}

/** Decodes a pushed payload; throws when it is not a valid ExportMetricsServiceRequest. */
export function decodeOtlpMetrics(payload: Buffer): OtlpPoint[] {
  request ??= Root.fromJSON(OTLP_METRICS).lookupType('ExportMetricsServiceRequest')
  const decoded = request.toObject(request.decode(payload), { longs: Number, enums: Number }) as ExportRequest
  const out: OtlpPoint[] = []
  for (const resource of decoded.resourceMetrics ?? []) {
    for (const scope of resource.scopeMetrics ?? []) {
      for (const m of scope.metrics ?? []) {
        const base = { metric: m.name ?? '', description: m.description ?? '' }
        if (m.gauge) out.push(...points(m.gauge.dataPoints, { ...base, type: 'gauge', delta: false }))
        if (m.sum) {
          const type = m.sum.isMonotonic ? 'counter' : 'gauge'
          const delta = m.sum.aggregationTemporality === DELTA
          out.push(...points(m.sum.dataPoints, { ...base, type, delta }))
        }
      }
    }
  }
  return out
}

function points(dataPoints: DataPoint[] | undefined, base: Omit<OtlpPoint, 'attributes' | 'value'>): OtlpPoint[] {
  return (dataPoints ?? []).map((p) => ({
    ...base,
    attributes: Object.fromEntries((p.attributes ?? []).map((a) => [a.key ?? '', text(a.value)])),
    value: p.asDouble ?? p.asInt ?? 0,
  }))
}

function text(v: AnyValue | undefined): string {
  const value = v?.stringValue ?? v?.boolValue ?? v?.intValue ?? v?.doubleValue
  return value === undefined ? '' : String(value)
}

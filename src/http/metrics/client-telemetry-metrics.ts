/**
 * Client telemetry on /metrics (KIP-714): the metrics clients push, decoded from OTLP and kept as
 * one Prometheus family per metric name (dots become underscores; monotonic sums are counters
 * ending in _total), each series labelled with the pushing client's client_instance_id and
 * client_id beside the metric's own attributes. Delta sums are added up; gauges and cumulative
 * sums keep the last value. Cardinality is bounded: at most `clients` clients and `series` series
 * are kept (pushes past them are dropped and counted), and a client that stopped pushing for
 * three of its push intervals is dropped with its series.
 */
import type { Registry } from 'prom-client'
import type { TelemetryClient, TelemetryReceiver } from '../../broker/telemetry/client-telemetry.ts'
import { registerScraped, type Sample } from './exposition.ts'
import { decodeOtlpMetrics, type OtlpPoint } from './otlp.ts'

export interface ClientTelemetryLimits {
  /** Most clients whose metrics are kept. */
  clients: number
  /** Most series, every client's together. */
  series: number
}

interface Series {
  labels: Record<string, string>
  value: number
}

interface Family {
  type: OtlpPoint['type']
  series: Map<string, Series>
}

interface ClientSeries {
  expiresAt: number
  /** Family name and series key of each of its series. */
  series: [string, string][]
}

/** A client's metrics stay this many push intervals after its last push (Kafka's instance expiry). */
const EXPIRY_INTERVALS = 3

/** Receives pushed telemetry and exposes it through the broker's registry. */
export class ClientTelemetryMetrics implements TelemetryReceiver {
  readonly #registry: Registry
  readonly #limits: () => ClientTelemetryLimits
  readonly #now: () => number
  readonly #clients = new Map<string, ClientSeries>()
  readonly #families = new Map<string, Family>()
  #seriesCount = 0
  readonly #dropped = { clients: 0, series: 0 }

  constructor(registry: Registry, limits: () => ClientTelemetryLimits, now: () => number = Date.now) {
    this.#registry = registry
    this.#limits = limits
    this.#now = now
    registerScraped(
      registry,
      'samsa_client_telemetry_clients',
      'Clients whose pushed metrics are kept.',
      'gauge',
      () => [{ labels: {}, value: this.#clients.size }],
    )
    registerScraped(
      registry,
      'samsa_client_telemetry_series',
      'Series of pushed client metrics kept, every client together.',
      'gauge',
      () => [{ labels: {}, value: this.#seriesCount }],
    )
    registerScraped(
      registry,
      'samsa_client_telemetry_dropped_total',
      'Pushed client data left out by the limits: whole pushes of clients past the client limit (reason="clients") and series past the series limit (reason="series").',
      'counter',
      () => Object.entries(this.#dropped).map(([reason, value]) => ({ labels: { reason }, value })),
    )
  }

  export(client: TelemetryClient, payload: Buffer): void {
    const points = decodeOtlpMetrics(payload)
    this.expire()
    let kept = this.#clients.get(client.instanceId)
    if (kept === undefined) {
      if (this.#clients.size >= this.#limits().clients) {
        this.#dropped.clients++
        return
      }
      kept = { expiresAt: 0, series: [] }
      this.#clients.set(client.instanceId, kept)
    }
    kept.expiresAt = this.#now() + EXPIRY_INTERVALS * client.pushIntervalMs
    const own = { client_instance_id: client.instanceId, client_id: client.clientId }
    for (const p of points) {
      const name = familyName(p)
      const family = this.#family(name, p)
      if (family === undefined) continue
      const labels = { ...labelNames(p.attributes), ...own }
      const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))
      let series = family.series.get(key)
      if (series === undefined) {
        if (this.#seriesCount >= this.#limits().series) {
          this.#dropped.series++
          continue
        }
        series = { labels, value: 0 }
        family.series.set(key, series)
        kept.series.push([name, key])
        this.#seriesCount++
      }
      series.value = p.delta ? series.value + p.value : p.value
    }
  }

  /** Drops the clients that stopped pushing, and the families left without series. */
  expire(): void {
    const now = this.#now()
    for (const [id, client] of this.#clients) {
      if (client.expiresAt > now) continue
      this.#clients.delete(id)
      for (const [name, key] of client.series) {
        const family = this.#families.get(name)
        if (family?.series.delete(key)) this.#seriesCount--
        if (family?.series.size === 0) {
          this.#families.delete(name)
          this.#registry.removeSingleMetric(name)
        }
      }
    }
  }

  /** The family of a point, registered on first use; undefined when the name is taken by another metric or type. */
  #family(name: string, p: OtlpPoint): Family | undefined {
    const known = this.#families.get(name)
    if (known) return known.type === p.type ? known : undefined
    if (this.#registry.getSingleMetric(name) !== undefined) return undefined
    const family: Family = { type: p.type, series: new Map() }
    this.#families.set(name, family)
    const help = p.description === '' ? `Client metric ${p.metric} (pushed, KIP-714).` : p.description
    registerScraped(this.#registry, name, help, p.type, () =>
      [...family.series.values()].map((s): Sample => ({ labels: s.labels, value: s.value })),
    )
    return family
  }
}

/** A Prometheus name for an OTLP metric name: org.apache.kafka.producer.record.error.total becomes org_apache_kafka_producer_record_error_total. */
function familyName(p: OtlpPoint): string {
  const name = sanitize(p.metric)
  return p.type === 'counter' && !name.endsWith('_total') ? `${name}_total` : name
}

function labelNames(attributes: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(attributes)) {
    const name = sanitize(key).replace(/^__+/, '_')
    out[name] = value
  }
  return out
}

function sanitize(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[0-9]/.test(clean) || clean === '' ? `_${clean}` : clean
}

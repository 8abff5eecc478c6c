/**
 * The broker's Prometheus metrics (GET /metrics): requests, connections and traffic counted on
 * the request path (request-metrics.ts), storage work counted by the engine (StorageMetrics), and
 * partition offsets, consumer lag and group states computed at each scrape from the broker's
 * state, so that they cost nothing between scrapes.
 * Names and their Kafka JMX counterparts are listed in the README.
 */
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { BrokerCore } from '../../broker/broker-core.ts'
import { StorageMetrics } from '../../storage/engine/storage-metrics.ts'
import { SerialQueue } from '../../util/serial-queue.ts'
import type { HttpRoutes } from '../http-server.ts'
import { ClientTelemetryMetrics } from './client-telemetry-metrics.ts'
import { registerScraped, type Sample } from './exposition.ts'
import { RequestMetrics } from './request-metrics.ts'

/** One partition's offsets, read once per scrape (lag reuses them). */
interface PartitionOffsetsSample {
  logStartOffset: number
  highWatermark: number
  lastStableOffset: number
}

/** The metrics of one broker process (its registry, its counters, its scrape-time readers). */
export class BrokerMetrics {
  readonly registry = new Registry()
  readonly requests: RequestMetrics
  /** The metrics clients push (KIP-714): the broker's telemetry receiver. */
  readonly clientTelemetry: ClientTelemetryMetrics
  /** Given to the storage engine, which counts its appends, syncs, reads and cleaning into it. */
  readonly storage = new StorageMetrics()
  readonly #core: () => BrokerCore | undefined
  readonly #renders = new SerialQueue()
  /** The offsets read by the scrape in progress (partition gauges and lag share them). */
  #offsets = new Map<string, Promise<PartitionOffsetsSample | undefined>>()

  /** `core` is undefined until the broker's coordinators are up. */
  constructor(core: () => BrokerCore | undefined) {
    this.#core = core
    this.requests = new RequestMetrics((id) => core()?.topics.getById(id)?.name)
    this.clientTelemetry = new ClientTelemetryMetrics(this.registry, () => {
      const c = core()
      return {
        clients: c?.numberProp('samsa.metrics.client.limit') ?? 0,
        series: c?.numberProp('samsa.metrics.client.series.limit') ?? 0,
      }
    })
    collectDefaultMetrics({ register: this.registry })
    this.#registerRequests()
    this.#registerNetwork()
    this.#registerTopics()
    this.#registerPartitions()
    this.#registerGroups()
    this.#registerStorage()
  }

  /** Renders every metric: OpenMetrics when asked for, else Prometheus text 0.0.4. */
  render(openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    // One at a time: the registry's format is a setting, and rendering OpenMetrics renames the
    // counters (it strips _total), which the next render must not see.
    return this.#renders.run(async () => {
      this.clientTelemetry.expire()
      const metrics = this.registry.getMetricsAsArray()
      const names = metrics.map((m) => (m as unknown as { name: string }).name)
      const type = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE
      this.registry.setContentType(type as typeof Registry.PROMETHEUS_CONTENT_TYPE)
      this.#offsets = new Map()
      try {
        return { contentType: type, body: await this.registry.metrics() }
      } finally {
        metrics.forEach((m, i) => {
          ;(m as unknown as { name: string }).name = names[i] as string
        })
        this.#offsets = new Map()
      }
    })
  }

  /** GET /metrics. */
  routes(): HttpRoutes {
    return (app) => {
      app.get('/metrics', async (request, reply) => {
        const accept = request.headers.accept ?? ''
        const { contentType, body } = await this.render(accept.includes('application/openmetrics-text'))
        reply.header('content-type', contentType)
        return body
      })
    }
  }

  #registerRequests(): void {
    const r = this.registry
    const apis = () => this.requests.apis.filter((a) => a !== undefined)
    registerScraped(r, 'samsa_requests_total', 'Requests answered, by API and version.', 'counter', () =>
      apis().flatMap((a) => [...a.byVersion].map(([version, value]) => ({ labels: { api: a.name, version }, value }))),
    )
    registerScraped(
      r,
      'samsa_request_errors_total',
      'Error codes in responses (every item but NONE), by API and error.',
      'counter',
      () => apis().flatMap((a) => [...a.errors].map(([error, value]) => ({ labels: { api: a.name, error }, value }))),
    )
    registerScraped(r, 'samsa_requests_in_flight', 'Requests read and not yet answered.', 'gauge', () => [
      { labels: {}, value: this.requests.inFlight },
    ])
    const histograms = [
      ['samsa_request_queue_time_seconds', 'queue', 'Time a read request waited before its handler ran.'],
      ['samsa_request_handling_time_seconds', 'handling', 'Time in the handler (storage and fsync included).'],
      ['samsa_response_queue_time_seconds', 'responseQueue', 'Time a ready response waited for earlier ones.'],
      ['samsa_response_send_time_seconds', 'send', 'Time from writing a response to the kernel taking it.'],
      ['samsa_request_total_time_seconds', 'total', 'Time from reading a request to its response being sent.'],
    ] as const
    for (const [name, field, help] of histograms) {
      registerScraped(r, name, `${help} By API.`, 'histogram', () =>
        apis().flatMap((a) => a[field].series(name, { api: a.name })),
      )
    }
  }

  #registerNetwork(): void {
    const r = this.registry
    const perListener = (value: (t: (typeof this.requests.listeners)[number]) => number) => (): Sample[] => {
      const sums = new Map<string, number>()
      for (const t of this.requests.listeners) sums.set(t.listener, (sums.get(t.listener) ?? 0) + value(t))
      return [...sums].map(([listener, v]) => ({ labels: { listener }, value: v }))
    }
    registerScraped(
      r,
      'samsa_network_bytes_in_total',
      'Bytes read from clients.',
      'counter',
      perListener((t) => t.bytesIn),
    )
    registerScraped(
      r,
      'samsa_network_bytes_out_total',
      'Bytes written to clients.',
      'counter',
      perListener((t) => t.bytesOut),
    )
    registerScraped(
      r,
      'samsa_connections',
      'Open client connections.',
      'gauge',
      perListener((t) => t.opened - t.closed),
    )
    registerScraped(
      r,
      'samsa_connections_created_total',
      'Client connections accepted.',
      'counter',
      perListener((t) => t.opened),
    )
    registerScraped(
      r,
      'samsa_connections_closed_total',
      'Client connections closed.',
      'counter',
      perListener((t) => t.closed),
    )
  }

  #registerTopics(): void {
    const r = this.registry
    const perTopic =
      (value: (t: { bytesIn: number; recordsIn: number; bytesOut: number; recordsOut: number }) => number) =>
      (): Sample[] => {
        const core = this.#core()
        const out: Sample[] = []
        for (const [topic, traffic] of this.requests.topics) {
          // A deleted topic's series end with it.
          if (core !== undefined && core.topics.get(topic) === undefined) this.requests.topics.delete(topic)
          else out.push({ labels: { topic }, value: value(traffic) })
        }
        return out
      }
    registerScraped(
      r,
      'samsa_topic_bytes_in_total',
      'Record bytes appended by producers.',
      'counter',
      perTopic((t) => t.bytesIn),
    )
    registerScraped(
      r,
      'samsa_topic_records_in_total',
      'Records appended by producers.',
      'counter',
      perTopic((t) => t.recordsIn),
    )
    registerScraped(
      r,
      'samsa_topic_bytes_out_total',
      'Record bytes sent in fetch responses.',
      'counter',
      perTopic((t) => t.bytesOut),
    )
    registerScraped(
      r,
      'samsa_topic_records_out_total',
      'Records sent in fetch responses.',
      'counter',
      perTopic((t) => t.recordsOut),
    )
  }

  /** The partitions this broker leads, by topic name, at most samsa.metrics.partition.limit of them. */
  #partitions(core: BrokerCore): { partitions: { topic: string; partition: number }[]; omitted: number } {
    const limit = core.numberProp('samsa.metrics.partition.limit')
    const partitions: { topic: string; partition: number }[] = []
    let omitted = 0
    const topics = core.topics.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const t of topics) {
      for (let partition = 0; partition < t.partitionCount; partition++) {
        if (!core.leadership.leads(t.name, partition)) continue
        if (partitions.length < limit) partitions.push({ topic: t.name, partition })
        else omitted++
      }
    }
    return { partitions, omitted }
  }

  /** A partition's offsets, read once per scrape; undefined if it cannot be read. */
  #partitionOffsets(core: BrokerCore, topic: string, partition: number): Promise<PartitionOffsetsSample | undefined> {
    const key = `${topic}\u0000${partition}`
    let offsets = this.#offsets.get(key)
    if (offsets === undefined) {
      offsets = core.storage.offsets(topic, partition).then(
        (o) => ({
          logStartOffset: o.logStartOffset,
          highWatermark: o.highWatermark,
          lastStableOffset: core.producers.lastStableOffset(topic, partition, o.highWatermark),
        }),
        () => undefined,
      )
      this.#offsets.set(key, offsets)
    }
    return offsets
  }

  #registerPartitions(): void {
    const r = this.registry
    const gauge = (name: string, help: string, field: keyof PartitionOffsetsSample) =>
      registerScraped(r, name, help, 'gauge', async () => {
        const core = this.#core()
        if (core === undefined) return []
        const { partitions } = this.#partitions(core)
        const samples = await Promise.all(
          partitions.map(async ({ topic, partition }) => {
            const o = await this.#partitionOffsets(core, topic, partition)
            return o === undefined ? undefined : { labels: { topic, partition }, value: o[field] }
          }),
        )
        return samples.filter((s) => s !== undefined)
      })
    gauge('samsa_partition_log_start_offset', 'First offset of the partition (led by this broker).', 'logStartOffset')
    gauge('samsa_partition_high_watermark', 'High watermark (log end offset) of the partition.', 'highWatermark')
    gauge(
      'samsa_partition_last_stable_offset',
      'Last stable offset (read_committed consumers stop there).',
      'lastStableOffset',
    )
    registerScraped(
      r,
      'samsa_metrics_partitions_omitted',
      'Partitions led here but left out of the partition and lag metrics (samsa.metrics.partition.limit).',
      'gauge',
      () => {
        const core = this.#core()
        return [{ labels: {}, value: core === undefined ? 0 : this.#partitions(core).omitted }]
      },
    )
  }

  #registerGroups(): void {
    const r = this.registry
    registerScraped(
      r,
      'samsa_consumer_group_lag',
      "Records between a group's committed offset and the high watermark, by group, topic and partition.",
      'gauge',
      async () => {
        const core = this.#core()
        if (core === undefined) return []
        const limit = core.numberProp('samsa.metrics.partition.limit')
        const wanted: { group: string; topic: string; partition: number; committed: number }[] = []
        for (const { groupId } of core.groups.listGroups([], [])) {
          for (const t of core.groups.fetchOffsets(groupId, null).topics) {
            for (const p of t.partitions) {
              if (p.committed === undefined || wanted.length >= limit) continue
              const committed = Number(p.committed.offset)
              wanted.push({ group: groupId, topic: t.name, partition: p.partitionIndex, committed })
            }
          }
        }
        const samples = await Promise.all(
          wanted.map(async ({ group, topic, partition, committed }) => {
            const o = await this.#partitionOffsets(core, topic, partition)
            if (o === undefined) return undefined
            return { labels: { group, topic, partition }, value: Math.max(0, o.highWatermark - committed) }
          }),
        )
        return samples.filter((s) => s !== undefined)
      },
    )
    registerScraped(
      r,
      'samsa_consumer_group_members',
      'Members of each group this broker coordinates.',
      'gauge',
      () => {
        const core = this.#core()
        if (core === undefined) return []
        return core.groups.listGroups([], []).map(({ groupId }) => ({
          labels: { group: groupId },
          value: core.groups.group(groupId)?.members.size ?? 0,
        }))
      },
    )
    registerScraped(
      r,
      'samsa_consumer_group_rebalances_total',
      'Rebalances of each group this broker coordinates (classic: joins begun; consumer: new group epochs), since it took the group.',
      'counter',
      () => {
        const core = this.#core()
        if (core === undefined) return []
        return core.groups.listGroups([], []).map(({ groupId }) => ({
          labels: { group: groupId },
          value: core.groups.group(groupId)?.rebalances ?? 0,
        }))
      },
    )
    registerScraped(
      r,
      'samsa_consumer_group_state',
      'The state of each group this broker coordinates: 1 for its current state.',
      'gauge',
      () => {
        const core = this.#core()
        if (core === undefined) return []
        return core.groups
          .listGroups([], [])
          .map(({ groupId, groupState }) => ({ labels: { group: groupId, state: groupState }, value: 1 }))
      },
    )
  }

  #registerStorage(): void {
    const r = this.registry
    const s = this.storage
    const histograms = [
      [
        'samsa_storage_append_time_seconds',
        s.appendSeconds,
        'Appends to the log, from the call to the answer (acks=all: once durable).',
      ],
      ['samsa_storage_read_time_seconds', s.readSeconds, 'Reads of the log (fetches).'],
      [
        'samsa_storage_sync_time_seconds',
        s.syncSeconds,
        'Durable writes of log data: an fdatasync (local) or a commit transaction (postgres).',
      ],
      [
        'samsa_storage_group_commit_appends',
        s.syncAppends,
        'Appends made durable by one group commit (fdatasync or postgres commit).',
      ],
      [
        'samsa_storage_group_commit_bytes',
        s.syncBytes,
        'Bytes made durable by one group commit (fdatasync or postgres commit).',
      ],
      [
        'samsa_storage_query_time_seconds',
        s.querySeconds,
        'PostgreSQL statements, from their send to their answer (postgres engine).',
      ],
    ] as const
    for (const [name, histogram, help] of histograms) {
      registerScraped(r, name, help, 'histogram', () => histogram.series(name, {}))
    }
    registerScraped(r, 'samsa_storage_errors_total', 'Storage operations failed on I/O, by operation.', 'counter', () =>
      [...s.errors].map(([operation, value]) => ({ labels: { operation }, value })),
    )
    const pool = (field: 'total' | 'idle' | 'waiting') => () => {
      const use = s.pool?.()
      return use === undefined ? [] : [{ labels: {}, value: use[field] }]
    }
    registerScraped(
      r,
      'samsa_storage_pool_connections',
      'Connections the PostgreSQL pool holds (postgres engine).',
      'gauge',
      pool('total'),
    )
    registerScraped(
      r,
      'samsa_storage_pool_idle_connections',
      'Pooled PostgreSQL connections not in use.',
      'gauge',
      pool('idle'),
    )
    registerScraped(
      r,
      'samsa_storage_pool_waiting_clients',
      'Queries waiting for a pooled PostgreSQL connection.',
      'gauge',
      pool('waiting'),
    )
    const counters = [
      ['samsa_log_retention_passes_total', 'Retention passes over every partition.', () => s.retentionPasses],
      [
        'samsa_log_deleted_segments_total',
        'Segments (local) or batches (memory, postgres) removed by retention and DeleteRecords.',
        () => s.deletedSegments,
      ],
      ['samsa_log_deleted_bytes_total', 'Bytes removed by retention and DeleteRecords.', () => s.deletedBytes],
      ['samsa_log_cleaner_passes_total', 'Log cleaner passes over the compacted partitions.', () => s.cleanerPasses],
      ['samsa_log_cleaner_partitions_cleaned_total', 'Partitions compacted.', () => s.cleanedPartitions],
      [
        'samsa_log_cleaner_bytes_removed_total',
        'Bytes removed by compaction (before less after).',
        () => s.cleanedBytes,
      ],
      ['samsa_log_cleaner_records_removed_total', 'Records removed by compaction.', () => s.cleanedRecords],
    ] as const
    for (const [name, help, value] of counters) {
      registerScraped(r, name, help, 'counter', () => [{ labels: {}, value: value() }])
    }
  }
}

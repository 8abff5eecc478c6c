/**
 * Client telemetry (KIP-714), following Kafka's ClientMetricsManager: client instances (a UUID
 * the broker gives a client that asks with the zero UUID), the subscription each one gets (every
 * matching subscription's metrics, the shortest interval, and an id that changes when that set
 * does), and the checks of each push: too early, stale subscription id, unknown compression,
 * too large, after the terminating push. Accepted pushes go to the receiver (the HTTP port's
 * /metrics), decompressed.
 */
import { randomUUID } from 'node:crypto'
import { crc32c } from '@node-rs/crc32'
import { ErrorCode } from '../../protocol/error-codes.ts'
import { Compression, decompress, toCompressionCodec } from '../../protocol/records/compression.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import type { MatchSelector, Subscription, SubscriptionStore } from './subscriptions.ts'

/** Where accepted pushes go. */
export interface TelemetryReceiver {
  /** Takes one push's uncompressed OTLP ExportMetricsServiceRequest; throws if it cannot be read. */
  export(client: TelemetryClient, payload: Buffer): void
}

/** Who pushed, and how long their metrics stay meaningful. */
export interface TelemetryClient {
  instanceId: string
  clientId: string
  pushIntervalMs: number
}

/** What the broker knows of the client a request came from. */
export interface ClientAttributes {
  clientId: string
  softwareName: string | undefined
  softwareVersion: string | undefined
  sourceAddress: string | undefined
  sourcePort: number | undefined
}

/** Kafka's ClientMetricsConfigs.DEFAULT_INTERVAL_MS, for clients no subscription matches. */
const DEFAULT_INTERVAL_MS = 300_000
/** Kafka's instance cache: at most this many clients, each kept max(60 s, 3 intervals) after its last request. */
const MAX_INSTANCES = 16_384
const MIN_EXPIRY_MS = 60_000
/** Compression types offered to clients, Kafka's order of preference. */
const ACCEPTED_COMPRESSION = [Compression.ZSTD, Compression.LZ4, Compression.GZIP, Compression.SNAPPY]
/** Kafka's Uuid.RESERVED: the zero UUID and the metadata topic's id. */
const RESERVED_IDS = new Set([ZERO_UUID, '00000000-0000-0000-0000-000000000001'])
/** Decompressed pushes larger than this many times telemetry.max.bytes are refused. */
const DECOMPRESSED_FACTOR = 32

interface Instance {
  id: string
  attributes: ClientAttributes
  subscriptionId: number
  /** The subscriptions' version this instance's subscription was computed from. */
  version: number
  metrics: string[]
  intervalMs: number
  lastGetMs: number
  lastPushMs: number
  lastError: number
  terminating: boolean
  lastSeenMs: number
}

/** A GetTelemetrySubscriptions answer. */
export interface SubscriptionAnswer {
  errorCode: number
  clientInstanceId: string
  subscriptionId: number
  acceptedCompressionTypes: number[]
  pushIntervalMs: number
  telemetryMaxBytes: number
  deltaTemporality: boolean
  requestedMetrics: string[]
}

/** A PushTelemetry request's fields. */
export interface Push {
  clientInstanceId: string
  subscriptionId: number
  terminating: boolean
  compressionType: number
  metrics: Buffer
}

export interface ClientTelemetryOptions {
  subscriptions: SubscriptionStore
  now: () => number
  /** telemetry.max.bytes, read at each push (it is a dynamic config). */
  maxBytes: () => number
}

/** The broker's client instances and the telemetry APIs' logic. */
export class ClientTelemetry {
  /** Set when the broker has somewhere to send pushed metrics; without it pushes are checked and dropped. */
  receiver: TelemetryReceiver | undefined
  readonly #options: ClientTelemetryOptions
  /** In least recently seen order (a request moves its instance to the end). */
  readonly #instances = new Map<string, Instance>()
  #version = 0
  #subscriptions: Subscription[] = []

  constructor(options: ClientTelemetryOptions) {
    this.#options = options
    options.subscriptions.onChange(() => {
      this.#subscriptions = options.subscriptions.subscriptions()
      this.#version++
    })
  }

  /** GetTelemetrySubscriptions: an instance id for a new client, and its current subscription. */
  getSubscriptions(requestedId: string, client: ClientAttributes): SubscriptionAnswer {
    const now = this.#options.now()
    const id = requestedId === ZERO_UUID ? randomUUID() : requestedId
    const instance = this.#instance(id, client, now)
    const elapsed = now - Math.max(instance.lastGetMs, instance.lastPushMs)
    // A client told its subscription or compression is stale may ask again at once.
    const mayRetry =
      instance.lastError === ErrorCode.UNKNOWN_SUBSCRIPTION_ID ||
      instance.lastError === ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    if (elapsed < instance.intervalMs && !mayRetry) {
      instance.lastError = ErrorCode.THROTTLING_QUOTA_EXCEEDED
      return { ...EMPTY_ANSWER, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED }
    }
    instance.lastGetMs = now
    instance.lastError = ErrorCode.NONE
    return {
      errorCode: ErrorCode.NONE,
      clientInstanceId: id,
      subscriptionId: instance.subscriptionId,
      acceptedCompressionTypes: ACCEPTED_COMPRESSION,
      pushIntervalMs: instance.intervalMs,
      telemetryMaxBytes: this.#options.maxBytes(),
      deltaTemporality: true,
      requestedMetrics: instance.metrics,
    }
  }

  /** PushTelemetry: checks the push in Kafka's order and hands its metrics to the receiver. */
  async push(push: Push, client: ClientAttributes): Promise<number> {
    if (RESERVED_IDS.has(push.clientInstanceId)) return ErrorCode.INVALID_REQUEST
    const now = this.#options.now()
    const instance = this.#instance(push.clientInstanceId, client, now)
    const errorCode = this.#checkPush(instance, push, now)
    // As in Kafka, a terminating push ends the instance whether or not it was accepted.
    instance.terminating ||= push.terminating
    instance.lastError = errorCode
    if (errorCode !== ErrorCode.NONE || push.metrics.length === 0) return errorCode
    const receiver = this.receiver
    if (!receiver) return ErrorCode.NONE
    const maxBytes = this.#options.maxBytes() * DECOMPRESSED_FACTOR
    const target = { instanceId: instance.id, clientId: client.clientId, pushIntervalMs: instance.intervalMs }
    try {
      const payload = await decompress(toCompressionCodec(push.compressionType), push.metrics, { maxBytes })
      receiver.export(target, payload)
    } catch {
      // Kafka answers INVALID_RECORD when its receiver cannot take the metrics.
      instance.lastError = ErrorCode.INVALID_RECORD
      return ErrorCode.INVALID_RECORD
    }
    return ErrorCode.NONE
  }

  #checkPush(instance: Instance, push: Push, now: number): number {
    if (instance.terminating) return ErrorCode.INVALID_REQUEST
    // The first push after a GetTelemetrySubscriptions may come early: clients add jitter.
    const early = instance.lastGetMs <= instance.lastPushMs && now - instance.lastPushMs < instance.intervalMs
    if (early && !push.terminating) return ErrorCode.THROTTLING_QUOTA_EXCEEDED
    instance.lastPushMs = now
    if (push.subscriptionId !== instance.subscriptionId) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID
    if (!Number.isInteger(push.compressionType) || push.compressionType < 0 || push.compressionType > 4)
      return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    if (push.metrics.length > this.#options.maxBytes()) return ErrorCode.TELEMETRY_TOO_LARGE
    return ErrorCode.NONE
  }

  /** The client's instance, created or re-evaluated against changed subscriptions; expired ones are dropped. */
  #instance(id: string, client: ClientAttributes, now: number): Instance {
    this.#expire(now)
    let instance = this.#instances.get(id)
    if (instance === undefined || instance.version !== this.#version) {
      const attributes = instance?.attributes ?? client
      instance = { ...(instance ?? newInstance(id, attributes)), ...this.#subscriptionOf(id, attributes) }
    }
    instance.lastSeenMs = now
    this.#instances.delete(id)
    this.#instances.set(id, instance)
    if (this.#instances.size > MAX_INSTANCES) this.#instances.delete(this.#instances.keys().next().value as string)
    return instance
  }

  #expire(now: number): void {
    for (const [id, instance] of this.#instances) {
      if (now - instance.lastSeenMs < Math.max(MIN_EXPIRY_MS, 3 * instance.intervalMs)) break
      this.#instances.delete(id)
    }
  }

  /** Every matching subscription's metrics ("*" alone when one asks for all) and the shortest interval. */
  #subscriptionOf(
    id: string,
    attributes: ClientAttributes,
  ): Pick<Instance, 'metrics' | 'intervalMs' | 'subscriptionId' | 'version'> {
    const values: Record<MatchSelector, string | undefined> = {
      client_instance_id: id,
      client_id: attributes.clientId,
      client_software_name: attributes.softwareName,
      client_software_version: attributes.softwareVersion,
      client_source_address: attributes.sourceAddress,
      client_source_port: attributes.sourcePort?.toString(),
    }
    const metrics = new Set<string>()
    let intervalMs = DEFAULT_INTERVAL_MS
    for (const s of this.#subscriptions) {
      const matches = [...s.match].every(([key, re]) => values[key] !== undefined && re.test(values[key]))
      if (!matches) continue
      for (const m of s.metrics) metrics.add(m)
      intervalMs = Math.min(intervalMs, s.intervalMs)
    }
    const list = metrics.has('*') ? ['*'] : [...metrics].sort()
    return { metrics: list, intervalMs, subscriptionId: subscriptionId(list, intervalMs, id), version: this.#version }
  }
}

const EMPTY_ANSWER: SubscriptionAnswer = {
  errorCode: ErrorCode.NONE,
  clientInstanceId: ZERO_UUID,
  subscriptionId: 0,
  acceptedCompressionTypes: [],
  pushIntervalMs: 0,
  telemetryMaxBytes: 0,
  deltaTemporality: false,
  requestedMetrics: [],
}

function newInstance(id: string, attributes: ClientAttributes): Instance {
  return {
    id,
    attributes,
    subscriptionId: 0,
    version: -1,
    metrics: [],
    intervalMs: DEFAULT_INTERVAL_MS,
    lastGetMs: Number.NEGATIVE_INFINITY,
    lastPushMs: Number.NEGATIVE_INFINITY,
    lastError: ErrorCode.NONE,
    terminating: false,
    lastSeenMs: 0,
  }
}

/** Kafka's: a CRC32C of the metrics and interval, XORed with the instance id's hash, so it changes with either. */
function subscriptionId(metrics: string[], intervalMs: number, instanceId: string): number {
  const crc = crc32c(Buffer.from(`[${metrics.join(', ')}]${intervalMs}`, 'utf8'))
  const hex = instanceId.replaceAll('-', '')
  let hash = 0
  for (let i = 0; i < 32; i += 8) hash ^= Number.parseInt(hex.slice(i, i + 8), 16)
  return (crc ^ hash) | 0
}

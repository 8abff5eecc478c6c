/**
 * Request, connection and per-topic traffic metrics, counted on the request path into plain
 * numbers (read at scrape time by broker-metrics.ts). A request's time is split as Kafka's
 * RequestMetrics split it: queue (its bytes read, waiting while the connection is over its
 * in-flight or unsent-bytes limits), handling (the handler, appends and their fsync included),
 * response queue (ready, waiting for earlier responses of the connection: they go out in order)
 * and send (written, until the socket handed it to the kernel).
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import type { FetchResponse } from '../../protocol/generated/fetch.ts'
import type { ProduceRequest, ProduceResponse } from '../../protocol/generated/produce.ts'
import type { ConnectionObserver, RequestTiming } from '../../server/connection.ts'
import { Histogram } from '../../util/histogram.ts'
import { recordCount } from './record-count.ts'

/** What is measured per API key. */
export class ApiStats {
  readonly name: string
  /** Requests answered, by version. */
  readonly byVersion = new Map<number, number>()
  /** Errors in responses (every item's errorCode but NONE), by error name. */
  readonly errors = new Map<string, number>()
  readonly queue = new Histogram()
  readonly handling = new Histogram()
  readonly responseQueue = new Histogram()
  readonly send = new Histogram()
  readonly total = new Histogram()

  constructor(name: string) {
    this.name = name
  }
}

/** Bytes and records produced to and fetched from one topic. */
export interface TopicTraffic {
  bytesIn: number
  recordsIn: number
  bytesOut: number
  recordsOut: number
}

/** Connections and bytes of one listener. */
export interface ListenerTraffic {
  readonly listener: string
  opened: number
  closed: number
  bytesIn: number
  bytesOut: number
}

const API_NAMES = new Map<number, string>(Object.entries(ApiKey).map(([name, key]) => [key, name]))
const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]))
const MS = 1 / 1000
/**
 * Above any version Kafka has defined: such a request is answered only when it is an ApiVersions
 * (with v0 and UNSUPPORTED_VERSION); counted as version -1, so that a client cannot make a series
 * per possible number.
 */
const MAX_VERSION = 99

/** The request path's counters; one per broker process. */
export class RequestMetrics {
  /** By API key; created at a key's first request. */
  readonly apis: (ApiStats | undefined)[] = []
  readonly topics = new Map<string, TopicTraffic>()
  readonly listeners: ListenerTraffic[] = []
  /** Requests read and not yet answered (or dropped with their connection). */
  inFlight = 0
  readonly #topicName: (topicId: string) => string | undefined

  /** `topicName` names the topics of Fetch v13+ responses, which carry only ids. */
  constructor(topicName: (topicId: string) => string | undefined) {
    this.#topicName = topicName
  }

  /** The observer a listener's connections report to. */
  observer(listener: string): ConnectionObserver {
    const traffic: ListenerTraffic = { listener, opened: 0, closed: 0, bytesIn: 0, bytesOut: 0 }
    this.listeners.push(traffic)
    return {
      opened: () => {
        traffic.opened++
      },
      closed: (unanswered) => {
        traffic.closed++
        this.inFlight -= unanswered
      },
      read: (bytes) => {
        traffic.bytesIn += bytes
      },
      request: (frame, readAt) => {
        this.inFlight++
        return new Timing(this, traffic, frame, readAt)
      },
    }
  }

  apiStats(apiKey: number): ApiStats | undefined {
    const known = this.apis[apiKey]
    if (known !== undefined) return known
    const name = API_NAMES.get(apiKey)
    if (name === undefined) return undefined
    const created = new ApiStats(name)
    this.apis[apiKey] = created
    return created
  }

  /** Called by the dispatcher with each decoded request and its response (null: none owed). */
  response(apiKey: number, request: unknown, response: unknown): void {
    const stats = this.apiStats(apiKey)
    if (stats === undefined) return
    if (response !== null) countErrors(response, stats.errors, 0)
    if (apiKey === ApiKey.Produce) this.#produced(request as ProduceRequest, response as ProduceResponse | null)
    else if (apiKey === ApiKey.Fetch && response !== null) this.#fetched(response as FetchResponse)
  }

  #traffic(topic: string): TopicTraffic {
    let t = this.topics.get(topic)
    if (t === undefined) {
      t = { bytesIn: 0, recordsIn: 0, bytesOut: 0, recordsOut: 0 }
      this.topics.set(topic, t)
    }
    return t
  }

  /** Records appended: the batches of every partition whose answer is no error (acks=0: all of them). */
  #produced(request: ProduceRequest, response: ProduceResponse | null): void {
    request.topicData.forEach((topic, i) => {
      const answered = response?.responses[i]
      topic.partitionData.forEach((p, j) => {
        if (p.records === null) return
        const result = answered?.name === topic.name ? answered.partitionResponses[j] : undefined
        if (response !== null && (result === undefined || result.index !== p.index || result.errorCode !== 0)) return
        const t = this.#traffic(topic.name)
        t.bytesIn += p.records.length
        t.recordsIn += recordCount(p.records)
      })
    })
  }

  /** Records sent to consumers and followers: every batch of the response, as sent. */
  #fetched(response: FetchResponse): void {
    for (const topic of response.responses) {
      // Before v13 responses name topics; from v13 on they carry ids only.
      const name = topic.topic !== '' ? topic.topic : this.#topicName(topic.topicId)
      if (name === undefined) continue
      for (const p of topic.partitions) {
        if (p.records === null || p.records.length === 0) continue
        const t = this.#traffic(name)
        t.bytesOut += p.records.length
        t.recordsOut += recordCount(p.records)
      }
    }
  }
}

/** One request's timeline (performance.now() times). */
class Timing implements RequestTiming {
  readonly #metrics: RequestMetrics
  readonly #traffic: ListenerTraffic
  readonly #apiKey: number
  readonly #apiVersion: number
  readonly #readAt: number
  readonly #startAt: number
  #answeredAt = 0
  #writingAt = 0

  constructor(metrics: RequestMetrics, traffic: ListenerTraffic, frame: Buffer, readAt: number) {
    this.#metrics = metrics
    this.#traffic = traffic
    this.#apiKey = frame.length >= 4 ? frame.readInt16BE(0) : -1
    const version = frame.length >= 4 ? frame.readInt16BE(2) : -1
    this.#apiVersion = version >= 0 && version <= MAX_VERSION ? version : -1
    this.#readAt = readAt
    this.#startAt = performance.now()
  }

  answered(): void {
    this.#answeredAt = performance.now()
  }

  writing(bytes: number): void {
    this.#writingAt = performance.now()
    this.#traffic.bytesOut += bytes
  }

  readonly sent = (): void => {
    const metrics = this.#metrics
    metrics.inFlight--
    const stats = metrics.apiStats(this.#apiKey)
    if (stats === undefined) return
    const sentAt = performance.now()
    const writingAt = this.#writingAt || this.#answeredAt
    stats.byVersion.set(this.#apiVersion, (stats.byVersion.get(this.#apiVersion) ?? 0) + 1)
    stats.queue.observe((this.#startAt - this.#readAt) * MS)
    stats.handling.observe((this.#answeredAt - this.#startAt) * MS)
    stats.responseQueue.observe((writingAt - this.#answeredAt) * MS)
    stats.send.observe((sentAt - writingAt) * MS)
    stats.total.observe((sentAt - this.#readAt) * MS)
  }
}

/**
 * Counts every errorCode but NONE in a response: on the response itself and on its items (topics,
 * partitions, ...). Record data and other bytes are not walked.
 */
function countErrors(value: unknown, into: Map<string, number>, depth: number): void {
  if (depth > 4 || typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return
  if (Array.isArray(value)) {
    for (const item of value) countErrors(item, into, depth + 1)
    return
  }
  const record = value as Record<string, unknown>
  for (const key in record) {
    const field = record[key]
    if (key === 'errorCode') {
      if (typeof field === 'number' && field !== 0) {
        const name = ERROR_NAMES.get(field) ?? String(field)
        into.set(name, (into.get(name) ?? 0) + 1)
      }
    } else if (typeof field === 'object') {
      countErrors(field, into, depth + 1)
    }
  }
}

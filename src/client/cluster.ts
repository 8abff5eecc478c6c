/**
 * What the client knows about the cluster: bootstrap, brokers, topic metadata (partitions,
 * leaders, topic ids) refreshed on demand, pooled connections per broker, and coordinator lookup.
 */

import { createFindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/find-coordinator.ts'
import { ApiKey } from '../protocol/generated/index.ts'
import {
  createMetadataRequest,
  createMetadataRequestTopic,
  type MetadataResponse,
} from '../protocol/generated/metadata.ts'
import { Connection, type ConnectionOptions } from './connection.ts'
import { ClientError, KafkaError } from './errors.ts'
import { withRetry } from './retry.ts'

/** Client-wide settings. */
export interface ClientOptions {
  /** `host:port` list, comma-separated or an array. */
  bootstrap: string | string[]
  clientId?: string
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  /** Retries of retriable errors (default 5). */
  retries?: number
  /** TLS for every connection (SSL and SASL_SSL listeners). */
  tls?: ConnectionOptions['tls']
  /** SASL credentials for every connection (SASL_PLAINTEXT and SASL_SSL listeners). */
  sasl?: ConnectionOptions['sasl']
}

/** A broker as metadata describes it. */
export interface BrokerInfo {
  nodeId: number
  host: string
  port: number
  rack: string | null
}

/** One partition of a topic. */
export interface PartitionInfo {
  partition: number
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  offline: number[]
  errorCode: number
}

/** A topic as metadata describes it. */
export interface TopicInfo {
  name: string
  /** Topic id (all zeros when the broker predates topic ids). */
  id: string
  internal: boolean
  partitions: PartitionInfo[]
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const NO_NODE = -1
const LEADER_NOT_AVAILABLE = 5

/** Parses `host:port[,host:port]` (IPv6 as `[::1]:9092`); a missing port means 9092. */
export function parseBootstrap(bootstrap: string | string[]): { host: string; port: number }[] {
  const list = Array.isArray(bootstrap) ? bootstrap : bootstrap.split(',')
  const out: { host: string; port: number }[] = []
  for (const raw of list) {
    const s = raw.trim()
    if (s === '') continue
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s)
    if (!m) throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', `invalid bootstrap address "${s}" (expected host:port)`)
    const port = m[2] === undefined ? 9092 : Number(m[2])
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', `invalid port in bootstrap address "${s}"`)
    }
    out.push({ host: m[1] as string, port })
  }
  if (out.length === 0) throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', 'no bootstrap address given')
  return out
}

/** Brokers, topics and connections of one client. */
export class Cluster {
  readonly options: ClientOptions
  readonly #bootstrap: { host: string; port: number }[]
  readonly #connections = new Map<string, Promise<Connection>>()
  readonly #coordinators = new Map<string, number>()
  readonly brokers = new Map<number, BrokerInfo>()
  readonly topics = new Map<string, TopicInfo>()
  readonly #topicNames = new Map<string, string>()
  readonly #loading = new Map<string, Promise<MetadataResponse>>()
  clusterId: string | null = null
  controllerId = NO_NODE
  #closed = false

  constructor(options: ClientOptions) {
    this.options = options
    this.#bootstrap = parseBootstrap(options.bootstrap)
  }

  /** Retries of retriable errors. */
  get retries(): number {
    return this.options.retries ?? 5
  }

  /** A connection to any broker: a known one if metadata was loaded, else a bootstrap address. */
  async anyConnection(): Promise<Connection> {
    for (const [key, p] of this.#connections) {
      const conn = await p.catch(() => undefined)
      if (conn?.usable) return conn
      this.#connections.delete(key)
    }
    let lastError: unknown
    const candidates = [...this.brokers.values(), ...this.#bootstrap]
    for (const b of candidates) {
      const key = 'nodeId' in b ? `node:${b.nodeId}` : `boot:${b.host}:${b.port}`
      try {
        return await this.#open(key, b.host, b.port)
      } catch (err) {
        lastError = err
      }
    }
    throw lastError ?? new ClientError('SAMSA_ERR_CONNECTION', 'no broker reachable')
  }

  /** A connection to a broker by node id; `purpose` keeps separate sockets (e.g. for a coordinator). */
  async connection(nodeId: number, purpose = 'node'): Promise<Connection> {
    let broker = this.brokers.get(nodeId)
    if (!broker) {
      await this.refreshMetadata([])
      broker = this.brokers.get(nodeId)
    }
    if (!broker) throw new KafkaError(8, `broker ${nodeId} is not in the cluster metadata`)
    return this.#open(`${purpose}:${nodeId}`, broker.host, broker.port)
  }

  async #open(key: string, host: string, port: number): Promise<Connection> {
    if (this.#closed) throw new ClientError('SAMSA_ERR_CLOSED', 'client is closed')
    const existing = this.#connections.get(key)
    if (existing) {
      const conn = await existing.catch(() => undefined)
      if (conn?.usable) return conn
      if (this.#connections.get(key) === existing) this.#connections.delete(key)
    }
    const p = Connection.open({
      host,
      port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      tls: this.options.tls,
      sasl: this.options.sasl,
    })
    this.#connections.set(key, p)
    p.catch(() => {
      if (this.#connections.get(key) === p) this.#connections.delete(key)
    })
    return p
  }

  /**
   * Loads metadata for the given topics (null: all topics; []: brokers only) and caches it.
   * Topic-level errors are left in the response for the caller to judge.
   */
  async refreshMetadata(topics: string[] | null, options: { autoCreate?: boolean } = {}): Promise<MetadataResponse> {
    return withRetry(
      async () => {
        const conn = await this.anyConnection()
        const res = await conn.send<MetadataResponse>(ApiKey.Metadata, (v) =>
          createMetadataRequest({
            topics: topics === null ? null : topics.map((name) => createMetadataRequestTopic({ name })),
            allowAutoTopicCreation: v >= 4 ? options.autoCreate === true : true,
          }),
        )
        this.#apply(res, topics === null)
        return res
      },
      { retries: this.retries },
    )
  }

  #apply(res: MetadataResponse, all: boolean): void {
    if (res.brokers.length > 0) this.brokers.clear()
    for (const b of res.brokers)
      this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })
    this.clusterId = res.clusterId
    this.controllerId = res.controllerId
    if (all) this.topics.clear()
    for (const t of res.topics) {
      if (t.name === null) continue
      if (t.errorCode !== 0) {
        this.topics.delete(t.name)
        continue
      }
      const partitions = t.partitions
        .map((p) => ({
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offline: p.offlineReplicas,
          errorCode: p.errorCode,
        }))
        .sort((a, b) => a.partition - b.partition)
      this.topics.set(t.name, { name: t.name, id: t.topicId, internal: t.isInternal, partitions })
      if (t.topicId !== ZERO_UUID) this.#topicNames.set(t.topicId, t.name)
    }
  }

  /**
   * Metadata of a topic, loading it when unknown; throws UNKNOWN_TOPIC_OR_PARTITION if absent.
   * With `autoCreate`, Metadata asks the broker to create a missing topic
   * (allow_auto_topic_creation, as the Java producer and librdkafka do); a broker with
   * auto.create.topics.enable=false still answers UNKNOWN_TOPIC_OR_PARTITION.
   */
  async topic(name: string, options: { refresh?: boolean; autoCreate?: boolean } = {}): Promise<TopicInfo> {
    const cached = options.refresh ? undefined : this.topics.get(name)
    if (cached) return cached
    // Kafka answers LEADER_NOT_AVAILABLE for a topic it has just created: ask again shortly.
    return withRetry(() => this.#loadTopic(name, options.autoCreate), {
      retries: this.retries,
      shouldRetry: (err) => err instanceof KafkaError && err.code === LEADER_NOT_AVAILABLE,
    })
  }

  async #loadTopic(name: string, autoCreate = false): Promise<TopicInfo> {
    // Concurrent look-ups of the same topic share one Metadata request.
    const key = `${autoCreate ? 'create' : 'get'}:${name}`
    let pending = this.#loading.get(key)
    if (!pending) {
      pending = this.refreshMetadata([name], { autoCreate })
      this.#loading.set(key, pending)
      void pending.then(
        () => this.#loading.delete(key),
        () => this.#loading.delete(key),
      )
    }
    const res = await pending
    const entry = res.topics.find((x) => x.name === name)
    if (entry && entry.errorCode !== 0) {
      throw new KafkaError(entry.errorCode, entry.errorCode === 3 ? 'topic does not exist' : null, name)
    }
    const t = this.topics.get(name)
    if (!t) throw new KafkaError(3, 'topic does not exist', name)
    return t
  }

  /** The name of a topic id seen in metadata. */
  topicName(id: string): string | undefined {
    return this.#topicNames.get(id)
  }

  /** The leader of a partition (from cached metadata, loaded when missing). */
  async leader(topic: string, partition: number): Promise<number> {
    const t = await this.topic(topic)
    const p = t.partitions[partition]
    if (!p || p.partition !== partition) throw new KafkaError(3, `partition ${partition} does not exist`, topic)
    if (p.leader < 0) throw new KafkaError(5, null, `${topic}/${partition}`)
    return p.leader
  }

  /** Node id of the coordinator of a group (keyType 0) or transactional id (1), cached. */
  async coordinator(key: string, keyType = 0): Promise<number> {
    const cacheKey = `${keyType}:${key}`
    const cached = this.#coordinators.get(cacheKey)
    if (cached !== undefined) return cached
    const nodeId = await withRetry(
      async () => {
        const conn = await this.anyConnection()
        let version = 0
        const res = await conn.send<FindCoordinatorResponse>(ApiKey.FindCoordinator, (v) => {
          version = v
          if (v >= 4) return createFindCoordinatorRequest({ keyType, coordinatorKeys: [key] })
          return createFindCoordinatorRequest(v >= 1 ? { key, keyType } : { key })
        })
        const entry =
          version >= 4
            ? res.coordinators[0]
            : {
                nodeId: res.nodeId,
                host: res.host,
                port: res.port,
                errorCode: res.errorCode,
                errorMessage: res.errorMessage,
              }
        if (!entry) throw new ClientError('SAMSA_ERR_PROTOCOL', 'FindCoordinator returned no coordinator')
        if (entry.errorCode !== 0) throw new KafkaError(entry.errorCode, entry.errorMessage, key)
        if (!this.brokers.has(entry.nodeId)) {
          this.brokers.set(entry.nodeId, { nodeId: entry.nodeId, host: entry.host, port: entry.port, rack: null })
        }
        return entry.nodeId
      },
      { retries: this.retries },
    )
    this.#coordinators.set(cacheKey, nodeId)
    return nodeId
  }

  /** Forgets a cached coordinator (after NOT_COORDINATOR or a lost connection). */
  invalidateCoordinator(key: string, keyType = 0): void {
    this.#coordinators.delete(`${keyType}:${key}`)
  }

  /** A connection to the coordinator of a group, separate from the data connection to that node. */
  async coordinatorConnection(groupId: string): Promise<Connection> {
    const nodeId = await this.coordinator(groupId)
    return this.connection(nodeId, 'coordinator')
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true
    const all = [...this.#connections.values()]
    this.#connections.clear()
    for (const p of all) {
      const conn = await p.catch(() => undefined)
      conn?.close()
    }
  }
}

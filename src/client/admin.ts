/**
 * Admin calls: topics, partitions, configs, records, cluster and groups. Each sends the request to
 * the broker that must handle it (controller, leader or group coordinator) and turns per-item
 * error codes into KafkaError.
 */
import {
  type AlterPartitionReassignmentsResponse,
  createAlterPartitionReassignmentsRequest,
} from '../protocol/generated/alter-partition-reassignments.ts'
import {
  type CreatePartitionsResponse,
  createCreatePartitionsRequest,
  createCreatePartitionsTopic,
} from '../protocol/generated/create-partitions.ts'
import {
  type CreateTopicsResponse,
  createCreatableTopic,
  createCreatableTopicConfig,
  createCreateTopicsRequest,
} from '../protocol/generated/create-topics.ts'
import {
  createDeleteRecordsPartition,
  createDeleteRecordsRequest,
  createDeleteRecordsTopic,
  type DeleteRecordsResponse,
} from '../protocol/generated/delete-records.ts'
import {
  createDeleteTopicState,
  createDeleteTopicsRequest,
  type DeleteTopicsResponse,
} from '../protocol/generated/delete-topics.ts'
import { createDescribeClusterRequest, type DescribeClusterResponse } from '../protocol/generated/describe-cluster.ts'
import {
  createDescribeConfigsRequest,
  createDescribeConfigsResource,
  type DescribeConfigsResponse,
} from '../protocol/generated/describe-configs.ts'
import {
  createDescribableLogDirTopic,
  createDescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from '../protocol/generated/describe-log-dirs.ts'
import {
  createAlterableConfig,
  createAlterConfigsResource,
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../protocol/generated/incremental-alter-configs.ts'
import { API_DESCRIPTORS, ApiKey } from '../protocol/generated/index.ts'
import {
  createUnregisterBrokerRequest,
  type UnregisterBrokerResponse,
} from '../protocol/generated/unregister-broker.ts'
import { type ClientOptions, Cluster, type TopicInfo } from './cluster.ts'
import type { Connection } from './connection.ts'
import { ClientError, KafkaError } from './errors.ts'
import {
  deleteGroups,
  describeGroups,
  type GroupDescription,
  type GroupListing,
  listGroups,
} from './group/admin-groups.ts'
import { withRetry } from './retry.ts'
import { CLIENT_VERSIONS } from './versions.ts'

export type { GroupDescription, GroupListing, GroupMember } from './group/admin-groups.ts'

/** Config resource types of DescribeConfigs/AlterConfigs. */
export const ResourceType = { TOPIC: 2, BROKER: 4 } as const

/** Config sources, by DescribeConfigs code. */
export const CONFIG_SOURCES = [
  'UNKNOWN',
  'DYNAMIC_TOPIC_CONFIG',
  'DYNAMIC_BROKER_CONFIG',
  'DYNAMIC_DEFAULT_BROKER_CONFIG',
  'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG',
  'DYNAMIC_BROKER_LOGGER_CONFIG',
  'CLIENT_METRICS_CONFIG',
  'GROUP_CONFIG',
] as const

/** A topic to create. */
export interface NewTopic {
  name: string
  /** -1 uses the broker default. */
  partitions?: number
  replicationFactor?: number
  configs?: Record<string, string>
}

/** One config entry. */
export interface ConfigEntry {
  name: string
  value: string | null
  source: string
  readOnly: boolean
  sensitive: boolean
  isDefault: boolean
}

/** Cluster identity and brokers. */
export interface ClusterDescription {
  clusterId: string
  controllerId: number
  /**
   * The live brokers and, when asked for and the broker knows (DescribeCluster v2), the fenced
   * ones: registered, but out of the cluster (a lapsed lease, a KRaft broker that stopped heartbeating).
   */
  brokers: { nodeId: number; host: string; port: number; rack: string | null; fenced: boolean }[]
}

/** An API as the broker supports it and the version this client would use. */
export interface ApiSupport {
  apiKey: number
  name: string
  minVersion: number
  maxVersion: number
  /** The version this client negotiates, or null if it does not use the API. */
  clientVersion: number | null
}

function firstError(code: number, message: string | null, resource: string): void {
  if (code !== 0) throw new KafkaError(code, message, resource)
}

/** Admin operations over a cluster. */
export class Admin {
  readonly cluster: Cluster

  constructor(cluster: Cluster | ClientOptions) {
    this.cluster = cluster instanceof Cluster ? cluster : new Cluster(cluster)
  }

  /** The controller (where topic changes go), falling back to any broker. */
  async #controller(): Promise<Connection> {
    if (this.cluster.controllerId < 0) await this.cluster.refreshMetadata([])
    const id = this.cluster.controllerId
    return id >= 0 ? this.cluster.connection(id) : this.cluster.anyConnection()
  }

  #retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, { retries: this.cluster.retries })
  }

  /** All topics with their partitions (internal topics included when asked). */
  async listTopics(options: { internal?: boolean } = {}): Promise<TopicInfo[]> {
    await this.cluster.refreshMetadata(null)
    return [...this.cluster.topics.values()]
      .filter((t) => options.internal || !t.internal)
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Metadata of some topics; throws for an unknown one. */
  async describeTopics(names: string[]): Promise<TopicInfo[]> {
    const res = await this.cluster.refreshMetadata(names)
    for (const t of res.topics) firstError(t.errorCode, null, t.name ?? '')
    return names.map((n) => this.cluster.topics.get(n) as TopicInfo)
  }

  /** Creates topics; resolves with their topic ids (when the broker returns them). */
  async createTopics(topics: NewTopic[], options: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const conn = await this.#controller()
    const res = await conn.send<CreateTopicsResponse>(ApiKey.CreateTopics, (v) =>
      createCreateTopicsRequest({
        timeoutMs: options.timeoutMs ?? 30_000,
        ...(v >= 1 ? { validateOnly: options.validateOnly === true } : {}),
        topics: topics.map((t) =>
          createCreatableTopic({
            name: t.name,
            numPartitions: t.partitions ?? -1,
            replicationFactor: t.replicationFactor ?? -1,
            configs: Object.entries(t.configs ?? {}).map(([name, value]) =>
              createCreatableTopicConfig({ name, value }),
            ),
          }),
        ),
      }),
    )
    for (const t of res.topics) firstError(t.errorCode, t.errorMessage, t.name)
  }

  /** Deletes topics by name. */
  async deleteTopics(names: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    const conn = await this.#controller()
    const res = await conn.send<DeleteTopicsResponse>(ApiKey.DeleteTopics, (v) =>
      v >= 6
        ? createDeleteTopicsRequest({
            timeoutMs: options.timeoutMs ?? 30_000,
            topics: names.map((name) => createDeleteTopicState({ name })),
          })
        : createDeleteTopicsRequest({ timeoutMs: options.timeoutMs ?? 30_000, topicNames: names }),
    )
    for (const t of res.responses) firstError(t.errorCode, t.errorMessage, t.name ?? t.topicId)
    for (const n of names) this.cluster.topics.delete(n)
  }

  /** Raises a topic's partition count. */
  async createPartitions(topic: string, count: number, options: { validateOnly?: boolean } = {}): Promise<void> {
    const conn = await this.#controller()
    const res = await conn.send<CreatePartitionsResponse>(ApiKey.CreatePartitions, () =>
      createCreatePartitionsRequest({
        timeoutMs: 30_000,
        validateOnly: options.validateOnly === true,
        topics: [createCreatePartitionsTopic({ name: topic, count, assignments: null })],
      }),
    )
    for (const r of res.results) firstError(r.errorCode, r.errorMessage, r.name)
  }

  /**
   * Gives partitions of a topic new replica lists (kafka-reassign-partitions.sh --execute), the
   * first replica of each the preferred leader; the first partition refused throws.
   */
  async reassignPartitions(topic: string, replicas: ReadonlyMap<number, number[]>): Promise<void> {
    const conn = await this.#controller()
    const res = await conn.send<AlterPartitionReassignmentsResponse>(ApiKey.AlterPartitionReassignments, () =>
      createAlterPartitionReassignmentsRequest({
        topics: [
          { name: topic, partitions: [...replicas].map(([partitionIndex, r]) => ({ partitionIndex, replicas: r })) },
        ],
      }),
    )
    firstError(res.errorCode, res.errorMessage, topic)
    for (const t of res.responses) {
      for (const p of t.partitions) firstError(p.errorCode, p.errorMessage, `${t.name}-${p.partitionIndex}`)
    }
  }

  /** Removes a broker's registration (kafka-cluster.sh unregister). */
  async unregisterBroker(brokerId: number): Promise<void> {
    const conn = await this.cluster.anyConnection()
    const res = await conn.send<UnregisterBrokerResponse>(ApiKey.UnregisterBroker, () =>
      createUnregisterBrokerRequest({ brokerId }),
    )
    firstError(res.errorCode, res.errorMessage, `broker ${brokerId}`)
  }

  /** Configs of a topic or broker; `all` includes defaults (otherwise only overrides). */
  async describeConfigs(
    resourceType: number,
    resourceName: string,
    options: { all?: boolean; keys?: string[] } = {},
  ): Promise<ConfigEntry[]> {
    const conn =
      resourceType === ResourceType.BROKER && /^\d+$/.test(resourceName)
        ? await this.cluster.connection(Number(resourceName))
        : await this.cluster.anyConnection()
    const res = await conn.send<DescribeConfigsResponse>(ApiKey.DescribeConfigs, () =>
      createDescribeConfigsRequest({
        resources: [
          createDescribeConfigsResource({ resourceType, resourceName, configurationKeys: options.keys ?? null }),
        ],
        includeSynonyms: false,
      }),
    )
    const r = res.results[0]
    if (!r) throw new ClientError('SAMSA_ERR_PROTOCOL', 'DescribeConfigs returned no result')
    firstError(r.errorCode, r.errorMessage, resourceName)
    return r.configs
      .map((c) => {
        const source = CONFIG_SOURCES[c.configSource] ?? 'UNKNOWN'
        return {
          name: c.name,
          value: c.value,
          source,
          readOnly: c.readOnly,
          sensitive: c.isSensitive,
          // An override is what was set on this resource: a topic config for a topic, a dynamic
          // config for a broker (as kafka-configs --describe shows them).
          isDefault:
            resourceType === ResourceType.TOPIC ? source !== 'DYNAMIC_TOPIC_CONFIG' : !source.startsWith('DYNAMIC_'),
        }
      })
      .filter((c) => options.all || options.keys || !c.isDefault)
      .sort((a, b) => a.name.localeCompare(b.name))
  }

  /** Sets and deletes config overrides (IncrementalAlterConfigs). */
  async alterConfigs(
    resourceType: number,
    resourceName: string,
    changes: { set?: Record<string, string>; delete?: string[] },
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    const configs = [
      ...Object.entries(changes.set ?? {}).map(([name, value]) =>
        createAlterableConfig({ name, configOperation: 0, value }),
      ),
      ...(changes.delete ?? []).map((name) => createAlterableConfig({ name, configOperation: 1, value: null })),
    ]
    const conn =
      resourceType === ResourceType.BROKER && /^\d+$/.test(resourceName)
        ? await this.cluster.connection(Number(resourceName))
        : await this.#controller()
    const res = await conn.send<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, () =>
      createIncrementalAlterConfigsRequest({
        resources: [createAlterConfigsResource({ resourceType, resourceName, configs })],
        validateOnly: options.validateOnly === true,
      }),
    )
    for (const r of res.responses) firstError(r.errorCode, r.errorMessage, r.resourceName)
  }

  /** Deletes records before the given offsets (-1n: the high watermark); returns new low watermarks. */
  async deleteRecords(
    topic: string,
    offsets: { partition: number; offset: bigint }[],
  ): Promise<{ partition: number; lowWatermark: bigint }[]> {
    return this.#retry(async () => {
      const byLeader = new Map<number, { partition: number; offset: bigint }[]>()
      for (const o of offsets) {
        const leader = await this.cluster.leader(topic, o.partition)
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), o])
      }
      const out: { partition: number; lowWatermark: bigint }[] = []
      await Promise.all(
        [...byLeader].map(async ([leader, list]) => {
          const conn = await this.cluster.connection(leader)
          const res = await conn.send<DeleteRecordsResponse>(ApiKey.DeleteRecords, () =>
            createDeleteRecordsRequest({
              timeoutMs: 30_000,
              topics: [
                createDeleteRecordsTopic({
                  name: topic,
                  partitions: list.map((o) =>
                    createDeleteRecordsPartition({ partitionIndex: o.partition, offset: o.offset }),
                  ),
                }),
              ],
            }),
          )
          for (const t of res.topics) {
            for (const p of t.partitions) {
              firstError(p.errorCode, null, `${t.name}/${p.partitionIndex}`)
              out.push({ partition: p.partitionIndex, lowWatermark: p.lowWatermark })
            }
          }
        }),
      )
      return out.sort((a, b) => a.partition - b.partition)
    })
  }

  /** Bytes stored per partition of the given topics, summed over brokers (DescribeLogDirs). */
  async partitionSizes(topics: TopicInfo[]): Promise<Map<string, bigint>> {
    const sizes = new Map<string, bigint>()
    const nodes = new Set(topics.flatMap((t) => t.partitions.map((p) => p.leader)).filter((n) => n >= 0))
    await Promise.all(
      [...nodes].map(async (node) => {
        const conn = await this.cluster.connection(node)
        if (!conn.supports(ApiKey.DescribeLogDirs)) return
        const res = await conn.send<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, () =>
          createDescribeLogDirsRequest({
            topics: topics.map((t) =>
              createDescribableLogDirTopic({ topic: t.name, partitions: t.partitions.map((p) => p.partition) }),
            ),
          }),
        )
        for (const dir of res.results) {
          if (dir.errorCode !== 0) continue
          for (const t of dir.topics) {
            for (const p of t.partitions) {
              const k = `${t.name}/${p.partitionIndex}`
              sizes.set(k, (sizes.get(k) ?? 0n) + p.partitionSize)
            }
          }
        }
      }),
    )
    return sizes
  }

  /** Cluster id, controller and brokers (DescribeCluster, or Metadata on older brokers). */
  async describeCluster(options: { includeFenced?: boolean } = {}): Promise<ClusterDescription> {
    const conn = await this.cluster.anyConnection()
    if (conn.supports(ApiKey.DescribeCluster)) {
      const res = await conn.send<DescribeClusterResponse>(ApiKey.DescribeCluster, (version) =>
        createDescribeClusterRequest({ includeFencedBrokers: version >= 2 && options.includeFenced === true }),
      )
      firstError(res.errorCode, res.errorMessage, 'cluster')
      return {
        clusterId: res.clusterId,
        controllerId: res.controllerId,
        brokers: res.brokers
          .map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack, fenced: b.isFenced }))
          .sort((a, b) => a.nodeId - b.nodeId),
      }
    }
    await this.cluster.refreshMetadata([])
    return {
      clusterId: this.cluster.clusterId ?? '',
      controllerId: this.cluster.controllerId,
      brokers: [...this.cluster.brokers.values()]
        .map((b) => ({ ...b, fenced: false }))
        .sort((a, b) => a.nodeId - b.nodeId),
    }
  }

  /** The APIs a broker supports, with the version this client would pick. */
  async apiVersions(nodeId?: number): Promise<ApiSupport[]> {
    const conn = nodeId === undefined ? await this.cluster.anyConnection() : await this.cluster.connection(nodeId)
    const names = new Map(API_DESCRIPTORS.map((a) => [a.apiKey, a.name]))
    return [...conn.brokerVersions]
      .map(([apiKey, range]) => {
        let clientVersion: number | null = null
        if (CLIENT_VERSIONS.has(apiKey)) {
          try {
            clientVersion = conn.version(apiKey)
          } catch {
            clientVersion = null
          }
        }
        return {
          apiKey,
          name: names.get(apiKey) ?? `Unknown(${apiKey})`,
          minVersion: range.min,
          maxVersion: range.max,
          clientVersion,
        }
      })
      .sort((a, b) => a.apiKey - b.apiKey)
  }

  /** Every group of every broker. */
  listGroups(): Promise<GroupListing[]> {
    return listGroups(this.cluster)
  }

  /** Describes groups (state, members, assignments). A group that does not exist reads as Dead. */
  describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return describeGroups(this.cluster, groupIds)
  }

  /** Deletes groups (they must be empty). */
  deleteGroups(groupIds: string[]): Promise<void> {
    return deleteGroups(this.cluster, groupIds)
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.cluster.close()
  }
}

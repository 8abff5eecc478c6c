/**
 * The brokers clients see. One process may answer as several brokers (samsa/testing's
 * multi-broker view: one listener per node id, all sharing one BrokerCore), so clients exercise
 * leader routing and coordinator lookup. A partition lists its topic's replication factor of
 * replicas (the ones CreateTopics named, or a spread over the nodes), its preferred leader first;
 * the leader is the first live replica, as Kafka elects the next in-sync replica when a leader
 * dies. Every node can serve every partition (the storage is shared), so when no replica is
 * live another live node leads rather than leaving the partition offline.
 */

import { ErrorCode } from '../protocol/error-codes.ts'

/**
 * Every partition's leader epoch, even after a leader change: the log is shared, so a new leader
 * has every record and no consumer ever needs to truncate.
 */
export const LEADER_EPOCH = 0

/** A node id and the address clients are told to use for it. */
export interface ClusterNode {
  readonly nodeId: number
  readonly host: string
  readonly port: number
}

/** What Metadata and DescribeTopicPartitions say about one partition. */
export interface PartitionPlacement {
  /** -1 when no replica is live. */
  leaderId: number
  replicas: number[]
  isr: number[]
  offline: number[]
}

/** Where a topic's replicas come from: its replication factor and any replica lists named for it. */
export type ReplicaSource = (
  topic: string,
) => { replicationFactor: number; assignments?: (number[] | null)[] } | undefined

export class ClusterView {
  /** Every node, by ascending id; the first is the node id of the BrokerCore. */
  readonly nodes: readonly ClusterNode[]
  readonly #offline = new Set<number>()
  readonly #replicaSource: ReplicaSource

  /** Nodes numbered from `firstNodeId`, without addresses until they listen. */
  constructor(firstNodeId: number, count: number, replicaSource: ReplicaSource = () => undefined) {
    this.nodes = Array.from({ length: count }, (_, i) => ({ nodeId: firstNodeId + i, host: '', port: 0 }))
    this.#replicaSource = replicaSource
  }

  /** Sets the address clients are told to use for a node (a test may point it at a proxy). */
  advertise(nodeId: number, host: string, port: number): void {
    const node = this.#existing(nodeId) as { host: string; port: number }
    node.host = host
    node.port = port
  }

  node(nodeId: number): ClusterNode | undefined {
    return this.nodes.find((n) => n.nodeId === nodeId)
  }

  /** The nodes clients may connect to: Kafka drops a dead broker from Metadata. */
  get liveNodes(): ClusterNode[] {
    return this.nodes.filter((n) => !this.#offline.has(n.nodeId))
  }

  isLive(nodeId: number): boolean {
    return this.node(nodeId) !== undefined && !this.#offline.has(nodeId)
  }

  /** Takes a node out of (or back into) leader and coordinator election. */
  setLive(nodeId: number, live: boolean): void {
    this.#existing(nodeId)
    if (live) this.#offline.delete(nodeId)
    else this.#offline.add(nodeId)
  }

  /** The controller clients are told about: the first live node (KRaft brokers name any live one). */
  get controllerId(): number {
    return this.liveNodes[0]?.nodeId ?? -1
  }

  /**
   * A partition's replicas: the list CreateTopics or CreatePartitions named, else a deterministic
   * spread (partition p of a topic starts at node (hash(topic) + p) mod N) of the topic's
   * replication factor (every node for a topic whose factor is unknown).
   */
  placement(topic: string, partition: number): PartitionPlacement {
    const ring = this.#ring(stringHash(topic) + partition)
    const source = this.#replicaSource(topic)
    const replicas = source?.assignments?.[partition] ?? ring.slice(0, source?.replicationFactor ?? ring.length)
    const isr = replicas.filter((id) => this.isLive(id))
    const offline = replicas.filter((id) => !this.isLive(id))
    const leaderId = isr[0] ?? ring.find((id) => this.isLive(id)) ?? -1
    return { leaderId, replicas, isr, offline }
  }

  leaderOf(topic: string, partition: number): number {
    return this.placement(topic, partition).leaderId
  }

  /**
   * The coordinator of a group or transactional id: like Kafka's partitionFor (abs(hashCode) mod
   * the partitions of __consumer_offsets), with one partition per node, led by the first live node
   * from there.
   */
  coordinatorOf(key: string): number {
    return this.#ring(stringHash(key)).find((id) => !this.#offline.has(id)) ?? -1
  }

  #existing(nodeId: number): ClusterNode {
    const node = this.node(nodeId)
    if (node === undefined) throw new Error(`there is no broker ${nodeId}`)
    return node
  }

  /** Every node id, starting at index `start` mod N. */
  #ring(start: number): number[] {
    const n = this.nodes.length
    return this.nodes.map((_, i) => (this.nodes[(start + i) % n] as ClusterNode).nodeId)
  }
}

/** Java's String.hashCode made non-negative, as Kafka's Utils.abs(key.hashCode) (MIN_VALUE → 0). */
function stringHash(s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return h === -2147483648 ? 0 : Math.abs(h)
}

/** A partition's leader, replicas and in-sync replicas, as Metadata and DescribeTopicPartitions present them. */
export function describePartition(cluster: ClusterView, topic: string, partitionIndex: number) {
  const p = cluster.placement(topic, partitionIndex)
  return {
    errorCode: p.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex,
    leaderId: p.leaderId,
    leaderEpoch: LEADER_EPOCH,
    replicaNodes: p.replicas,
    isrNodes: p.isr,
    offlineReplicas: p.offline,
  }
}

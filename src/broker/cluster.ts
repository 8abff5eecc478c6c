/**
 * The brokers clients see, and who leads and coordinates what. The nodes are this process's own
 * (one listener each: one for `samsa broker`, several for samsa/testing's multi-broker view, all
 * sharing one BrokerCore) and, in a cluster over shared storage, the other live brokers that
 * membership reports.
 *
 * Placement is computed, never stored: every broker derives the same answer from the same set of
 * nodes. A partition ranks the nodes by rendezvous hashing (highest hash of topic, partition and
 * node id first), and its preferred leader is the first node in that ranking that does not yet
 * prefer its share of the topic's partitions (partitions / nodes, the remainder going one each to
 * the first nodes to ask): the topic is balanced, and a node joining or leaving moves mostly its
 * own share. A partition lists its topic's
 * replication factor of replicas (the ones CreateTopics named, or the preferred leader and the
 * next nodes of its ranking); the leader is the first live replica, as Kafka elects the next
 * in-sync replica when a leader dies. Every node can serve every partition (the storage is
 * shared), so when no replica is live the first live node of the ranking leads rather than
 * leaving the partition offline.
 */

import { murmur2 } from '../client/murmur2.ts'
import { ErrorCode } from '../protocol/error-codes.ts'

/** A node id, the address clients are told to use for it, and its rack (broker.rack). */
export interface ClusterNode {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
  /**
   * The address of each of its listeners by name, where it has several (this process's nodes);
   * host and port are then its primary listener's. Other brokers register one address.
   */
  readonly endpoints?: ReadonlyMap<string, { host: string; port: number }>
}

/** The address of a node that clients who came in on `listener` are told, as Kafka answers per listener. */
export function endpointFor(node: ClusterNode, listener: string): { host: string; port: number } {
  return node.endpoints?.get(listener) ?? node
}

/** What Metadata and DescribeTopicPartitions say about one partition. */
export interface PartitionPlacement {
  /** -1 when no node is live. */
  leaderId: number
  replicas: number[]
  isr: number[]
  offline: number[]
}

/** What placement needs to know of a topic: its partitions, replication factor (every node when unknown) and any replica lists named for it. */
export type TopicSource = (
  topic: string,
) => { partitionCount: number; replicationFactor?: number; assignments?: (number[] | null)[] } | undefined

interface TopicPlacements {
  /** The view's generation they were computed at. */
  generation: number
  source: ReturnType<TopicSource>
  partitions: PartitionPlacement[]
}

export class ClusterView {
  readonly #local: ClusterNode[]
  #remote: ClusterNode[] = []
  /** Every node by ascending id, local and remote. */
  #nodes: ClusterNode[]
  readonly #offline = new Set<number>()
  readonly #topicSource: TopicSource
  /** Bumped on every change of nodes or liveness: cached placements of older generations are stale. */
  #generation = 0
  #lapsed: ClusterNode[] = []
  readonly #placements = new Map<string, TopicPlacements>()
  readonly #changeListeners: (() => void)[] = []

  /** This process's nodes, numbered from `firstNodeId`, without addresses until they listen. */
  constructor(firstNodeId: number, count: number, topicSource: TopicSource = () => undefined) {
    this.#local = Array.from({ length: count }, (_, i) => ({ nodeId: firstNodeId + i, host: '', port: 0, rack: null }))
    this.#nodes = [...this.#local]
    this.#topicSource = topicSource
  }

  /** Every node, by ascending id. */
  get nodes(): readonly ClusterNode[] {
    return this.#nodes
  }

  /** The nodes this process serves, one listener each; the first is the node id of the BrokerCore. */
  get localNodes(): readonly ClusterNode[] {
    return this.#local
  }

  isLocal(nodeId: number): boolean {
    return this.#local.some((n) => n.nodeId === nodeId)
  }

  /**
   * Sets the address (and rack) clients are told for a local node (a test may point it at a
   * proxy), and those of each of its listeners when it has several.
   */
  advertise(
    nodeId: number,
    host: string,
    port: number,
    rack: string | null = null,
    endpoints?: ReadonlyMap<string, { host: string; port: number }>,
  ): void {
    const i = this.#local.findIndex((n) => n.nodeId === nodeId)
    if (i < 0) throw new Error(`there is no broker ${nodeId}`)
    this.#local[i] = endpoints ? { nodeId, host, port, rack, endpoints } : { nodeId, host, port, rack }
    this.#rebuild()
  }

  /** The other live brokers of the cluster (membership), replacing the previous set. */
  setRemote(nodes: readonly ClusterNode[]): void {
    const same =
      nodes.length === this.#remote.length &&
      nodes.every((n) => {
        const known = this.#remote.find((r) => r.nodeId === n.nodeId)
        return known !== undefined && known.host === n.host && known.port === n.port && known.rack === n.rack
      })
    if (same) return
    this.#remote = nodes.filter((n) => !this.isLocal(n.nodeId))
    this.#rebuild()
  }

  /** Brokers registered but out of the cluster (their lease lapsed), replacing the previous set. */
  setLapsed(nodes: readonly ClusterNode[]): void {
    this.#lapsed = nodes.filter((n) => !this.isLocal(n.nodeId))
  }

  /**
   * Brokers known but not live: local nodes taken out, and others whose lease lapsed. KRaft calls
   * such brokers fenced (DescribeCluster v2 lists them when asked, KIP-1073).
   */
  get fencedNodes(): ClusterNode[] {
    const offline = this.#nodes.filter((n) => this.#offline.has(n.nodeId))
    return [...offline, ...this.#lapsed].sort((a, b) => a.nodeId - b.nodeId)
  }

  node(nodeId: number): ClusterNode | undefined {
    return this.#nodes.find((n) => n.nodeId === nodeId)
  }

  /** Whether the broker is known, live or fenced: what Kafka calls registered. */
  isRegistered(nodeId: number): boolean {
    return this.node(nodeId) !== undefined || this.#lapsed.some((n) => n.nodeId === nodeId)
  }

  /** The nodes clients may connect to: Kafka drops a dead broker from Metadata. */
  get liveNodes(): ClusterNode[] {
    return this.#nodes.filter((n) => !this.#offline.has(n.nodeId))
  }

  isLive(nodeId: number): boolean {
    return this.node(nodeId) !== undefined && !this.#offline.has(nodeId)
  }

  /** Takes a node out of (or back into) leader and coordinator election. */
  setLive(nodeId: number, live: boolean): void {
    if (this.node(nodeId) === undefined) throw new Error(`there is no broker ${nodeId}`)
    if (live === !this.#offline.has(nodeId)) return
    if (live) this.#offline.delete(nodeId)
    else this.#offline.add(nodeId)
    this.#changed()
  }

  /** Calls `listener` after every change of nodes or liveness (leaders and coordinators may have moved). */
  onChange(listener: () => void): void {
    this.#changeListeners.push(listener)
  }

  /** The controller clients are told about: the first live node (KRaft brokers name any live one). */
  get controllerId(): number {
    return this.liveNodes[0]?.nodeId ?? -1
  }

  placement(topic: string, partition: number): PartitionPlacement {
    const source = this.#topicSource(topic)
    let cached = this.#placements.get(topic)
    if (cached === undefined || cached.generation !== this.#generation || !sameSource(cached.source, source)) {
      cached = { generation: this.#generation, source, partitions: [] }
      this.#placements.set(topic, cached)
    }
    let p = cached.partitions[partition]
    if (p === undefined) {
      const count = Math.max(source?.partitionCount ?? 0, partition + 1)
      cached.partitions = this.#placeTopic(topic, count, source)
      p = cached.partitions[partition] as PartitionPlacement
    }
    return p
  }

  leaderOf(topic: string, partition: number): number {
    return this.placement(topic, partition).leaderId
  }

  /**
   * The coordinator of a group or transactional id: the live node ranking highest for the key, so
   * a node leaving moves only the keys it coordinated, and gets them back when it returns.
   */
  coordinatorOf(key: string): number {
    return this.#rank(key, this.liveNodes)[0] ?? -1
  }

  #rebuild(): void {
    this.#nodes = [...this.#local, ...this.#remote].sort((a, b) => a.nodeId - b.nodeId)
    for (const id of this.#offline) if (this.node(id) === undefined) this.#offline.delete(id)
    this.#changed()
  }

  #changed(): void {
    this.#generation++
    for (const listener of this.#changeListeners) listener()
  }

  #placeTopic(topic: string, count: number, source: ReturnType<TopicSource>): PartitionPlacement[] {
    const nodes = this.#nodes
    const factor = Math.min(source?.replicationFactor ?? nodes.length, nodes.length)
    // Each node prefers `even` partitions of the topic, `extra` of them one more.
    const even = Math.floor(count / Math.max(nodes.length, 1))
    let extra = count - even * nodes.length
    const preferred = new Map<number, number>()
    const hasRoom = (id: number): boolean => {
      const n = preferred.get(id) ?? 0
      return n < even || (n === even && extra > 0)
    }
    const placements: PartitionPlacement[] = []
    for (let partition = 0; partition < count; partition++) {
      const ranking = this.#rank(`${topic}\u0000${partition}`, nodes)
      let replicas = source?.assignments?.[partition] ?? undefined
      if (replicas === undefined || replicas === null) {
        const first = ranking.find(hasRoom) ?? ranking[0]
        replicas = first === undefined ? [] : [first, ...ranking.filter((id) => id !== first).slice(0, factor - 1)]
      }
      const head = replicas[0]
      if (head !== undefined) {
        const n = (preferred.get(head) ?? 0) + 1
        preferred.set(head, n)
        if (n === even + 1) extra--
      }
      const isr = replicas.filter((id) => this.isLive(id))
      const offline = replicas.filter((id) => !this.isLive(id))
      const leaderId = isr[0] ?? ranking.find((id) => this.isLive(id)) ?? -1
      placements.push({ leaderId, replicas, isr, offline })
    }
    return placements
  }

  /** Node ids ranked by rendezvous hash of key and node id, highest first. */
  #rank(key: string, nodes: readonly ClusterNode[]): number[] {
    return nodes
      .map((n) => ({ id: n.nodeId, weight: murmur2(Buffer.from(`${key}\u0000${n.nodeId}`)) >>> 0 }))
      .sort((a, b) => b.weight - a.weight || a.id - b.id)
      .map((n) => n.id)
  }
}

/** Whether a topic's placement inputs are unchanged (replica lists are replaced, never edited, on change). */
function sameSource(a: ReturnType<TopicSource>, b: ReturnType<TopicSource>): boolean {
  return (
    a?.partitionCount === b?.partitionCount &&
    a?.replicationFactor === b?.replicationFactor &&
    a?.assignments === b?.assignments
  )
}

/** A partition's leader, replicas and in-sync replicas, as Metadata and DescribeTopicPartitions present them. */
export function describePartition(cluster: ClusterView, topic: string, partitionIndex: number, leaderEpoch: number) {
  const p = cluster.placement(topic, partitionIndex)
  return {
    errorCode: p.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex,
    leaderId: p.leaderId,
    leaderEpoch,
    replicaNodes: p.replicas,
    isrNodes: p.isr,
    offlineReplicas: p.offline,
  }
}

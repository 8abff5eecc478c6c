/**
 * Which node of a multi-broker view may answer what, as Kafka routes requests: partition APIs
 * to the partition's leader (NOT_LEADER_OR_FOLLOWER elsewhere, naming the current leader for
 * KIP-951 clients), coordinator APIs to the coordinator of their group or transactional id
 * (NOT_COORDINATOR elsewhere). With one broker every check passes.
 */
import { ErrorCode } from '../protocol/error-codes.ts'
import type { BrokerCore } from './broker-core.ts'
import { endpointFor } from './cluster.ts'
import type { RequestContext } from './context.ts'

/** UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER when another node leads the partition, or NONE. */
export function partitionError(ctx: RequestContext, topic: string, partition: number): number {
  if (!ctx.broker.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  const { cluster, leadership } = ctx.broker
  if (cluster.leaderOf(topic, partition) !== ctx.nodeId || !leadership.leads(topic, partition)) {
    return ErrorCode.NOT_LEADER_OR_FOLLOWER
  }
  return ErrorCode.NONE
}

/**
 * Where a consumer may read a partition: its leader, and over shared storage any live replica
 * (KIP-392: every broker reads the same log) for read_uncommitted consumers; read_committed needs
 * the leader's producer state for the last stable offset. NONE, or partitionError's answer.
 */
export function readError(ctx: RequestContext, topic: string, partition: number, readCommitted: boolean): number {
  const errorCode = partitionError(ctx, topic, partition)
  if (errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER || readCommitted) return errorCode
  const { cluster, storage } = ctx.broker
  const servesFollowerReads =
    storage.capabilities.shared && cluster.placement(topic, partition).isr.includes(ctx.nodeId)
  return servesFollowerReads ? ErrorCode.NONE : errorCode
}

/** Kafka's class name of the selector that sends consumers to a replica in their rack. */
const RACK_AWARE_SELECTOR = 'org.apache.kafka.common.replica.RackAwareReplicaSelector'

/**
 * The replica a consumer in `clientRack` should read from (KIP-392), or -1 to keep reading here:
 * with replica.selector.class set to the rack-aware selector, a live replica in the client's rack
 * when neither the leader nor this broker is in it, as Kafka's RackAwareReplicaSelector picks.
 */
export function preferredReadReplica(
  ctx: RequestContext,
  topic: string,
  partition: number,
  clientRack: string,
): number {
  const { cluster } = ctx.broker
  if (clientRack === '' || ctx.broker.prop('replica.selector.class') !== RACK_AWARE_SELECTOR) return -1
  const { leaderId, isr } = cluster.placement(topic, partition)
  const inRack = isr.filter((id) => cluster.node(id)?.rack === clientRack)
  if (inRack.length === 0 || inRack.includes(leaderId) || inRack.includes(ctx.nodeId)) return -1
  return inRack[0] as number
}

/**
 * Whether the node the request came to coordinates this group or transactional id. An empty id
 * is taken anywhere, so that the handler rejects it as invalid (as Kafka checks validity first).
 */
export function isCoordinator(ctx: RequestContext, key: string): boolean {
  return key === '' || ctx.broker.cluster.coordinatorOf(key) === ctx.nodeId
}

/** The current leader of a partition, as Produce (v10+) and Fetch (v12+) name it beside NOT_LEADER_OR_FOLLOWER. */
export function currentLeader(core: BrokerCore, topic: string, partition: number): LeaderAndEpoch {
  return {
    leaderId: core.cluster.leaderOf(topic, partition),
    leaderEpoch: core.topics.knownLeaderEpoch(topic, partition),
  }
}

export interface LeaderAndEpoch {
  leaderId: number
  leaderEpoch: number
}

/** The addresses, on the client's listener, of the leaders named in a response (its node_endpoints, KIP-951). */
export function nodeEndpoints(
  core: BrokerCore,
  leaders: Iterable<LeaderAndEpoch>,
  listener: string,
): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const ids = new Set<number>()
  for (const l of leaders) if (l.leaderId >= 0) ids.add(l.leaderId)
  return core.cluster.nodes
    .filter((n) => ids.has(n.nodeId))
    .map((n) => ({ nodeId: n.nodeId, ...endpointFor(n, listener), rack: n.rack }))
}

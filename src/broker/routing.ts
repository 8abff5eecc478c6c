/**
 * Which node of a multi-broker view may answer what, as Kafka routes requests: partition APIs
 * to the partition's leader (NOT_LEADER_OR_FOLLOWER elsewhere, naming the current leader for
 * KIP-951 clients), coordinator APIs to the coordinator of their group or transactional id
 * (NOT_COORDINATOR elsewhere). With one broker every check passes.
 */
import { ErrorCode } from '../protocol/error-codes.ts'
import type { BrokerCore } from './broker-core.ts'
import { LEADER_EPOCH } from './cluster.ts'
import type { RequestContext } from './context.ts'

/** UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER when another node leads the partition, or NONE. */
export function partitionError(ctx: RequestContext, topic: string, partition: number): number {
  if (!ctx.broker.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  if (ctx.broker.cluster.leaderOf(topic, partition) !== ctx.nodeId) return ErrorCode.NOT_LEADER_OR_FOLLOWER
  return ErrorCode.NONE
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
  return { leaderId: core.cluster.leaderOf(topic, partition), leaderEpoch: LEADER_EPOCH }
}

export interface LeaderAndEpoch {
  leaderId: number
  leaderEpoch: number
}

/** The addresses of the leaders named in a response (its node_endpoints, KIP-951). */
export function nodeEndpoints(
  core: BrokerCore,
  leaders: Iterable<LeaderAndEpoch>,
): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const ids = new Set<number>()
  for (const l of leaders) if (l.leaderId >= 0) ids.add(l.leaderId)
  return core.cluster.nodes
    .filter((n) => ids.has(n.nodeId))
    .map((n) => ({ nodeId: n.nodeId, host: n.host, port: n.port, rack: null }))
}

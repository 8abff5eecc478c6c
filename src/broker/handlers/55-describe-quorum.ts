// DescribeQuorum: v0-2
// KRaft's metadata quorum is, in samsa, the store that holds the metadata (metadata-log.ts): the
// process's own storage, or the PostgreSQL database of a cluster. It is described as the
// __cluster_metadata partition with one voter, the controller that Metadata and DescribeCluster
// name (the first live broker), which leads it; the other live brokers are its observers. The
// high watermark counts the metadata changes made through the brokers, the leader epoch rises
// each time another broker became controller, and since every broker reads the one store, each
// observer's log end offset is the high watermark (no lag) and its last fetch is when this broker
// last heard from it. Any other topic or partition is UNKNOWN_TOPIC_OR_PARTITION, as Kafka's
// quorum answers. Needs DESCRIBE on the cluster.
// Version notes: v1 last fetch and caught-up timestamps (KIP-836); v2 error messages, replica
// directory ids (none here) and the voters' listeners (KIP-853).
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeQuorumResponse,
  createDescribeQuorumResponsePartitionData,
  createReplicaState,
  type DescribeQuorumRequest,
  type DescribeQuorumResponse,
  type ReplicaState,
} from '../../protocol/generated/describe-quorum.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { endpointFor } from '../cluster.ts'
import { defineHandler } from '../handler.ts'
import { metadataEndOffset, metadataLeader } from '../metadata-log.ts'

/** The one partition of KRaft's metadata log. */
const METADATA_TOPIC = '__cluster_metadata'

export default defineHandler<DescribeQuorumRequest, DescribeQuorumResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.DESCRIBE) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const core = ctx.broker
    const only = req.topics.length === 1 ? req.topics[0] : undefined
    if (
      only?.topicName !== METADATA_TOPIC ||
      only.partitions.length !== 1 ||
      only.partitions[0]?.partitionIndex !== 0
    ) {
      const errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      return createDescribeQuorumResponse({
        errorMessage: null,
        topics: req.topics.map((t) => ({
          topicName: t.topicName,
          partitions: t.partitions.map((p) =>
            createDescribeQuorumResponsePartitionData({
              partitionIndex: p.partitionIndex,
              errorCode,
              errorMessage: errorInfo(errorCode).message,
            }),
          ),
        })),
      })
    }
    const leaderId = core.cluster.controllerId
    if (leaderId < 0) {
      const errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER
      const partition = createDescribeQuorumResponsePartitionData({
        errorCode,
        errorMessage: errorInfo(errorCode).message,
      })
      return createDescribeQuorumResponse({
        errorMessage: null,
        topics: [{ topicName: METADATA_TOPIC, partitions: [partition] }],
      })
    }
    const [highWatermark, leader] = await Promise.all([
      metadataEndOffset(core.storage.kv),
      metadataLeader(core.storage.kv),
    ])
    const now = Date.now()
    const state = (replicaId: number, heardAt: number): ReplicaState =>
      createReplicaState({
        replicaId,
        logEndOffset: BigInt(highWatermark),
        lastFetchTimestamp: BigInt(heardAt),
        lastCaughtUpTimestamp: BigInt(heardAt),
      })
    const observers = core.cluster.liveNodes
      .filter((n) => n.nodeId !== leaderId)
      .map((n) => state(n.nodeId, heardAt(core, n.nodeId, now)))
    const partition = createDescribeQuorumResponsePartitionData({
      errorMessage: null,
      leaderId,
      leaderEpoch: leader.epoch,
      highWatermark: BigInt(highWatermark),
      currentVoters: [state(leaderId, now)],
      observers,
    })
    return createDescribeQuorumResponse({
      errorMessage: null,
      topics: [{ topicName: METADATA_TOPIC, partitions: [partition] }],
      nodes: [{ nodeId: leaderId, listeners: listeners(core, leaderId, ctx.listener) }],
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeQuorumResponse({ errorCode, errorMessage: errorInfo(errorCode).message })
  },
})

/** When this broker last heard from a live node: now for its own, the last heartbeat seen for another broker. */
function heardAt(core: BrokerCore, nodeId: number, now: number): number {
  if (core.cluster.isLocal(nodeId)) return now
  return Math.round(core.membership?.heardAt(nodeId) ?? now)
}

/** The controller's listeners: each of this process's by name, or the one address another broker registered. */
function listeners(core: BrokerCore, nodeId: number, listener: string): { name: string; host: string; port: number }[] {
  const node = core.cluster.node(nodeId)
  if (node === undefined) return []
  if (node.endpoints === undefined) return [{ name: listener, ...endpointFor(node, listener) }]
  return [...node.endpoints].map(([name, address]) => ({ name, ...address }))
}

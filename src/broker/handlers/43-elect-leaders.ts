// ElectLeaders: v0-2
// A partition's leader in samsa is always the first live replica of its replica list (named by
// CreateTopics or a reassignment, else placed by the cluster's spread), as in a Kafka cluster whose
// controller moves leaders back to the preferred replica at once: leadership never rests on
// another replica while the preferred one is live, so there is never an election left to hold.
// PREFERRED answers ELECTION_NOT_NEEDED where the first replica is live (it leads) and
// PREFERRED_LEADER_NOT_AVAILABLE where it is not; UNCLEAN answers ELECTION_NOT_NEEDED where the
// partition has a leader (over one shared log any live broker leads when no replica is live) and
// ELIGIBLE_LEADERS_NOT_AVAILABLE where no broker is live. Unknown topics and partitions
// UNKNOWN_TOPIC_OR_PARTITION. Null topic partitions mean every partition, and then, as Kafka does,
// only the partitions whose election was needed are listed. Needs ALTER on the cluster.
// Version notes: v1 election type (KIP-460; v0 is PREFERRED) and top-level error code; v2 flexible.
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  api,
  createElectLeadersResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  type PartitionResult,
} from '../../protocol/generated/elect-leaders.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'

/** Kafka's ElectionType ids. */
const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const

export default defineHandler<ElectLeadersRequest, ElectLeadersResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.ALTER) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  handle(ctx, req) {
    const core = ctx.broker
    if (req.electionType !== ElectionType.PREFERRED && req.electionType !== ElectionType.UNCLEAN) {
      return errorResponse(ctx, req, ErrorCode.INVALID_REQUEST, `Unknown election type ${req.electionType}`)
    }
    if (req.topicPartitions === null) {
      return createElectLeadersResponse({
        replicaElectionResults: core.topics.list().map((t) => ({
          topic: t.name,
          partitionResult: Array.from({ length: t.partitionCount }, (_, p) =>
            elect(core, t.name, p, req.electionType),
          ).filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED),
        })),
      })
    }
    return createElectLeadersResponse({
      replicaElectionResults: req.topicPartitions.map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((p) => elect(core, t.topic, p, req.electionType)),
      })),
    })
  },
  errorResponse(ctx, req, errorCode) {
    return errorResponse(ctx, req, errorCode, errorInfo(errorCode).message)
  },
})

/** The outcome of one partition's election. */
function elect(core: BrokerCore, topic: string, partitionId: number, electionType: number): PartitionResult {
  const outcome = (errorCode: number, errorMessage: string | null = errorInfo(errorCode).message) => ({
    partitionId,
    errorCode,
    errorMessage,
  })
  if (!core.topics.get(topic)) return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such topic as ${topic}`)
  if (!core.topics.hasPartition(topic, partitionId)) {
    return outcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such partition as ${topic}-${partitionId}`)
  }
  const { leaderId, replicas } = core.cluster.placement(topic, partitionId)
  if (electionType === ElectionType.UNCLEAN) {
    return outcome(leaderId >= 0 ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE)
  }
  const preferred = replicas[0]
  return outcome(
    preferred !== undefined && preferred === leaderId
      ? ErrorCode.ELECTION_NOT_NEEDED
      : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  )
}

/** Every requested partition failed with one error (top-level too from v1), as Kafka answers a refused request. */
function errorResponse(
  ctx: RequestContext,
  req: ElectLeadersRequest,
  errorCode: number,
  errorMessage: string,
): ElectLeadersResponse {
  return createElectLeadersResponse({
    errorCode: ctx.apiVersion >= 1 ? errorCode : ErrorCode.NONE,
    replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage })),
    })),
  })
}

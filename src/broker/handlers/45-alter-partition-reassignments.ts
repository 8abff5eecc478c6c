// AlterPartitionReassignments: v0-1
// A reassignment gives a partition a new replica list, kept as CreateTopics' named lists are:
// every broker reads the one shared log, so there is no data to copy and the reassignment
// completes at once (ListPartitionReassignments shows none in progress), and the partition's
// leader becomes the first live replica of the new list, on every broker of the cluster. A target
// naming a fenced broker (registered, its lease lapsed) is accepted, as Kafka accepts it: that
// replica is offline until the broker is back. Errors per partition, as Kafka's controller gives
// them: unknown topics and partitions UNKNOWN_TOPIC_OR_PARTITION; an empty list, a broker named
// twice or one not registered INVALID_REPLICA_ASSIGNMENT; a cancellation (null replicas)
// NO_REASSIGNMENT_IN_PROGRESS, since none ever is. Needs ALTER on the cluster.
// Version notes: v1 allow_replication_factor_change (KIP-860): when false, a target with another
// number of replicas than the partition has is INVALID_REPLICATION_FACTOR; the response echoes it.
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  type AlterPartitionReassignmentsRequest,
  type AlterPartitionReassignmentsResponse,
  api,
  createAlterPartitionReassignmentsResponse,
  type ReassignablePartition,
  type ReassignablePartitionResponse,
} from '../../protocol/generated/alter-partition-reassignments.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { defineHandler } from '../handler.ts'
import { replicaListProblem } from '../replica-assignment.ts'

export default defineHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.ALTER) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const core = ctx.broker
    const responses = []
    for (const t of req.topics) {
      const accepted = new Map<number, number[]>()
      const partitions = t.partitions.map((p) => {
        const problem = check(core, t.name, p, req.allowReplicationFactorChange)
        if (problem) return problem
        accepted.set(p.partitionIndex, p.replicas as number[])
        return result(p.partitionIndex, ErrorCode.NONE, null)
      })
      if (accepted.size > 0) {
        await core.topics.reassign(t.name, accepted, core.cluster.placement(t.name, 0).replicas.length)
        core.log.info({ topic: t.name, replicas: Object.fromEntries(accepted) }, 'reassigned partitions')
      }
      responses.push({ name: t.name, partitions })
    }
    return createAlterPartitionReassignmentsResponse({
      allowReplicationFactorChange: req.allowReplicationFactorChange,
      errorMessage: null,
      responses,
    })
  },
  errorResponse(_ctx, req, errorCode) {
    const errorMessage = errorInfo(errorCode).message
    return createAlterPartitionReassignmentsResponse({
      allowReplicationFactorChange: req.allowReplicationFactorChange,
      errorCode,
      errorMessage,
      responses: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => result(p.partitionIndex, errorCode, errorMessage)),
      })),
    })
  },
})

function result(partitionIndex: number, errorCode: number, errorMessage: string | null): ReassignablePartitionResponse {
  return { partitionIndex, errorCode, errorMessage }
}

/** Kafka's refusal of one partition's reassignment, or undefined when it may go ahead. */
function check(
  core: BrokerCore,
  topic: string,
  p: ReassignablePartition,
  allowReplicationFactorChange: boolean,
): ReassignablePartitionResponse | undefined {
  const refuse = (errorCode: number, message: string) => result(p.partitionIndex, errorCode, message)
  if (!core.topics.get(topic)) {
    return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find a topic named ${topic}.`)
  }
  if (!core.topics.hasPartition(topic, p.partitionIndex)) {
    return refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${topic}:${p.partitionIndex}.`)
  }
  if (p.replicas === null) {
    const code = ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
    return refuse(code, errorInfo(code).message)
  }
  const problem = replicaListProblem(core.cluster, p.replicas)
  if (problem) return refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem)
  const current = core.cluster.placement(topic, p.partitionIndex).replicas.length
  if (!allowReplicationFactorChange && p.replicas.length !== current) {
    return refuse(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `The replication factor is changed from ${current} to ${p.replicas.length}`,
    )
  }
  return undefined
}

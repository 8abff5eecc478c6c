// CreatePartitions: v0-3
// Grows topics to a new partition count; partitions are never removed. Errors per topic, as Kafka's
// controller gives them: unknown topic UNKNOWN_TOPIC_OR_PARTITION; a count equal to or below the
// current one INVALID_PARTITIONS; assignments (one replica list per new partition) that do not
// match the number of new partitions, are empty, repeat a broker, name an unknown broker or differ
// from the topic's replication factor INVALID_REPLICA_ASSIGNMENT (valid ones are kept and
// reported by Metadata as given); a topic named twice INVALID_REQUEST. validate_only checks everything
// and changes nothing.
// Version notes: v1 same as v0; v2 flexible; v3 same as v2.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type CreatePartitionsTopic,
  type CreatePartitionsTopicResult,
  createCreatePartitionsResponse,
  createCreatePartitionsTopicResult,
} from '../../protocol/generated/create-partitions.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { defineHandler } from '../handler.ts'
import { partitionLimitExceeded } from '../partition-limit.ts'
import { replicaListProblem } from '../replica-assignment.ts'

export default defineHandler<CreatePartitionsRequest, CreatePartitionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req) {
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    const results: CreatePartitionsTopicResult[] = []
    const reported = new Set<string>()
    for (const t of req.topics) {
      if ((counts.get(t.name) ?? 0) > 1) {
        // Kafka reports a duplicated topic once.
        if (!reported.has(t.name)) results.push(result(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'))
        reported.add(t.name)
        continue
      }
      if (!topicAuthorized(ctx, AclOperation.ALTER, t.name)) {
        results.push(result(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'The topic authorization is failed.'))
        continue
      }
      results.push(await createPartitions(ctx.broker, t, req.validateOnly))
    }
    return createCreatePartitionsResponse({ results })
  },
  errorResponse(_ctx, req, errorCode) {
    return createCreatePartitionsResponse({ results: req.topics.map((t) => result(t.name, errorCode, null)) })
  },
})

function result(name: string, errorCode: number, errorMessage: string | null): CreatePartitionsTopicResult {
  return createCreatePartitionsTopicResult({ name, errorCode, errorMessage })
}

async function createPartitions(
  core: BrokerCore,
  t: CreatePartitionsTopic,
  validateOnly: boolean,
): Promise<CreatePartitionsTopicResult> {
  const topic = core.topics.get(t.name)
  if (!topic) {
    return result(t.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
  }
  const current = topic.partitionCount
  if (t.count === current) {
    return result(t.name, ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`)
  }
  if (t.count < current) {
    const message = `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`
    return result(t.name, ErrorCode.INVALID_PARTITIONS, message)
  }
  const tooMany = partitionLimitExceeded(core, t.count)
  if (tooMany) return result(t.name, ErrorCode.INVALID_PARTITIONS, tooMany)
  const additional = t.count - current
  if (t.assignments !== null) {
    const factor = core.topics.replicas(t.name)?.replicationFactor ?? core.cluster.nodes.length
    const bad = invalidAssignments(core, t.assignments, additional, factor)
    if (bad) return result(t.name, ErrorCode.INVALID_REPLICA_ASSIGNMENT, bad)
  }
  if (!validateOnly) {
    await core.topics.setPartitionCount(
      t.name,
      t.count,
      t.assignments?.map((a) => a.brokerIds),
    )
    core.log.info({ topic: t.name, from: current, to: t.count }, 'created partitions')
  }
  return result(t.name, ErrorCode.NONE, null)
}

/** Kafka's manual assignment checks; the new partitions keep the topic's replication factor. */
function invalidAssignments(
  core: BrokerCore,
  assignments: { brokerIds: number[] }[],
  additional: number,
  replicationFactor: number,
): string | undefined {
  if (assignments.length !== additional) {
    return `Attempted to add ${additional} additional partition(s), but only ${assignments.length} assignment(s) were specified.`
  }
  for (const { brokerIds } of assignments) {
    const problem = replicaListProblem(core.cluster, brokerIds)
    if (problem) return problem
    if (brokerIds.length !== replicationFactor) {
      return `The manual partition assignment includes a partition with ${brokerIds.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`
    }
  }
  return undefined
}

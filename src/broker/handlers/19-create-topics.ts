// CreateTopics: v0-7
// Creates topics with a partition count (or num.partitions), a replication factor (or
// default.replication.factor; anything above the broker count is INVALID_REPLICATION_FACTOR) or
// explicit assignments (of known brokers), and validated config overrides. The factor and the
// assignments are kept (TopicRegistry) and Metadata reports them: that many replicas per
// partition, the named ones as given, the first replica leading while it is live.
// validate_only checks everything and creates nothing.
// Version notes: v1+ errorMessage and validate_only; v4+ -1 means the broker default;
// v5+ returns partitions, replication factor and the resulting configs; v7+ the topic id.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  type CreatableTopic,
  type CreatableTopicResult,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  createCreatableTopicResult,
  createCreateTopicsResponse,
} from '../../protocol/generated/create-topics.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized, topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { describeTopicConfigs, invalidTopicConfigs } from '../config-describe.ts'
import { defineHandler } from '../handler.ts'
import { partitionLimitExceeded } from '../partition-limit.ts'
import { invalidTopicName } from '../topics.ts'

export default defineHandler<CreateTopicsRequest, CreateTopicsResponse>({
  api,
  minVersion: 0,
  maxVersion: 7,
  async handle(ctx, req) {
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    // CREATE on the cluster, or else on each topic.
    const mayCreateAll = clusterAuthorized(ctx, AclOperation.CREATE)
    const topics = await Promise.all(
      req.topics.map((t) => {
        if ((counts.get(t.name) ?? 0) > 1) {
          return result(t, ErrorCode.INVALID_REQUEST, `Create topics request from client has duplicate topic ${t.name}`)
        }
        if (!mayCreateAll && !topicAuthorized(ctx, AclOperation.CREATE, t.name)) {
          return result(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.')
        }
        const showConfigs = topicAuthorized(ctx, AclOperation.DESCRIBE_CONFIGS, t.name)
        return createTopic(ctx.broker, t, req.validateOnly, ctx.apiVersion, showConfigs)
      }),
    )
    return createCreateTopicsResponse({ topics })
  },
  errorResponse(_ctx, req, errorCode) {
    return createCreateTopicsResponse({ topics: req.topics.map((t) => result(t, errorCode, null)) })
  },
})

function result(t: CreatableTopic, errorCode: number, errorMessage: string | null): CreatableTopicResult {
  return createCreatableTopicResult({ name: t.name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1 })
}

async function createTopic(
  core: BrokerCore,
  t: CreatableTopic,
  validateOnly: boolean,
  v: number,
  /** DESCRIBE_CONFIGS on the topic: without it v5+ answer TOPIC_AUTHORIZATION_FAILED for the configs (Kafka). */
  showConfigs: boolean,
): Promise<CreatableTopicResult> {
  const badName = invalidTopicName(t.name)
  if (badName) return result(t, ErrorCode.INVALID_TOPIC_EXCEPTION, badName)
  if (core.topics.get(t.name)) return result(t, ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`)
  const collision = core.topics.collidingTopic(t.name)
  if (collision) {
    return result(t, ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${t.name}' collides with existing topic: ${collision}`)
  }
  let partitions = t.numPartitions
  let replication = t.replicationFactor
  if (t.assignments.length > 0) {
    if (partitions !== -1 || replication !== -1) {
      return result(
        t,
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set.',
      )
    }
    const bad = checkAssignments(core, t)
    if (bad) return result(t, ErrorCode.INVALID_REPLICA_ASSIGNMENT, bad)
    partitions = t.assignments.length
    replication = t.assignments[0]?.brokerIds.length ?? 1
  }
  if (partitions === -1) partitions = core.numberProp('num.partitions')
  if (replication === -1) replication = core.numberProp('default.replication.factor')
  if (partitions <= 0) return result(t, ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.')
  const tooMany = partitionLimitExceeded(core, partitions)
  if (tooMany) return result(t, ErrorCode.INVALID_PARTITIONS, tooMany)
  if (replication <= 0)
    return result(t, ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.')
  const brokers = core.cluster.nodes.length
  if (replication > brokers) {
    return result(
      t,
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replication} time(s): The target replication factor of ${replication} cannot be reached because only ${brokers} broker(s) are registered.`,
    )
  }
  const badConfig = invalidTopicConfigs(t.configs)
  if (badConfig) return result(t, ErrorCode.INVALID_CONFIG, badConfig)
  const configs: Record<string, string> = {}
  for (const c of t.configs) configs[c.name] = c.value as string
  let topicId = ''
  if (!validateOnly) {
    const assignments = t.assignments.length > 0 ? t.assignments.map((a) => a.brokerIds) : undefined
    const created = await core.topics.create(t.name, partitions, configs, {
      replicationFactor: replication,
      assignments,
    })
    if (!created) return result(t, ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`)
    topicId = created.topicId
    core.log.info({ topic: t.name, partitions, configs }, 'created topic')
    if (/[._]/.test(t.name)) {
      core.log.warn({ topic: t.name }, "topic names with '.' or '_' can collide in metric names; use one or the other")
    }
  }
  const res = createCreatableTopicResult({ name: t.name, numPartitions: partitions, replicationFactor: replication })
  if (topicId && v >= 7) res.topicId = topicId
  if (v >= 5 && !showConfigs) res.topicConfigErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
  else if (v >= 5) {
    res.configs = describeTopicConfigs(core, configs).map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      configSource: c.source,
      isSensitive: c.isSensitive,
    }))
  }
  return res
}

function checkAssignments(core: BrokerCore, t: CreatableTopic): string | undefined {
  const seen = new Set<number>()
  for (const a of t.assignments) {
    if (seen.has(a.partitionIndex)) return `Duplicate partition index ${a.partitionIndex}`
    seen.add(a.partitionIndex)
    if (a.brokerIds.length === 0) return `Partition ${a.partitionIndex} has no replicas`
    const unknown = a.brokerIds.find((id) => core.cluster.node(id) === undefined)
    if (unknown !== undefined) return `Unknown broker ${unknown} in the assignment of partition ${a.partitionIndex}`
  }
  for (let i = 0; i < t.assignments.length; i++) {
    if (!seen.has(i)) return `Partitions must be numbered 0 to ${t.assignments.length - 1}`
  }
  return undefined
}

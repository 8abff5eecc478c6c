// Metadata: v0-12
// Live brokers, cluster id, controller and every requested topic with its partitions, each led by
// the node the cluster view places it on (the only one unless startBroker asked for several).
// Unknown topics are created when auto.create.topics.enable is on and the request allows it (v4+),
// and answered right away instead of with LEADER_NOT_AVAILABLE.
// Version notes: v0 asks for all topics with an empty list, v1+ with null; v10+ can name topics by id.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createMetadataResponse,
  createMetadataResponseTopic,
  type MetadataRequest,
  type MetadataResponse,
  type MetadataResponseTopic,
} from '../../protocol/generated/metadata.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import type { TopicMetadata } from '../../storage/types.ts'
import { CLUSTER_OPERATIONS, OPERATIONS_NOT_REQUESTED, TOPIC_OPERATIONS } from '../acl-operations.ts'
import type { BrokerCore } from '../broker-core.ts'
import { describePartition, endpointFor } from '../cluster.ts'
import { defineHandler } from '../handler.ts'
import { invalidTopicName } from '../topics.ts'

export default defineHandler<MetadataRequest, MetadataResponse>({
  api,
  minVersion: 0,
  maxVersion: 12,
  async handle(ctx, req) {
    const core = ctx.broker
    const v = ctx.apiVersion
    const topicOps = req.includeTopicAuthorizedOperations ? TOPIC_OPERATIONS : OPERATIONS_NOT_REQUESTED
    const all = req.topics === null || (v === 0 && req.topics.length === 0)
    let topics: MetadataResponseTopic[]
    if (all) {
      topics = core.topics.list().map((t) => describeTopic(core, t, topicOps))
    } else {
      const autoCreate = req.allowAutoTopicCreation && core.prop('auto.create.topics.enable') === 'true'
      topics = await Promise.all((req.topics ?? []).map((t) => lookup(core, t.name, t.topicId, autoCreate, topicOps)))
    }
    return createMetadataResponse({
      brokers: core.cluster.liveNodes.map((n) => ({ nodeId: n.nodeId, ...endpointFor(n, ctx.listener), rack: n.rack })),
      clusterId: core.clusterId,
      controllerId: core.cluster.controllerId,
      topics,
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
        ? CLUSTER_OPERATIONS
        : OPERATIONS_NOT_REQUESTED,
    })
  },
})

async function lookup(
  core: BrokerCore,
  name: string | null,
  topicId: string,
  autoCreate: boolean,
  topicOps: number,
): Promise<MetadataResponseTopic> {
  if (name === null) {
    const t = core.topics.getById(topicId)
    if (t) return describeTopic(core, t, topicOps)
    return createMetadataResponseTopic({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId })
  }
  const existing = core.topics.get(name)
  if (existing) return describeTopic(core, existing, topicOps)
  if (invalidTopicName(name)) return createMetadataResponseTopic({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name })
  if (!autoCreate) return createMetadataResponseTopic({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name })
  if (core.topics.collidingTopic(name)) {
    return createMetadataResponseTopic({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name })
  }
  const created = await core.topics.getOrCreate(name, core.numberProp('num.partitions'))
  core.log.info({ topic: name, partitions: created.partitionCount }, 'auto-created topic')
  return describeTopic(core, created, topicOps)
}

/** A topic as Metadata presents it: its partitions, their leaders and replicas. */
export function describeTopic(core: BrokerCore, t: TopicMetadata, topicOps: number): MetadataResponseTopic {
  const partitions = []
  for (let i = 0; i < t.partitionCount; i++)
    partitions.push(describePartition(core.cluster, t.name, i, core.topics.knownLeaderEpoch(t.name, i)))
  return createMetadataResponseTopic({
    name: t.name,
    topicId: t.topicId ?? ZERO_UUID,
    isInternal: false,
    partitions,
    topicAuthorizedOperations: topicOps,
  })
}

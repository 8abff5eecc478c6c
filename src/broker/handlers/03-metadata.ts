// Metadata: v0-13
// Live brokers, cluster id, controller and every requested topic with its partitions, each led by
// the node the cluster view places it on (the only one unless startBroker asked for several).
// Unknown topics are created when auto.create.topics.enable is on and the request allows it (v4+),
// and answered right away instead of with LEADER_NOT_AVAILABLE.
// Version notes: v0 asks for all topics with an empty list, v1+ with null; v10+ can name topics by
// id; v13 has a top-level error (KIP-1102's REBOOTSTRAP_REQUIRED), which a broker of one cluster
// never needs to send here.
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
import { authorizedOperations } from '../acl-operations.ts'
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acls/acl-model.ts'
import { clusterAuthorized, topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { describePartition, endpointFor } from '../cluster.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { invalidTopicName } from '../topics.ts'

export default defineHandler<MetadataRequest, MetadataResponse>({
  api,
  minVersion: 0,
  maxVersion: 13,
  async handle(ctx, req) {
    const core = ctx.broker
    const v = ctx.apiVersion
    const topicOps = (name: string): number =>
      authorizedOperations(ctx, req.includeTopicAuthorizedOperations, ResourceType.TOPIC, name)
    const all = req.topics === null || (v === 0 && req.topics.length === 0)
    let topics: MetadataResponseTopic[]
    if (all) {
      // Topics the principal may not describe do not exist for it.
      topics = core.topics
        .list()
        .filter((t) => topicAuthorized(ctx, AclOperation.DESCRIBE, t.name))
        .map((t) => describeTopic(core, t, topicOps(t.name)))
    } else {
      const autoCreate = req.allowAutoTopicCreation && core.prop('auto.create.topics.enable') === 'true'
      topics = await Promise.all((req.topics ?? []).map((t) => lookup(ctx, t.name, t.topicId, autoCreate, topicOps)))
    }
    return createMetadataResponse({
      brokers: core.cluster.liveNodes.map((n) => ({ nodeId: n.nodeId, ...endpointFor(n, ctx.listener), rack: n.rack })),
      clusterId: core.clusterId,
      controllerId: core.cluster.controllerId,
      topics,
      clusterAuthorizedOperations: authorizedOperations(
        ctx,
        req.includeClusterAuthorizedOperations,
        ResourceType.CLUSTER,
        CLUSTER_NAME,
      ),
    })
  },
})

/**
 * One asked-for topic. Without DESCRIBE on it the answer is TOPIC_AUTHORIZATION_FAILED whether it
 * exists or not (Kafka), and auto-creation needs CREATE on the cluster or on the topic.
 */
async function lookup(
  ctx: RequestContext,
  name: string | null,
  topicId: string,
  autoCreate: boolean,
  topicOps: (name: string) => number,
): Promise<MetadataResponseTopic> {
  const core = ctx.broker
  const denied = (n: string | null): MetadataResponseTopic =>
    createMetadataResponseTopic({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name: n, topicId })
  if (name === null) {
    const t = core.topics.getById(topicId)
    if (t && !topicAuthorized(ctx, AclOperation.DESCRIBE, t.name)) return denied(null)
    if (t) return describeTopic(core, t, topicOps(t.name))
    return createMetadataResponseTopic({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId })
  }
  if (!topicAuthorized(ctx, AclOperation.DESCRIBE, name)) return denied(name)
  const existing = core.topics.get(name)
  if (existing) return describeTopic(core, existing, topicOps(name))
  if (invalidTopicName(name)) return createMetadataResponseTopic({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name })
  if (!autoCreate) return createMetadataResponseTopic({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name })
  if (!clusterAuthorized(ctx, AclOperation.CREATE) && !topicAuthorized(ctx, AclOperation.CREATE, name))
    return denied(name)
  if (core.topics.collidingTopic(name)) {
    return createMetadataResponseTopic({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name })
  }
  const created = await core.topics.getOrCreate(name, core.numberProp('num.partitions'))
  core.log.info({ topic: name, partitions: created.partitionCount }, 'auto-created topic')
  return describeTopic(core, created, topicOps(name))
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

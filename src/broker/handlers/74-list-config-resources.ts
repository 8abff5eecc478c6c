// ListConfigResources: v0-1 (v0 was ListClientMetricsResources, KIP-714; v1 lists any type, KIP-1142)
// The config resources that exist: v0 the client-metrics subscriptions only; v1 those of the
// types asked for, every supported type when none is: TOPIC (every topic), BROKER and
// BROKER_LOGGER (every live broker), CLIENT_METRICS (every subscription), GROUP (every group with
// group configs set). A type the version does not support answers UNSUPPORTED_VERSION.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createConfigResource,
  createListConfigResourcesResponse,
  type ListConfigResourcesRequest,
  type ListConfigResourcesResponse,
} from '../../protocol/generated/list-config-resources.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { ConfigResourceType } from '../config-alter.ts'
import { defineHandler } from '../handler.ts'

const V1_TYPES: readonly number[] = [
  ConfigResourceType.TOPIC,
  ConfigResourceType.BROKER,
  ConfigResourceType.BROKER_LOGGER,
  ConfigResourceType.CLIENT_METRICS,
  ConfigResourceType.GROUP,
]

export default defineHandler<ListConfigResourcesRequest, ListConfigResourcesResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  refuse: (ctx) =>
    clusterAuthorized(ctx, AclOperation.DESCRIBE_CONFIGS) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  async handle(ctx, req) {
    await ctx.broker.clientMetrics.refresh()
    const supported = ctx.apiVersion === 0 ? [ConfigResourceType.CLIENT_METRICS] : V1_TYPES
    const types = req.resourceTypes.length === 0 ? supported : req.resourceTypes
    if (types.some((t) => !supported.includes(t))) {
      return createListConfigResourcesResponse({ errorCode: ErrorCode.UNSUPPORTED_VERSION })
    }
    const configResources = types.flatMap((type) =>
      namesOf(ctx.broker, type).map((resourceName) => createConfigResource({ resourceName, resourceType: type })),
    )
    return createListConfigResourcesResponse({ configResources })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createListConfigResourcesResponse({ errorCode })
  },
})

function namesOf(core: BrokerCore, type: number): string[] {
  switch (type) {
    case ConfigResourceType.TOPIC:
      return core.topics.list().map((t) => t.name)
    case ConfigResourceType.BROKER:
    case ConfigResourceType.BROKER_LOGGER:
      return core.cluster.liveNodes.map((n) => String(n.nodeId))
    case ConfigResourceType.CLIENT_METRICS:
      return core.clientMetrics.names()
    case ConfigResourceType.GROUP:
      return core.groupConfigs.groupIds()
    default:
      return []
  }
}

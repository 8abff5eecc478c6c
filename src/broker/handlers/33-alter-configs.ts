// AlterConfigs: v0-2
// Replaces the whole set of overrides of each resource: a TOPIC's config overrides, or the
// dynamic BROKER configs of this node (resource name = node id) or of the cluster defaults
// (empty name), or a CLIENT_METRICS subscription's (KIP-714). Keys not listed are removed. validate_only runs every check and changes nothing.
// Unknown or invalid topic configs are INVALID_CONFIG; broker configs that cannot change at run
// time or have bad values are INVALID_REQUEST, as in Kafka (KAFKA-13609). The checks live in
// config-alter.ts, shared with IncrementalAlterConfigs.
// Version notes: v1 same as v0; v2 is flexible.
// Gaps: BROKER_LOGGER is only served by IncrementalAlterConfigs (as in Kafka); GROUP resources
// are not supported (INVALID_REQUEST).
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  api,
  createAlterConfigsResponse,
} from '../../protocol/generated/alter-configs.ts'
import { AlterConfigOp, alterConfigResources, failedResources } from '../config-alter.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<AlterConfigsRequest, AlterConfigsResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    const resources = req.resources.map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      changes: r.configs.map((c) => ({ name: c.name, op: AlterConfigOp.SET, value: c.value })),
    }))
    const responses = await alterConfigResources(ctx, resources, 'replace', req.validateOnly)
    return createAlterConfigsResponse({ responses })
  },
  errorResponse(_ctx, req, errorCode) {
    return createAlterConfigsResponse({ responses: failedResources(req.resources, errorCode) })
  },
})

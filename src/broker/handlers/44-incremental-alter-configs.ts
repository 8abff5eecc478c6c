// IncrementalAlterConfigs: v0-1
// Changes single keys of each resource with SET, DELETE, APPEND or SUBTRACT (the last two only
// for LIST configs such as cleanup.policy; an unset list starts from its default). Resources:
// TOPIC overrides; the dynamic BROKER configs of this node (name = node id) or of the cluster
// defaults (empty name), persisted and applied to every topic without its own override; and
// BROKER_LOGGER with the single logger "root" (the broker's log level, not persisted, KIP-412).
// CLIENT_METRICS: telemetry subscriptions (metrics, interval.ms, match; KIP-714), persisted, a
// subscription with no config left deleted; unknown configs and intervals outside 100 ms-1 h
// INVALID_REQUEST, bad match selectors INVALID_CONFIG, as Kafka's ClientMetricsConfigs.
// validate_only runs every check and changes nothing. Errors as in AlterConfigs (config-alter.ts).
// Version notes: v1 is flexible.
// Gaps: GROUP resources are not supported (INVALID_REQUEST).
import {
  api,
  createIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../protocol/generated/incremental-alter-configs.ts'
import { alterConfigResources, failedResources } from '../config-alter.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req) {
    const resources = req.resources.map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      changes: r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value })),
    }))
    const responses = await alterConfigResources(ctx, resources, 'incremental', req.validateOnly)
    return createIncrementalAlterConfigsResponse({ responses })
  },
  errorResponse(_ctx, req, errorCode) {
    return createIncrementalAlterConfigsResponse({ responses: failedResources(req.resources, errorCode) })
  },
})

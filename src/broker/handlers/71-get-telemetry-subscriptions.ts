// GetTelemetrySubscriptions: v0 (KIP-714)
// Gives a client that sends the zero UUID its client instance id, and any client the
// subscription matching it: requested metric prefixes ("*" for all), push interval, an id that
// changes with them, the compression types accepted (zstd, lz4, gzip, snappy), telemetry.max.bytes
// and delta temporality. Asked again before its push interval passed: THROTTLING_QUOTA_EXCEEDED,
// unless its last push was refused UNKNOWN_SUBSCRIPTION_ID or UNSUPPORTED_COMPRESSION_TYPE.
// Gaps: Kafka advertises the telemetry APIs only with a telemetry receiver plugin; samsa always
// does (clients push only what a subscription asks for, and without an HTTP port the broker
// drops it). Logic: telemetry/client-telemetry.ts.
import {
  api,
  createGetTelemetrySubscriptionsResponse,
  type GetTelemetrySubscriptionsRequest,
  type GetTelemetrySubscriptionsResponse,
} from '../../protocol/generated/get-telemetry-subscriptions.ts'
import { defineHandler } from '../handler.ts'
import { clientAttributes } from '../telemetry/client-attributes.ts'

export default defineHandler<GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req) {
    await ctx.broker.clientMetrics.refresh()
    const answer = ctx.broker.telemetry.getSubscriptions(req.clientInstanceId, clientAttributes(ctx))
    return createGetTelemetrySubscriptionsResponse(answer)
  },
  errorResponse(_ctx, _req, errorCode) {
    return createGetTelemetrySubscriptionsResponse({ errorCode })
  },
})

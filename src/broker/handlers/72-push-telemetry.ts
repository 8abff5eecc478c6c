// PushTelemetry: v0 (KIP-714)
// A client's metrics (OTLP protobuf, compressed with one of the accepted types or none), sent
// every push interval and once more when it closes (terminating). Checked in Kafka's order:
// a reserved instance id or a push after the terminating one INVALID_REQUEST; before the push
// interval passed THROTTLING_QUOTA_EXCEEDED (not the first push after GetTelemetrySubscriptions,
// nor a terminating one); a subscription id that is not the client's current one
// UNKNOWN_SUBSCRIPTION_ID; an unknown compression type UNSUPPORTED_COMPRESSION_TYPE; more than
// telemetry.max.bytes TELEMETRY_TOO_LARGE; metrics that cannot be decompressed or decoded
// INVALID_RECORD. Accepted metrics appear on /metrics. Logic: telemetry/client-telemetry.ts.
import {
  api,
  createPushTelemetryResponse,
  type PushTelemetryRequest,
  type PushTelemetryResponse,
} from '../../protocol/generated/push-telemetry.ts'
import { defineHandler } from '../handler.ts'
import { clientAttributes } from '../telemetry/client-attributes.ts'

export default defineHandler<PushTelemetryRequest, PushTelemetryResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req) {
    await ctx.broker.clientMetrics.refresh()
    const errorCode = await ctx.broker.telemetry.push(req, clientAttributes(ctx))
    return createPushTelemetryResponse({ errorCode })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createPushTelemetryResponse({ errorCode })
  },
})

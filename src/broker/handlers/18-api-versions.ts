// ApiVersions: v0-5
// Lists exactly the APIs and versions this broker's handlers serve. A request in a version we
// do not know never reaches this handler: the dispatcher answers it in v0 with
// UNSUPPORTED_VERSION so the client can retry with a version from the list. The client software
// name and version (v3+) are kept for client telemetry's match selectors (KIP-714). v3+ report
// the feature flags (features.ts) at their finalized levels and epoch (feature-store.ts, which
// UpdateFeatures changes): transaction.version 2 (KIP-890 part 2), group.version 1 (KIP-848),
// share.version 1, share groups being served. From v5 a
// client names the cluster and node it means to reach (KIP-1242): another one answers
// REBOOTSTRAP_REQUIRED, so a client whose addresses now lead elsewhere bootstraps again.

import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type ApiVersionsRequest,
  type ApiVersionsResponse,
  api,
  createApiVersionsResponse,
} from '../../protocol/generated/api-versions.ts'
import { featureFields } from '../features.ts'
import { defineHandler } from '../handler.ts'
import { rememberClientSoftware } from '../telemetry/client-attributes.ts'

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req) {
    rememberClientSoftware(ctx.connection, req.clientSoftwareName, req.clientSoftwareVersion)
    const named = req.clusterId !== null && req.nodeId >= 0
    if (named && (req.clusterId !== ctx.broker.clusterId || req.nodeId !== ctx.nodeId)) {
      return createApiVersionsResponse({ errorCode: ErrorCode.REBOOTSTRAP_REQUIRED })
    }
    const features = featureFields(ctx.apiVersion, ctx.broker.features)
    return createApiVersionsResponse({ apiKeys: ctx.broker.apiVersions, ...features })
  },
})

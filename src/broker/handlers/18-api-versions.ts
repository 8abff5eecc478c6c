// ApiVersions: v0-4
// Lists exactly the APIs and versions this broker's handlers serve. A request in a version we
// do not know never reaches this handler: the dispatcher answers it in v0 with
// UNSUPPORTED_VERSION so the client can retry with a version from the list. The client software
// name and version (v3+) are kept for client telemetry's match selectors (KIP-714).
import {
  type ApiVersionsRequest,
  type ApiVersionsResponse,
  api,
  createApiVersionsResponse,
} from '../../protocol/generated/api-versions.ts'
import { defineHandler } from '../handler.ts'
import { rememberClientSoftware } from '../telemetry/client-attributes.ts'

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req) {
    rememberClientSoftware(ctx.connection, req.clientSoftwareName, req.clientSoftwareVersion)
    return createApiVersionsResponse({ apiKeys: ctx.broker.apiVersions })
  },
})

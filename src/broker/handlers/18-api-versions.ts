// ApiVersions: v0-4
// Lists exactly the APIs and versions this broker's handlers serve. A request in a version we
// do not know never reaches this handler: the dispatcher answers it in v0 with
// UNSUPPORTED_VERSION so the client can retry with a version from the list.
import {
  type ApiVersionsRequest,
  type ApiVersionsResponse,
  createApiVersionsResponse,
} from '../../protocol/generated/api-versions.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx) {
    return createApiVersionsResponse({ apiKeys: ctx.broker.apiVersions })
  },
})

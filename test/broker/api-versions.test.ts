/**
 * ApiVersions advertises what the handlers serve and nothing else: not a version or an API just
 * because the generated codecs know it (they know every version of both spec sets, unstable ones
 * included), and never a version the specs mark unstable.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { apiVersionRanges } from '../../src/broker/dispatch.ts'
import { HANDLERS } from '../../src/broker/handlers/index.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import * as generated from '../../src/protocol/generated/index.ts'
import { API_DESCRIPTORS, API_INFO, ApiKey } from '../../src/protocol/generated/index.ts'
import { RawClient } from '../helpers/raw-client.ts'

describe('ApiVersions', () => {
  let broker: Broker
  before(async () => {
    broker = await startBroker()
  })
  after(() => broker.close())

  test('lists exactly the handlers and their versions, in every ApiVersions version', async () => {
    const client = await RawClient.connect(broker.port)
    try {
      for (const version of [0, 3]) {
        const res = await client.send<ApiVersionsResponse>(ApiKey.ApiVersions, version, createApiVersionsRequest())
        assert.equal(res.errorCode, 0)
        assert.deepEqual(
          res.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
          apiVersionRanges(HANDLERS).map((k) => [k.apiKey, k.minVersion, k.maxVersion]),
          `ApiVersions v${version}`,
        )
      }
    } finally {
      await client.close()
    }
  })

  test('v3+ report transaction.version 2, group.version 1 and share.version 1 finalized; v3 leaves out features supported from version 0', async () => {
    const client = await RawClient.connect(broker.port)
    try {
      const v4 = await client.send<ApiVersionsResponse>(ApiKey.ApiVersions, 4, createApiVersionsRequest())
      const supported = new Map(v4.supportedFeatures.map((f) => [f.name, [f.minVersion, f.maxVersion]]))
      assert.deepEqual(supported.get('transaction.version'), [0, 2])
      assert.deepEqual(supported.get('group.version'), [0, 1])
      assert.deepEqual(supported.get('share.version'), [0, 1])
      const finalized = new Map(v4.finalizedFeatures.map((f) => [f.name, [f.minVersionLevel, f.maxVersionLevel]]))
      assert.deepEqual(finalized.get('transaction.version'), [2, 2])
      assert.deepEqual(finalized.get('group.version'), [1, 1])
      assert.deepEqual(finalized.get('share.version'), [1, 1])
      assert.deepEqual(
        [...finalized.keys()].filter((name) => !supported.has(name)),
        [],
        'only supported features are finalized',
      )
      assert.ok(v4.finalizedFeaturesEpoch >= 1n)
      const v3 = await client.send<ApiVersionsResponse>(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      assert.deepEqual(v3.supportedFeatures, [])
      assert.deepEqual(v3.finalizedFeatures, v4.finalizedFeatures)
    } finally {
      await client.close()
    }
  })

  test('every handler serves versions its codecs know, none of them unstable', () => {
    for (const h of HANDLERS) {
      const info = API_INFO.find((a) => a.apiKey === h.api.apiKey)
      assert.ok(info, `no codecs for key ${h.api.apiKey}`)
      assert.ok(h.minVersion >= info.minVersion && h.minVersion <= h.maxVersion, `${info.name} min ${h.minVersion}`)
      assert.ok(
        h.maxVersion <= info.maxStableVersion,
        `${info.name} serves v${h.maxVersion}, above its last stable version ${info.maxStableVersion}`,
      )
    }
  })

  test('a version the codecs know but no handler serves is refused like an unknown one', async () => {
    const served = new Map(HANDLERS.map((h) => [h.api.apiKey, h.maxVersion]))
    // ApiVersions itself answers UNSUPPORTED_VERSION instead (test/server/server.test.ts).
    const beyond = API_DESCRIPTORS.filter(
      (a) => a.apiKey !== ApiKey.ApiVersions && (served.get(a.apiKey) ?? -1) < a.maxVersion,
    )
    assert.ok(beyond.length > 0, 'the codecs know versions nothing serves yet')
    const modules = generated as unknown as Record<string, Record<string, unknown>>
    for (const api of beyond) {
      const version = Math.max(api.minVersion, (served.get(api.apiKey) ?? -1) + 1)
      const create = modules[api.name.charAt(0).toLowerCase() + api.name.slice(1)]?.[`create${api.name}Request`]
      assert.equal(typeof create, 'function', api.name)
      const client = await RawClient.connect(broker.port)
      // The broker closes the connection, as for any version it does not serve.
      await assert.rejects(
        client.send(api.apiKey, version, (create as () => unknown)()),
        /connection closed|ECONNRESET/,
        `${api.name} v${version}`,
      )
      await client.close()
    }
  })
})

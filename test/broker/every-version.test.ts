/**
 * Every version ApiVersions advertises is served: each API, in each of its advertised versions,
 * gets a request at the spec's defaults on a connection of its own, and the broker answers it
 * with a response that decodes in that version (errors are fine: an empty request names nothing)
 * and goes on serving the next. The APIs' behaviour is tested elsewhere; this keeps a version
 * from being advertised without a handler path that answers it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { API_DESCRIPTORS, ApiKey } from '../../src/protocol/generated/index.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { defaultMessage, loadSpec } from '../protocol/spec-values.ts'

const ANSWER_MS = 10_000

/** Defaults that would get no answer: Produce's acks defaults to 0, which Kafka never answers. */
const OVERRIDES: Partial<Record<number, Record<string, unknown>>> = { [ApiKey.Produce]: { acks: -1 } }

describe('every advertised version', () => {
  let broker: Broker
  before(async () => {
    broker = await startBroker()
  })
  after(() => broker.close())

  test('answers a request at the spec defaults with a response of that version', async () => {
    const probe = await RawClient.connect(broker.port)
    const { apiKeys } = await probe
      .send<ApiVersionsResponse>(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      .finally(() => probe.close())
    const failures: string[] = []
    let answered = 0
    for (const { apiKey, minVersion, maxVersion } of apiKeys) {
      const api = API_DESCRIPTORS.find((d) => d.apiKey === apiKey)
      assert.ok(api, `advertised API ${apiKey} has codecs`)
      const request = { ...defaultMessage(loadSpec(`${api.name}Request`)), ...OVERRIDES[apiKey] }
      for (let version = minVersion; version <= maxVersion; version++) {
        const client = await RawClient.connect(broker.port)
        let timer: NodeJS.Timeout | undefined
        try {
          const response = await Promise.race([
            client.send(apiKey, version, request),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer in ${ANSWER_MS} ms`)), ANSWER_MS)
            }),
          ])
          assert.equal(typeof response, 'object')
          answered++
        } catch (err) {
          failures.push(`${api.name} v${version}: ${(err as Error).message}`)
        } finally {
          clearTimeout(timer)
          await client.close()
        }
      }
    }
    assert.deepEqual(failures, [])
    assert.equal(
      answered,
      apiKeys.reduce((n, k) => n + k.maxVersion - k.minVersion + 1, 0),
    )
  })
})

/**
 * request_percentage quotas (KIP-124): the event loop's time spent on a client's requests counts
 * against its quota, and a client over it gets throttle_time_ms in its responses while its
 * connection reads nothing for that long (KIP-219); another client at the same time is not
 * slowed, and ApiVersions is never throttled. Metadata for every topic of a broker with many
 * topics makes requests that cost the broker time; through raw requests and a kafkajs admin.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasRequest,
} from '../../src/protocol/generated/alter-client-quotas.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import type { Connection } from '../../src/server/connection.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

const TOPICS = 1500
/** Timers may fire a little before Date.now() says they should. */
const SLACK_MS = 5
const DEADLINE_MS = 120_000

/** A Metadata request the broker answered for the kafkajs admin, when it arrived and on which connection. */
interface Seen {
  arrivedAt: number
  connection: Connection
  response: { throttleTimeMs: number }
}

describe('request_percentage quotas', () => {
  let broker: Broker
  const kafkajsMetadata: Seen[] = []
  before(async () => {
    broker = await startBroker({
      dispatchHook: async (call) => {
        const arrivedAt = Date.now()
        const response = await call.next()
        // The same object is encoded after the throttle is set on it.
        if (call.clientId === 'greedy-kafkajs' && call.apiKey === ApiKey.Metadata) {
          kafkajsMetadata.push({ arrivedAt, connection: call.ctx.connection, response: response as Seen['response'] })
        }
        return response
      },
    })
    for (let i = 0; i < TOPICS; i++) await broker.core.topics.create(`busy-${i}`, 1, {})
    const admin = await RawClient.connect(broker.port)
    try {
      const quota = (clientId: string, value: number) => ({
        entity: [{ entityType: 'client-id', entityName: clientId }],
        ops: [{ key: 'request_percentage', value, remove: false }],
      })
      const set = await admin.send<AlterClientQuotasResponse>(
        ApiKey.AlterClientQuotas,
        1,
        createAlterClientQuotasRequest({
          entries: [quota('greedy', 1), quota('greedy-kafkajs', 1), quota('modest', 1000)],
          validateOnly: false,
        }),
      )
      assert.deepEqual(
        set.entries.map((e) => e.errorCode),
        [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE],
      )
    } finally {
      await admin.close()
    }
  })
  after(() => broker?.close())

  const allTopics = (client: RawClient) =>
    client.send<MetadataResponse>(ApiKey.Metadata, 12, createMetadataRequest({ topics: null }))

  test('a client over request_percentage is throttled and muted; another client at the same time is not', async () => {
    const greedy = await RawClient.connect(broker.port, '127.0.0.1', 'greedy')
    const modest = await RawClient.connect(broker.port, '127.0.0.1', 'modest')
    try {
      let throttled: { throttleMs: number; sentAt: number } | undefined
      const modestThrottles: number[] = []
      const deadline = Date.now() + DEADLINE_MS
      const greedyLoop = async () => {
        while (throttled === undefined && Date.now() < deadline) {
          const sentAt = Date.now()
          const res = await allTopics(greedy)
          assert.equal(res.topics.length, TOPICS)
          if (res.throttleTimeMs > 0) throttled = { throttleMs: res.throttleTimeMs, sentAt }
        }
      }
      const modestLoop = async () => {
        while ((throttled === undefined || modestThrottles.length < 10) && Date.now() < deadline) {
          modestThrottles.push((await allTopics(modest)).throttleTimeMs)
        }
      }
      await Promise.all([greedyLoop(), modestLoop()])
      assert.ok(throttled, 'the greedy client was throttled')
      assert.ok(throttled.throttleMs <= 1000, `throttled ${throttled.throttleMs} ms: at most one window`)
      assert.ok(modestThrottles.length >= 10, `the modest client was served (${modestThrottles.length})`)
      assert.deepEqual(
        modestThrottles.filter((ms) => ms > 0),
        [],
        'the modest client was never throttled',
      )
      // The connection read nothing until the throttle time was over, even for ApiVersions,
      // which is exempt from the quota itself.
      const versions = await greedy.send<ApiVersionsResponse>(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      const waited = Date.now() - throttled.sentAt
      assert.ok(waited >= throttled.throttleMs - SLACK_MS, `answered after ${waited} ms of ${throttled.throttleMs}`)
      assert.equal(versions.throttleTimeMs, 0, 'ApiVersions carries no throttle of its own')
    } finally {
      await Promise.all([greedy.close(), modest.close()])
    }
  })

  test('a kafkajs admin over request_percentage is throttled and its next request waits the throttle out', async () => {
    const admin = kafkajsClient(broker.bootstrap, { clientId: 'greedy-kafkajs' }).admin()
    await admin.connect()
    try {
      const deadline = Date.now() + DEADLINE_MS
      const firstThrottled = () => kafkajsMetadata.findIndex((s) => s.response.throttleTimeMs > 0)
      while (firstThrottled() < 0 && Date.now() < deadline) {
        const { topics } = await admin.fetchTopicMetadata()
        assert.equal(topics.length, TOPICS)
      }
      const i = firstThrottled()
      assert.ok(i >= 0, 'a Metadata response to kafkajs carried a throttle time')
      const throttledOne = kafkajsMetadata[i] as Seen
      // kafkajs spreads requests over its bootstrap and broker connections: go on until one
      // follows on the throttled connection.
      const nextOnConnection = () => kafkajsMetadata.slice(i + 1).find((s) => s.connection === throttledOne.connection)
      while (nextOnConnection() === undefined && Date.now() < deadline) await admin.fetchTopicMetadata()
      const next = nextOnConnection()
      assert.ok(next, 'another Metadata request came on the throttled connection')
      const gap = next.arrivedAt - throttledOne.arrivedAt
      const throttleMs = throttledOne.response.throttleTimeMs
      assert.ok(gap >= throttleMs - SLACK_MS, `next request on that connection after ${gap} ms of ${throttleMs}`)
    } finally {
      await admin.disconnect()
    }
  })
})

/**
 * Client quotas: AlterClientQuotas and DescribeClientQuotas through @platformatic/kafka's admin
 * (and the Java admin client in test/e2e/java-client), with Kafka's validation; and the byte
 * rates enforced: a kafkajs producer over its producer_byte_rate is held to it (at most 10% over)
 * over 10 s while a producer without a quota goes on unslowed; a fetch returns at most one window
 * of consumer_byte_rate, and over it answers no records, a throttle time and mutes its connection
 * for it (KIP-219); connections from an address over its connection_creation_rate are held and
 * closed unserved (KIP-612).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Producer } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type AlterClientQuotasResponse,
  createAlterClientQuotasRequest,
} from '../../src/protocol/generated/alter-client-quotas.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import {
  createDescribeClientQuotasRequest,
  type DescribeClientQuotasResponse,
} from '../../src/protocol/generated/describe-client-quotas.ts'
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchResponse,
} from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const QUOTA = 200_000
const VALUE = Buffer.alloc(10_000, 'q')

describe('client quotas', () => {
  let broker: Broker
  let raw: RawClient
  before(async () => {
    broker = await startBroker({ config: { 'quota.window.num': '2', 'quota.window.size.seconds': '1' } })
    raw = await RawClient.connect(broker.port)
  })
  after(async () => {
    await raw.close()
    await broker.close()
  })

  const alter = (entries: Parameters<typeof createAlterClientQuotasRequest>[0]) =>
    raw.send<AlterClientQuotasResponse>(ApiKey.AlterClientQuotas, 1, createAlterClientQuotasRequest(entries))

  test('@platformatic/kafka alters and describes quotas: exact, default and any matches, strict filters', async (t) => {
    const { Admin } = await platformatic()
    const admin = new Admin({ clientId: 'quota-admin', bootstrapBrokers: [broker.bootstrap] })
    t.after(() => admin.close())
    const answers = await admin.alterClientQuotas({
      entries: [
        {
          entities: [{ entityType: 'user', entityName: 'alice' }],
          ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }],
        },
        {
          entities: [
            { entityType: 'user', entityName: 'alice' },
            { entityType: 'client-id', entityName: 'app' },
          ],
          ops: [{ key: 'consumer_byte_rate', value: 2048, remove: false }],
        },
        {
          entities: [{ entityType: 'user', entityName: null }],
          ops: [{ key: 'request_percentage', value: 50, remove: false }],
        },
      ],
    })
    assert.deepEqual(
      answers.map((a) => a.errorCode),
      [0, 0, 0],
    )
    const describeUser = (matchType: 0 | 1 | 2, match?: string, strict = false) =>
      admin.describeClientQuotas({
        components: [
          matchType === 0
            ? { entityType: 'user', matchType, match: match as string }
            : { entityType: 'user', matchType },
        ],
        strict,
      })
    const shape = (entries: Awaited<ReturnType<typeof describeUser>>) =>
      entries
        .map(
          (e) =>
            `${e.entity.map((x) => `${x.entityType}=${x.entityName}`).join(',')} ${e.values.map((v) => `${v.key}=${v.value}`).join(',')}`,
        )
        .sort()
    assert.deepEqual(shape(await describeUser(0, 'alice')), [
      'user=alice producer_byte_rate=1024',
      'user=alice,client-id=app consumer_byte_rate=2048',
    ])
    assert.deepEqual(shape(await describeUser(0, 'alice', true)), ['user=alice producer_byte_rate=1024'])
    assert.deepEqual(shape(await describeUser(1)), ['user=null request_percentage=50'])
    assert.equal((await describeUser(2)).length, 3, 'any user, the default included')

    // Removing the last value removes the entity.
    await admin.alterClientQuotas({
      entries: [
        { entities: [{ entityType: 'user', entityName: null }], ops: [{ key: 'request_percentage', remove: true }] },
      ],
    })
    assert.deepEqual(shape(await describeUser(1)), [])
  })

  test("invalid entities, keys and values are refused per entry with Kafka's INVALID_REQUEST; valid ones in the same request apply", async () => {
    const res = await alter({
      entries: [
        { entity: [], ops: [] },
        { entity: [{ entityType: 'group', entityName: 'g' }], ops: [] },
        {
          entity: [
            { entityType: 'ip', entityName: '10.0.0.1' },
            { entityType: 'user', entityName: 'bob' },
          ],
          ops: [],
        },
        { entity: [{ entityType: 'ip', entityName: 'not-an-ip' }], ops: [] },
        {
          entity: [{ entityType: 'user', entityName: 'bob' }],
          ops: [{ key: 'no_such_rate', value: 1, remove: false }],
        },
        {
          entity: [{ entityType: 'user', entityName: 'bob' }],
          ops: [{ key: 'producer_byte_rate', value: 0, remove: false }],
        },
        {
          entity: [{ entityType: 'user', entityName: 'bob' }],
          ops: [{ key: 'producer_byte_rate', value: 1.5, remove: false }],
        },
        {
          entity: [{ entityType: 'ip', entityName: '10.0.0.1' }],
          ops: [{ key: 'producer_byte_rate', value: 5, remove: false }],
        },
        {
          entity: [{ entityType: 'ip', entityName: '10.0.0.1' }],
          ops: [{ key: 'connection_creation_rate', value: 5, remove: false }],
        },
      ],
      validateOnly: false,
    })
    assert.deepEqual(
      res.entries.map((e) => e.errorCode),
      [...Array(8).fill(ErrorCode.INVALID_REQUEST), ErrorCode.NONE],
    )
    assert.match(res.entries[4]?.errorMessage ?? '', /Invalid configuration key no_such_rate/)
    assert.match(res.entries[5]?.errorMessage ?? '', /must be greater than 0/)
    assert.match(res.entries[6]?.errorMessage ?? '', /fractional/)
    const described = await raw.send<DescribeClientQuotasResponse>(
      ApiKey.DescribeClientQuotas,
      1,
      createDescribeClientQuotasRequest({
        components: [{ entityType: 'ip', matchType: 2, match: null }],
        strict: false,
      }),
    )
    assert.deepEqual(
      described.entries?.map((e) => e.entity.map((x) => x.entityName)),
      [['10.0.0.1']],
    )
    const unknownType = await raw.send<DescribeClientQuotasResponse>(
      ApiKey.DescribeClientQuotas,
      1,
      createDescribeClientQuotasRequest({ components: [{ entityType: 'group', matchType: 2, match: null }] }),
    )
    assert.equal(unknownType.errorCode, ErrorCode.UNSUPPORTED_VERSION)
    const mixed = await raw.send<DescribeClientQuotasResponse>(
      ApiKey.DescribeClientQuotas,
      1,
      createDescribeClientQuotasRequest({
        components: [
          { entityType: 'ip', matchType: 2, match: null },
          { entityType: 'user', matchType: 2, match: null },
        ],
      }),
    )
    assert.equal(mixed.errorCode, ErrorCode.INVALID_REQUEST)
  })

  test('a producer over producer_byte_rate is held to it (at most 10% over, 20% under, over 10 s); a client without a quota is not slowed', async () => {
    const set = await alter({
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'throttled' }],
          ops: [{ key: 'producer_byte_rate', value: QUOTA, remove: false }],
        },
      ],
      validateOnly: false,
    })
    assert.equal(set.entries[0]?.errorCode, ErrorCode.NONE)
    await broker.core.topics.create('quota-topic', 1, {})
    /**
     * Produces 20 KB requests as fast as acknowledged, until stopped or `limit` bytes are sent;
     * counts the bytes acknowledged at each moment.
     */
    const run = (clientId: string, limit = Number.POSITIVE_INFINITY) => {
      const producer: Producer = kafkajsClient(broker.bootstrap, { clientId }).producer()
      const acked: [number, number][] = []
      let stop = false
      const done = (async () => {
        await producer.connect()
        let total = 0
        acked.push([Date.now(), 0])
        while (!stop && total < limit) {
          await producer.send({ topic: 'quota-topic', acks: 1, messages: [{ value: VALUE }, { value: VALUE }] })
          total += 2 * VALUE.length
          acked.push([Date.now(), total])
        }
        await producer.disconnect()
      })()
      return {
        acked,
        done,
        async stop() {
          stop = true
          await done
        },
      }
    }
    const throttled = run('throttled')
    // 4 MB, enough to show its rate beside the throttled one, without filling the broker's memory.
    const free = run('free', 4_000_000)
    try {
      // The first windows let a burst through, as Kafka's do; measure once the rate holds.
      await new Promise((resolve) => setTimeout(resolve, 3000))
      const start = Date.now()
      const at = (series: [number, number][], time: number) => series.filter(([t]) => t <= time).at(-1)?.[1] ?? 0
      const t0 = at(throttled.acked, start)
      await new Promise((resolve) => setTimeout(resolve, 10_000))
      const end = Date.now()
      const throttledRate = (at(throttled.acked, end) - t0) / ((end - start) / 1000)
      await free.done
      const [first, last] = [free.acked[0] as [number, number], free.acked.at(-1) as [number, number]]
      const freeRate = (last[1] - first[1]) / ((last[0] - first[0]) / 1000)
      console.log(
        `# producer_byte_rate ${QUOTA} B/s: throttled ${Math.round(throttledRate)} B/s, unthrottled ${Math.round(freeRate)} B/s`,
      )
      // At most 10% over; under, a loaded machine's delays add to the throttle (each send waits for the last).
      assert.ok(
        throttledRate <= QUOTA * 1.1 && throttledRate >= QUOTA * 0.8,
        `throttled producer at ${Math.round(throttledRate)} B/s, quota ${QUOTA} B/s`,
      )
      assert.ok(freeRate > 3 * QUOTA, `the producer without a quota ran at ${Math.round(freeRate)} B/s`)
    } finally {
      await Promise.all([throttled.stop(), free.stop()])
    }
  })

  test('a fetch gets at most one window of consumer_byte_rate; over it, no records, a throttle time and a muted connection', async (t) => {
    // Kafka's default windows (11 of 1 s), so that one response's bytes spread over ten seconds.
    const own = await startBroker()
    t.after(() => own.close())
    const ownRaw = await RawClient.connect(own.port)
    t.after(() => ownRaw.close())
    const set = await ownRaw.send<AlterClientQuotasResponse>(
      ApiKey.AlterClientQuotas,
      1,
      createAlterClientQuotasRequest({
        entries: [
          {
            entity: [{ entityType: 'client-id', entityName: null }],
            ops: [{ key: 'consumer_byte_rate', value: 20_000, remove: false }],
          },
        ],
        validateOnly: false,
      }),
    )
    assert.equal(set.entries[0]?.errorCode, ErrorCode.NONE)
    await own.core.topics.create('quota-fetch', 1, {})
    const writer = kafkajsClient(own.bootstrap, { clientId: 'writer' }).producer()
    await writer.connect()
    try {
      for (let i = 0; i < 6; i++) {
        await writer.send({
          topic: 'quota-fetch',
          acks: 1,
          messages: Array.from({ length: 10 }, () => ({ value: VALUE })),
        })
      }
    } finally {
      await writer.disconnect()
    }
    const fetch = () =>
      ownRaw.send<FetchResponse>(
        ApiKey.Fetch,
        12,
        createFetchRequest({
          maxWaitMs: 0,
          maxBytes: 4 << 20,
          topics: [
            createFetchTopic({
              topic: 'quota-fetch',
              partitions: [createFetchPartition({ partition: 0, fetchOffset: 0n, partitionMaxBytes: 4 << 20 })],
            }),
          ],
        }),
      )
    const recordBytes = (res: FetchResponse) => res.responses[0]?.partitions[0]?.records?.length ?? 0
    // 20 000 B in a window, and a batch of 100 kB returned whole (KIP-74): one batch, not all six.
    const first = await fetch()
    assert.ok(recordBytes(first) >= 100_000 && recordBytes(first) < 200_000, `read ${recordBytes(first)} bytes`)
    let throttled: { res: FetchResponse; sentAt: number } | undefined
    for (let i = 0; i < 10 && throttled === undefined; i++) {
      const sentAt = Date.now()
      const res = await fetch()
      if (res.throttleTimeMs > 0) throttled = { res, sentAt }
      else assert.ok(recordBytes(res) < 200_000, `read ${recordBytes(res)} bytes`)
    }
    assert.ok(throttled, 'a fetch over the quota says how long to hold back')
    assert.equal(recordBytes(throttled.res), 0, 'a throttled fetch returns no records')
    await fetch()
    const waited = Date.now() - throttled.sentAt
    assert.ok(waited >= throttled.res.throttleTimeMs - 5, `the next request waited ${waited} ms`)

    // A kafkajs consumer held to 50 000 B/s (its client id's own quota) still reads every record.
    await ownRaw.send<AlterClientQuotasResponse>(
      ApiKey.AlterClientQuotas,
      1,
      createAlterClientQuotasRequest({
        entries: [
          {
            entity: [{ entityType: 'client-id', entityName: 'reader' }],
            ops: [{ key: 'consumer_byte_rate', value: 50_000, remove: false }],
          },
        ],
        validateOnly: false,
      }),
    )
    const consumer = kafkajsClient(own.bootstrap, { clientId: 'reader' }).consumer({ groupId: 'quota-readers' })
    t.after(() => consumer.disconnect())
    await consumer.connect()
    await consumer.subscribe({ topic: 'quota-fetch', fromBeginning: true })
    let read = 0
    await consumer.run({
      eachMessage: async () => {
        read++
      },
    })
    await waitUntil('the consumer read all 60 records', () => read === 60, { timeoutMs: 90_000 })
  })

  // Last: it throttles new connections from this machine while its quota is set.
  test('connections from an address over its connection_creation_rate are closed unserved, then served again', async () => {
    const set = await alter({
      entries: [
        {
          entity: [{ entityType: 'ip', entityName: '127.0.0.1' }],
          ops: [{ key: 'connection_creation_rate', value: 2, remove: false }],
        },
      ],
      validateOnly: false,
    })
    assert.equal(set.entries[0]?.errorCode, ErrorCode.NONE)
    /** Whether a new connection gets an ApiVersions answer. */
    const served = async (): Promise<boolean> => {
      const client = await RawClient.connect(broker.port, '127.0.0.1')
      try {
        await client.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
        return true
      } catch {
        return false
      } finally {
        await client.close()
      }
    }
    // Ten at once: within one window, two fit the rate.
    const results = await Promise.all(Array.from({ length: 10 }, served))
    const accepted = results.filter(Boolean).length
    assert.ok(accepted >= 1 && accepted <= 3, `${accepted} of 10 simultaneous connections served at 2 per second`)
    // Once the rate's windows have passed, the address is served again.
    await waitUntil('a new connection is served', served, { timeoutMs: 10_000 })
    const removed = await alter({
      entries: [
        {
          entity: [{ entityType: 'ip', entityName: '127.0.0.1' }],
          ops: [{ key: 'connection_creation_rate', value: 0, remove: true }],
        },
      ],
      validateOnly: false,
    })
    assert.equal(removed.entries[0]?.errorCode, ErrorCode.NONE)
  })
})

/**
 * Client telemetry (KIP-714) over raw requests: client-metrics subscriptions managed through
 * IncrementalAlterConfigs, DescribeConfigs and ListConfigResources (v0 and v1) with Kafka's
 * validation, GetTelemetrySubscriptions and PushTelemetry v0 with each error Kafka answers, pushed
 * OTLP metrics under every compression type on /metrics with the client's labels, the limits on
 * clients and series, expiry of clients that stopped pushing, and subscriptions kept across
 * restarts and seen by every broker of a cluster over PostgreSQL.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type AlterConfigsResponse, createAlterConfigsRequest } from '../../src/protocol/generated/alter-configs.ts'
import type { ApiVersionsResponse } from '../../src/protocol/generated/api-versions.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import {
  createDescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../src/protocol/generated/describe-configs.ts'
import {
  createGetTelemetrySubscriptionsRequest,
  type GetTelemetrySubscriptionsResponse,
} from '../../src/protocol/generated/get-telemetry-subscriptions.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createListConfigResourcesRequest,
  type ListConfigResourcesResponse,
} from '../../src/protocol/generated/list-config-resources.ts'
import { createPushTelemetryRequest, type PushTelemetryResponse } from '../../src/protocol/generated/push-telemetry.ts'
import {
  COMPRESSION_NAMES,
  Compression,
  type CompressionCodec,
  compressSync,
} from '../../src/protocol/records/compression.ts'
import { ZERO_UUID } from '../../src/protocol/wire/uuid.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { otlpPayload } from '../helpers/otlp.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { tempDir } from '../storage/helpers.ts'

const CLIENT_METRICS = 16
const SET = 0
const APPEND = 2
const DELETE = 1

type Change = [name: string, value: string | null, op?: number]

async function alter(client: RawClient, name: string, changes: Change[], version = 1): Promise<[number, string]> {
  const res = await client.send<IncrementalAlterConfigsResponse>(
    ApiKey.IncrementalAlterConfigs,
    version,
    createIncrementalAlterConfigsRequest({
      resources: [
        {
          resourceType: CLIENT_METRICS,
          resourceName: name,
          configs: changes.map(([n, value, op]) => ({ name: n, value, configOperation: op ?? SET })),
        },
      ],
    }),
  )
  const r = res.responses[0]
  assert.ok(r)
  return [r.errorCode, r.errorMessage ?? '']
}

async function describeSubscription(client: RawClient, name: string, version = 4) {
  const res = await client.send<DescribeConfigsResponse>(
    ApiKey.DescribeConfigs,
    version,
    createDescribeConfigsRequest({
      resources: [{ resourceType: CLIENT_METRICS, resourceName: name, configurationKeys: null }],
    }),
  )
  const r = res.results[0]
  assert.ok(r)
  return r
}

function getSubscriptions(client: RawClient, clientInstanceId = ZERO_UUID) {
  return client.send<GetTelemetrySubscriptionsResponse>(
    ApiKey.GetTelemetrySubscriptions,
    0,
    createGetTelemetrySubscriptionsRequest({ clientInstanceId }),
  )
}

async function push(
  client: RawClient,
  sub: GetTelemetrySubscriptionsResponse,
  fields: { metrics?: Buffer; compressionType?: number; terminating?: boolean; subscriptionId?: number } = {},
): Promise<number> {
  const res = await client.send<PushTelemetryResponse>(
    ApiKey.PushTelemetry,
    0,
    createPushTelemetryRequest({
      clientInstanceId: sub.clientInstanceId,
      subscriptionId: sub.subscriptionId,
      compressionType: Compression.NONE,
      metrics: Buffer.alloc(0),
      ...fields,
    }),
  )
  return res.errorCode
}

async function metricsText(broker: Broker): Promise<string> {
  return (await fetch(`http://localhost:${broker.httpPort}/metrics`)).text()
}

/** The value of the series of `family` whose labels include every given one, or undefined. */
function seriesValue(text: string, family: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1))
  }
  return undefined
}

describe('client telemetry (KIP-714), raw protocol', () => {
  let broker: Broker
  let client: RawClient
  before(async () => {
    broker = await startBroker({ httpPort: 0 })
    client = await RawClient.connect(broker.port)
  })
  after(async () => {
    await client.close()
    await broker.close()
  })

  test('ApiVersions advertises GetTelemetrySubscriptions v0, PushTelemetry v0 and ListConfigResources v0-1', async () => {
    const res = await client.send<ApiVersionsResponse>(ApiKey.ApiVersions, 3, createApiVersionsRequest())
    const range = (key: number) => res.apiKeys.find((k) => k.apiKey === key)
    assert.deepEqual(range(71), { apiKey: 71, minVersion: 0, maxVersion: 0 })
    assert.deepEqual(range(72), { apiKey: 72, minVersion: 0, maxVersion: 0 })
    assert.deepEqual(range(74), { apiKey: 74, minVersion: 0, maxVersion: 1 })
  })

  test('a new client gets an instance id and, unsubscribed, no metrics at the default interval', async () => {
    const fresh = await RawClient.connect(broker.port)
    try {
      const res = await getSubscriptions(fresh)
      assert.equal(res.errorCode, ErrorCode.NONE)
      assert.notEqual(res.clientInstanceId, ZERO_UUID)
      assert.deepEqual(res.requestedMetrics, [])
      assert.equal(res.pushIntervalMs, 300_000)
      assert.deepEqual(res.acceptedCompressionTypes, [
        Compression.ZSTD,
        Compression.LZ4,
        Compression.GZIP,
        Compression.SNAPPY,
      ])
      assert.equal(res.telemetryMaxBytes, 1024 * 1024)
      assert.equal(res.deltaTemporality, true)
      // Asked again within the interval: throttled, as Kafka does.
      const again = await getSubscriptions(fresh, res.clientInstanceId)
      assert.equal(again.errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED)
    } finally {
      await fresh.close()
    }
  })

  test('subscriptions: set, described with defaults, listed, validated as Kafka does, deleted', async () => {
    assert.deepEqual(await alter(client, 'validated', [['metrics', 'org.apache.kafka.producer.']]), [
      ErrorCode.NONE,
      '',
    ])
    assert.deepEqual(await alter(client, 'validated', [['metrics', 'org.apache.kafka.consumer.', APPEND]]), [
      ErrorCode.NONE,
      '',
    ])
    const described = await describeSubscription(client, 'validated')
    assert.equal(described.errorCode, ErrorCode.NONE)
    assert.deepEqual(
      described.configs.map((c) => [c.name, c.value, c.configSource]),
      [
        ['metrics', 'org.apache.kafka.producer.,org.apache.kafka.consumer.', 7],
        ['interval.ms', '300000', 5],
        ['match', '', 5],
      ],
    )
    const withSynonyms = await client.send<DescribeConfigsResponse>(
      ApiKey.DescribeConfigs,
      4,
      createDescribeConfigsRequest({
        resources: [{ resourceType: CLIENT_METRICS, resourceName: 'validated', configurationKeys: ['metrics'] }],
        includeSynonyms: true,
      }),
    )
    assert.deepEqual(
      withSynonyms.results[0]?.configs.map((c) => [c.name, c.configType, c.synonyms.map((y) => [y.value, y.source])]),
      [
        [
          'metrics',
          7,
          [
            ['org.apache.kafka.producer.,org.apache.kafka.consumer.', 7],
            ['', 5],
          ],
        ],
      ],
    )
    // v0 reports is_default instead of a source.
    const v0 = await describeSubscription(client, 'validated', 0)
    assert.deepEqual(
      v0.configs.map((c) => [c.name, c.isDefault]),
      [
        ['metrics', false],
        ['interval.ms', true],
        ['match', true],
      ],
    )

    for (const version of [0, 1]) {
      const listed = await client.send<ListConfigResourcesResponse>(
        ApiKey.ListConfigResources,
        version,
        createListConfigResourcesRequest(),
      )
      assert.equal(listed.errorCode, ErrorCode.NONE)
      const names = listed.configResources.filter((r) => r.resourceType === CLIENT_METRICS).map((r) => r.resourceName)
      assert.ok(names.includes('validated'), `v${version}: ${names}`)
    }
    const onlyMetrics = await client.send<ListConfigResourcesResponse>(
      ApiKey.ListConfigResources,
      1,
      createListConfigResourcesRequest({ resourceTypes: [CLIENT_METRICS] }),
    )
    assert.ok(onlyMetrics.configResources.every((r) => r.resourceType === CLIENT_METRICS))
    const brokers = await client.send<ListConfigResourcesResponse>(
      ApiKey.ListConfigResources,
      1,
      createListConfigResourcesRequest({ resourceTypes: [4] }),
    )
    assert.deepEqual(brokers.configResources, [{ resourceName: '1', resourceType: 4 }])
    const unknownType = await client.send<ListConfigResourcesResponse>(
      ApiKey.ListConfigResources,
      1,
      createListConfigResourcesRequest({ resourceTypes: [99] }),
    )
    assert.equal(unknownType.errorCode, ErrorCode.UNSUPPORTED_VERSION)

    const refused: [string, Change[], number][] = [
      ['', [['metrics', '*']], ErrorCode.INVALID_REQUEST],
      ['bad', [['unknown.config', '1']], ErrorCode.INVALID_REQUEST],
      ['bad', [['interval.ms', '50']], ErrorCode.INVALID_REQUEST],
      ['bad', [['interval.ms', '3600001']], ErrorCode.INVALID_REQUEST],
      ['bad', [['interval.ms', 'soon']], ErrorCode.INVALID_CONFIG],
      ['bad', [['match', 'client_color=red']], ErrorCode.INVALID_CONFIG],
      ['bad', [['match', 'client_id']], ErrorCode.INVALID_CONFIG],
      ['bad', [['match', 'client_id=[']], ErrorCode.INVALID_CONFIG],
      ['bad', [['match', 'client_id=']], ErrorCode.INVALID_CONFIG],
      ['bad', [['match', 'client_id=a=b']], ErrorCode.INVALID_CONFIG],
      ['bad', [['interval.ms', '100', APPEND]], ErrorCode.INVALID_CONFIG],
    ]
    for (const [name, changes, code] of refused) {
      const [errorCode, message] = await alter(client, name, changes)
      assert.equal(errorCode, code, `${name} ${JSON.stringify(changes)}: ${message}`)
    }
    assert.equal((await describeSubscription(client, '')).errorCode, ErrorCode.INVALID_REQUEST)

    // IncrementalAlterConfigs v0 and validate_only.
    assert.deepEqual(await alter(client, 'v0', [['interval.ms', '500']], 0), [ErrorCode.NONE, ''])
    assert.equal((await describeSubscription(client, 'v0')).configs[1]?.value, '500')
    const dryRun = await client.send<IncrementalAlterConfigsResponse>(
      ApiKey.IncrementalAlterConfigs,
      1,
      createIncrementalAlterConfigsRequest({
        resources: [
          {
            resourceType: CLIENT_METRICS,
            resourceName: 'v0',
            configs: [{ name: 'interval.ms', value: '700', configOperation: SET }],
          },
        ],
        validateOnly: true,
      }),
    )
    assert.equal(dryRun.responses[0]?.errorCode, ErrorCode.NONE)
    assert.equal((await describeSubscription(client, 'v0')).configs[1]?.value, '500')
    // AlterConfigs (v0-2) replaces the whole set: interval.ms goes back to its default.
    for (const version of [0, 1, 2]) {
      const replaced = await client.send<AlterConfigsResponse>(
        ApiKey.AlterConfigs,
        version,
        createAlterConfigsRequest({
          resources: [
            { resourceType: CLIENT_METRICS, resourceName: 'v0', configs: [{ name: 'metrics', value: `m${version}.` }] },
          ],
        }),
      )
      assert.equal(replaced.responses[0]?.errorCode, ErrorCode.NONE, `AlterConfigs v${version}`)
      assert.deepEqual(
        (await describeSubscription(client, 'v0')).configs.map((c) => c.value),
        [`m${version}.`, '300000', ''],
      )
    }
    assert.deepEqual(await alter(client, 'v0', [['metrics', null, DELETE]]), [ErrorCode.NONE, ''])

    assert.deepEqual(await alter(client, 'validated', [['metrics', null, DELETE]]), [ErrorCode.NONE, ''])
    const gone = await client.send<ListConfigResourcesResponse>(
      ApiKey.ListConfigResources,
      0,
      createListConfigResourcesRequest(),
    )
    assert.ok(!gone.configResources.some((r) => r.resourceName === 'validated'))
  })

  test('a matching client gets the subscription; each push error as Kafka answers it', async () => {
    const name = 'raw-errors'
    const changes: Change[] = [
      ['metrics', 'org.apache.kafka.producer.'],
      ['interval.ms', '60000'],
      ['match', 'client_id=raw-.*,client_software_name=samsa-raw-test'],
    ]
    assert.deepEqual(await alter(client, name, changes), [ErrorCode.NONE, ''])
    const c = await RawClient.connect(broker.port)
    try {
      // Without a software name the match fails: no metrics.
      assert.deepEqual((await getSubscriptions(c)).requestedMetrics, [])
      await c.send(
        ApiKey.ApiVersions,
        3,
        createApiVersionsRequest({ clientSoftwareName: 'samsa-raw-test', clientSoftwareVersion: '1.0' }),
      )
      const sub = await getSubscriptions(c)
      assert.deepEqual(sub.requestedMetrics, ['org.apache.kafka.producer.'])
      assert.equal(sub.pushIntervalMs, 60_000)

      assert.equal(await push(c, { ...sub, clientInstanceId: ZERO_UUID }), ErrorCode.INVALID_REQUEST)

      // The first push after a GetTelemetrySubscriptions is accepted, the next one is too early.
      const throttled = await getSubscriptions(c)
      assert.equal(await push(c, throttled), ErrorCode.NONE)
      assert.equal(await push(c, throttled), ErrorCode.THROTTLING_QUOTA_EXCEEDED)
      assert.equal(
        (await getSubscriptions(c, throttled.clientInstanceId)).errorCode,
        ErrorCode.THROTTLING_QUOTA_EXCEEDED,
      )

      const stale = await getSubscriptions(c)
      assert.equal(
        await push(c, stale, { subscriptionId: stale.subscriptionId + 1 }),
        ErrorCode.UNKNOWN_SUBSCRIPTION_ID,
      )
      // ...after which the client may ask for its subscription at once.
      const refreshed = await getSubscriptions(c, stale.clientInstanceId)
      assert.equal(refreshed.errorCode, ErrorCode.NONE)
      assert.equal(refreshed.subscriptionId, stale.subscriptionId)

      const codec = await getSubscriptions(c)
      assert.equal(await push(c, codec, { compressionType: 7 }), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)

      const garbage = await getSubscriptions(c)
      assert.equal(await push(c, garbage, { metrics: Buffer.from([0x0f, 0xff]) }), ErrorCode.INVALID_RECORD)

      const terminating = await getSubscriptions(c)
      assert.equal(await push(c, terminating, { terminating: true }), ErrorCode.NONE)
      assert.equal(await push(c, terminating, { terminating: true }), ErrorCode.INVALID_REQUEST)

      // A changed subscription changes the id: the old one is refused.
      const changed = await getSubscriptions(c)
      assert.deepEqual(await alter(client, name, [['interval.ms', '30000']]), [ErrorCode.NONE, ''])
      assert.equal(await push(c, changed), ErrorCode.UNKNOWN_SUBSCRIPTION_ID)
      const next = await getSubscriptions(c, changed.clientInstanceId)
      assert.equal(next.pushIntervalMs, 30_000)
      assert.notEqual(next.subscriptionId, changed.subscriptionId)
    } finally {
      await c.close()
      await alter(
        client,
        name,
        changes.map(([n]) => [n, null, DELETE]),
      )
    }
  })

  test('match selectors read the client address and port; several matching subscriptions merge', async () => {
    const subs: [string, Change[]][] = [
      [
        'local',
        [
          ['metrics', 'a.'],
          ['interval.ms', '20000'],
          ['match', 'client_source_address=127\\.0\\.0\\.1,client_source_port=\\d+'],
        ],
      ],
      [
        'also-local',
        [
          ['metrics', 'b.'],
          ['interval.ms', '10000'],
          ['match', 'client_id=raw-client'],
        ],
      ],
      [
        'remote',
        [
          ['metrics', 'c.'],
          ['match', 'client_source_address=10\\..*'],
        ],
      ],
    ]
    for (const [name, changes] of subs) assert.deepEqual(await alter(client, name, changes), [ErrorCode.NONE, ''])
    const c = await RawClient.connect(broker.port)
    try {
      const sub = await getSubscriptions(c)
      assert.deepEqual(sub.requestedMetrics, ['a.', 'b.'])
      assert.equal(sub.pushIntervalMs, 10_000)
    } finally {
      await c.close()
      for (const [name, changes] of subs)
        await alter(
          client,
          name,
          changes.map(([n]) => [n, null, DELETE]),
        )
    }
  })

  test('pushed metrics under every compression type appear on /metrics with the client labels', async () => {
    assert.deepEqual(
      await alter(client, 'raw-all', [
        ['metrics', '*'],
        ['match', 'client_id=raw-client'],
      ]),
      [ErrorCode.NONE, ''],
    )
    const c = await RawClient.connect(broker.port)
    try {
      for (const [i, codec] of COMPRESSION_NAMES.entries()) {
        const sub = await getSubscriptions(c)
        assert.deepEqual(sub.requestedMetrics, ['*'])
        const payload = otlpPayload([
          {
            name: 'org.apache.kafka.producer.record.queue.time.avg',
            kind: 'gauge',
            value: 10 + i,
            attributes: { 'node.id': '1' },
          },
          { name: 'org.apache.kafka.producer.record.error.total', kind: 'delta-counter', value: 3 },
        ])
        const compressed = compressSync(i as CompressionCodec, payload)
        assert.equal(
          await push(c, sub, { metrics: compressed, compressionType: i, terminating: false }),
          ErrorCode.NONE,
          codec,
        )
        // The terminating push may come at once, and its delta adds up.
        const last = otlpPayload([
          { name: 'org.apache.kafka.producer.record.error.total', kind: 'delta-counter', value: 4 },
        ])
        assert.equal(await push(c, sub, { metrics: last, terminating: true }), ErrorCode.NONE, codec)
        const text = await metricsText(broker)
        const labels = { client_instance_id: sub.clientInstanceId, client_id: 'raw-client' }
        assert.equal(
          seriesValue(text, 'org_apache_kafka_producer_record_queue_time_avg', { ...labels, node_id: '1' }),
          10 + i,
          codec,
        )
        assert.equal(seriesValue(text, 'org_apache_kafka_producer_record_error_total', labels), 7, codec)
        assert.match(text, /# TYPE org_apache_kafka_producer_record_error_total counter/)
      }
    } finally {
      await c.close()
      await alter(client, 'raw-all', [
        ['metrics', null, DELETE],
        ['match', null, DELETE],
      ])
    }
  })
})

describe('client telemetry limits', () => {
  let broker: Broker
  let client: RawClient
  before(async () => {
    broker = await startBroker({
      httpPort: 0,
      config: {
        'telemetry.max.bytes': '2048',
        'samsa.metrics.client.limit': '1',
        'samsa.metrics.client.series.limit': '2',
      },
    })
    client = await RawClient.connect(broker.port)
    assert.deepEqual(
      await alter(client, 'all', [
        ['metrics', '*'],
        ['interval.ms', '1000'],
      ]),
      [ErrorCode.NONE, ''],
    )
  })
  after(async () => {
    await client.close()
    await broker.close()
  })

  test('a push over telemetry.max.bytes is TELEMETRY_TOO_LARGE, one that decompresses to over 32 times it INVALID_RECORD', async () => {
    const sub = await getSubscriptions(client)
    assert.equal(sub.telemetryMaxBytes, 2048)
    assert.equal(await push(client, sub, { metrics: Buffer.alloc(2049) }), ErrorCode.TELEMETRY_TOO_LARGE)
    // Small compressed, but more than 32 times the limit once decompressed: refused unread.
    const bomb = compressSync(Compression.GZIP, Buffer.alloc(32 * 2048 + 1))
    assert.ok(bomb.length < 2048)
    const next = await getSubscriptions(client)
    assert.equal(
      await push(client, next, { metrics: bomb, compressionType: Compression.GZIP }),
      ErrorCode.INVALID_RECORD,
    )
  })

  test('clients past the client limit and series past the series limit are dropped and counted; silent clients expire', async () => {
    const three = (prefix: string) =>
      otlpPayload(['a', 'b', 'c'].map((n) => ({ name: `${prefix}.${n}`, kind: 'gauge' as const, value: 1 })))
    const first = await getSubscriptions(client)
    assert.equal(await push(client, first, { metrics: three('first') }), ErrorCode.NONE)
    const second = await getSubscriptions(client)
    assert.equal(await push(client, second, { metrics: three('second') }), ErrorCode.NONE)
    const text = await metricsText(broker)
    assert.equal(seriesValue(text, 'first_a', { client_instance_id: first.clientInstanceId }), 1)
    assert.equal(seriesValue(text, 'first_b', { client_instance_id: first.clientInstanceId }), 1)
    assert.equal(seriesValue(text, 'first_c', {}), undefined)
    assert.equal(seriesValue(text, 'second_a', {}), undefined)
    assert.equal(seriesValue(text, 'samsa_client_telemetry_dropped_total', { reason: 'series' }), 1)
    assert.equal(seriesValue(text, 'samsa_client_telemetry_dropped_total', { reason: 'clients' }), 1)
    assert.match(text, /^samsa_client_telemetry_clients 1$/m)
    // Three push intervals (3 s) without a push: the client and its series are dropped.
    await waitUntil(
      'the silent client to expire',
      async () => {
        const now = await metricsText(broker)
        return /^samsa_client_telemetry_clients 0$/m.test(now) && !now.includes('first_a')
      },
      { timeoutMs: 30_000 },
    )
  })
})

test('client metrics subscriptions survive a restart', async (t) => {
  const { path: dir, remove } = await tempDir()
  t.after(remove)
  const first = await startBroker({ storage: 'local', dataDir: dir })
  const c1 = await RawClient.connect(first.port)
  assert.deepEqual(
    await alter(c1, 'kept', [
      ['metrics', 'org.apache.kafka.'],
      ['interval.ms', '1000'],
    ]),
    [ErrorCode.NONE, ''],
  )
  await c1.close()
  await first.close()
  const second = await startBroker({ storage: 'local', dataDir: dir })
  const c2 = await RawClient.connect(second.port)
  try {
    const described = await describeSubscription(c2, 'kept')
    assert.deepEqual(
      described.configs.map((c) => [c.name, c.value]),
      [
        ['metrics', 'org.apache.kafka.'],
        ['interval.ms', '1000'],
        ['match', ''],
      ],
    )
    const sub = await getSubscriptions(c2)
    assert.deepEqual(sub.requestedMetrics, ['org.apache.kafka.'])
    assert.equal(sub.pushIntervalMs, 1000)
  } finally {
    await c2.close()
    await second.close()
  }
})

test('in a cluster over PostgreSQL, a subscription set through one broker reaches the others', {
  skip: (await hasPostgres()) ? false : POSTGRES_MISSING,
}, async () => {
  const url = (await freshDatabase()) as `postgres://${string}`
  const lease = { 'broker.heartbeat.interval.ms': '200', 'broker.session.timeout.ms': '1000' }
  const a = await startBroker({ storage: url, config: lease })
  const b = await startBroker({ storage: url, config: lease })
  const toA = await RawClient.connect(a.port)
  const toB = await RawClient.connect(b.port)
  try {
    // B has read the (empty) subscriptions before A sets one.
    assert.deepEqual((await getSubscriptions(toB)).requestedMetrics, [])
    assert.deepEqual(await alter(toA, 'cluster-wide', [['metrics', 'org.apache.kafka.']]), [ErrorCode.NONE, ''])
    const seen = await waitUntil('broker B to serve the subscription', async () => {
      const sub = await getSubscriptions(toB)
      return sub.requestedMetrics.length > 0 && sub
    })
    assert.deepEqual(seen.requestedMetrics, ['org.apache.kafka.'])
    const described = await describeSubscription(toB, 'cluster-wide')
    assert.equal(described.configs.find((c) => c.name === 'metrics')?.value, 'org.apache.kafka.')
  } finally {
    await toA.close()
    await toB.close()
    await b.close()
    await a.close()
  }
})

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ConfigResourceTypes, Admin as KafkajsAdmin } from 'kafkajs'
import { type Broker, startBroker } from '../../../src/broker/broker.ts'
import { ConfigSource } from '../../../src/broker/config-describe.ts'
import { ErrorCode } from '../../../src/protocol/error-codes.ts'
import { type AlterConfigsResponse, createAlterConfigsRequest } from '../../../src/protocol/generated/alter-configs.ts'
import {
  createDescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../../src/protocol/generated/describe-configs.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../../src/protocol/generated/index.ts'
import { kafkajsClient } from '../../helpers/clients.ts'
import { RawClient } from '../../helpers/raw-client.ts'
import { kafkajsErrorTypes, pltAdmin, rejectedCodes } from './helpers.ts'

const TOPIC = 2
const BROKER = 4
const BROKER_LOGGER = 8
const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3]
/** kafkajs's KJS_TOPIC (its enum is not importable from ESM). */
const KJS_TOPIC = 2 as ConfigResourceTypes

describe('DescribeConfigs, AlterConfigs, IncrementalAlterConfigs', () => {
  let broker: Broker
  let kjs: KafkajsAdmin
  let raw: RawClient
  before(async () => {
    broker = await startBroker({ port: 0, config: { 'log.retention.hours': '24' } })
    kjs = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } }).admin()
    await kjs.connect()
    raw = await RawClient.connect(broker.port)
  })
  after(async () => {
    await raw.close()
    await kjs.disconnect()
    await broker.close()
  })

  const describeRaw = (
    version: number,
    resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[],
    includeSynonyms = false,
    includeDocumentation = false,
  ) =>
    raw.send<DescribeConfigsResponse>(
      ApiKey.DescribeConfigs,
      version,
      createDescribeConfigsRequest({ resources, includeSynonyms, includeDocumentation }),
    )
  const incremental = (
    version: number,
    resourceType: number,
    resourceName: string,
    configs: { name: string; configOperation: number; value: string | null }[],
    validateOnly = false,
  ) =>
    raw.send<IncrementalAlterConfigsResponse>(
      ApiKey.IncrementalAlterConfigs,
      version,
      createIncrementalAlterConfigsRequest({ resources: [{ resourceType, resourceName, configs }], validateOnly }),
    )

  test('kafkajs describes topic configs with sources and synonyms', async () => {
    await broker.core.topics.create('kjs-conf', 1, { 'cleanup.policy': 'compact' })
    const res = await kjs.describeConfigs({
      resources: [
        { type: KJS_TOPIC, name: 'kjs-conf', configNames: ['cleanup.policy', 'retention.ms', 'max.message.bytes'] },
      ],
      includeSynonyms: true,
    })
    const entries = new Map(res.resources[0]?.configEntries.map((e) => [e.configName, e]))
    assert.equal(entries.size, 3)
    assert.equal(entries.get('cleanup.policy')?.configValue, 'compact')
    assert.equal(entries.get('cleanup.policy')?.configSource, ConfigSource.TOPIC_CONFIG)
    assert.equal(entries.get('max.message.bytes')?.configValue, '1048588')
    assert.equal(entries.get('max.message.bytes')?.configSource, ConfigSource.DEFAULT_CONFIG)
    const policySynonyms = entries
      .get('cleanup.policy')
      ?.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource])
    assert.deepEqual(policySynonyms, [
      ['cleanup.policy', 'compact', ConfigSource.TOPIC_CONFIG],
      ['log.cleanup.policy', 'delete', ConfigSource.DEFAULT_CONFIG],
    ])
    const unknown = await kafkajsErrorTypes(() =>
      kjs.describeConfigs({ resources: [{ type: KJS_TOPIC, name: 'nope' }], includeSynonyms: false }),
    )
    assert.ok(unknown.includes('UNKNOWN_TOPIC_OR_PARTITION'), unknown.join())
  })

  test('kafkajs alterConfigs replaces the whole set of overrides', async () => {
    await broker.core.topics.create('kjs-alter', 1, { 'cleanup.policy': 'compact', 'retention.ms': '1000' })
    await kjs.alterConfigs({
      validateOnly: false,
      resources: [{ type: KJS_TOPIC, name: 'kjs-alter', configEntries: [{ name: 'segment.bytes', value: '1048576' }] }],
    })
    assert.deepEqual(broker.core.topics.get('kjs-alter')?.configs, { 'segment.bytes': '1048576' })
    assert.equal(broker.core.topics.logConfig('kjs-alter').segmentBytes, 1048576)
    const bad = await kafkajsErrorTypes(() =>
      kjs.alterConfigs({
        validateOnly: false,
        resources: [{ type: KJS_TOPIC, name: 'kjs-alter', configEntries: [{ name: 'no.such.config', value: '1' }] }],
      }),
    )
    assert.ok(bad.includes('INVALID_CONFIG'), bad.join())
    assert.deepEqual(broker.core.topics.get('kjs-alter')?.configs, { 'segment.bytes': '1048576' })
  })

  test('@platformatic/kafka describes (v4, documentation, types), alters and alters incrementally', async () => {
    const { admin } = await pltAdmin(broker)
    try {
      await broker.core.topics.create('plt-conf', 1, {})
      const [described] = await admin.describeConfigs({
        resources: [
          { resourceType: TOPIC, resourceName: 'plt-conf', configurationKeys: ['retention.ms', 'cleanup.policy'] },
        ],
        includeSynonyms: true,
        includeDocumentation: true,
      })
      const retention = described?.configs.find((c) => c.name === 'retention.ms')
      assert.equal(retention?.value, String(24 * 3600_000), 'static log.retention.hours=24 gives the derived value')
      assert.equal(retention?.configType, 5)
      assert.equal(described?.configs.find((c) => c.name === 'cleanup.policy')?.configType, 7)
      assert.ok(retention?.documentation)
      await admin.alterConfigs({
        resources: [
          { resourceType: TOPIC, resourceName: 'plt-conf', configs: [{ name: 'retention.ms', value: '5000' }] },
        ],
      })
      assert.deepEqual(broker.core.topics.get('plt-conf')?.configs, { 'retention.ms': '5000' })
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: TOPIC,
            resourceName: 'plt-conf',
            configs: [
              { name: 'cleanup.policy', configOperation: APPEND as 2, value: 'compact' },
              { name: 'retention.ms', configOperation: DELETE as 1 },
            ],
          },
        ],
      })
      assert.deepEqual(broker.core.topics.get('plt-conf')?.configs, { 'cleanup.policy': 'delete,compact' })
      const bad = await rejectedCodes(() =>
        admin.incrementalAlterConfigs({
          resources: [
            {
              resourceType: TOPIC,
              resourceName: 'plt-conf',
              configs: [{ name: 'retention.ms', configOperation: APPEND as 2, value: '1' }],
            },
          ],
        }),
      )
      assert.deepEqual(bad, [ErrorCode.INVALID_CONFIG])
    } finally {
      await admin.close()
    }
  })

  test('raw DescribeConfigs v0 and v4: broker resources, keys, is_default, errors', async () => {
    const v0 = await describeRaw(0, [
      {
        resourceType: BROKER,
        resourceName: '1',
        configurationKeys: ['num.partitions', 'log.retention.hours', 'node.id'],
      },
      { resourceType: BROKER, resourceName: '2', configurationKeys: null },
      { resourceType: TOPIC, resourceName: 'bad name!', configurationKeys: null },
    ])
    const [mine, other, badTopic] = v0.results
    const byName = new Map(mine?.configs.map((c) => [c.name, c]))
    assert.equal(byName.get('num.partitions')?.isDefault, true)
    assert.equal(byName.get('num.partitions')?.readOnly, true)
    assert.equal(byName.get('log.retention.hours')?.value, '24')
    assert.equal(byName.get('log.retention.hours')?.isDefault, false)
    assert.equal(other?.errorCode, ErrorCode.INVALID_REQUEST)
    assert.equal(other?.errorMessage, 'Unexpected broker id, expected 1 or empty string, but received 2')
    assert.equal(badTopic?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)

    const v4 = await describeRaw(
      4,
      [{ resourceType: BROKER, resourceName: '1', configurationKeys: ['log.retention.ms', 'log.retention.hours'] }],
      true,
      true,
    )
    const entries = new Map(v4.results[0]?.configs.map((c) => [c.name, c]))
    const hours = entries.get('log.retention.hours')
    assert.equal(hours?.configSource, ConfigSource.STATIC_BROKER_CONFIG)
    assert.deepEqual(
      hours?.synonyms.map((s) => [s.name, s.value, s.source]),
      [
        ['log.retention.hours', '24', ConfigSource.STATIC_BROKER_CONFIG],
        ['log.retention.hours', '168', ConfigSource.DEFAULT_CONFIG],
      ],
    )
    assert.equal(entries.get('log.retention.ms')?.value, null, 'unset and without a default, as in Kafka')
    assert.equal(entries.get('log.retention.ms')?.readOnly, false)
    assert.equal(hours?.configType, 3)
    assert.ok(hours?.documentation)

    const logger = await describeRaw(4, [{ resourceType: BROKER_LOGGER, resourceName: '1', configurationKeys: null }])
    assert.deepEqual(
      logger.results[0]?.configs.map((c) => [c.name, c.value, c.configSource]),
      [['root', 'OFF', 6]],
    )
  })

  test('dynamic broker configs: per broker and cluster default, sources, validation', async () => {
    let res = await incremental(1, BROKER, '', [{ name: 'log.retention.ms', configOperation: SET, value: '60000' }])
    assert.equal(res.responses[0]?.errorCode, ErrorCode.NONE)
    res = await incremental(1, BROKER, '1', [{ name: 'log.segment.bytes', configOperation: SET, value: '2097152' }])
    assert.equal(res.responses[0]?.errorCode, ErrorCode.NONE)
    await broker.core.topics.create('dyn', 1, {})
    assert.equal(broker.core.topics.logConfig('dyn').retentionMs, 60000)
    assert.equal(broker.core.topics.logConfig('dyn').segmentBytes, 2097152)

    const d = await describeRaw(
      2,
      [
        { resourceType: TOPIC, resourceName: 'dyn', configurationKeys: ['retention.ms', 'segment.bytes'] },
        { resourceType: BROKER, resourceName: '', configurationKeys: null },
      ],
      true,
    )
    const topic = new Map(d.results[0]?.configs.map((c) => [c.name, c]))
    assert.equal(topic.get('retention.ms')?.configSource, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    assert.equal(topic.get('segment.bytes')?.configSource, ConfigSource.DYNAMIC_BROKER_CONFIG)
    assert.deepEqual(
      d.results[1]?.configs.map((c) => [c.name, c.value, c.configSource]),
      [['log.retention.ms', '60000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]],
    )

    const fixed = await incremental(0, BROKER, '1', [{ name: 'num.partitions', configOperation: SET, value: '3' }])
    assert.equal(fixed.responses[0]?.errorCode, ErrorCode.INVALID_REQUEST)
    assert.equal(fixed.responses[0]?.errorMessage, 'Cannot update these configs dynamically: num.partitions')
    const badValue = await incremental(0, BROKER, '', [
      { name: 'log.retention.ms', configOperation: SET, value: 'soon' },
    ])
    assert.equal(badValue.responses[0]?.errorCode, ErrorCode.INVALID_REQUEST)
    const otherNode = await incremental(0, BROKER, '9', [
      { name: 'log.retention.ms', configOperation: SET, value: '1' },
    ])
    assert.equal(otherNode.responses[0]?.errorMessage, 'Unexpected broker id, expected 1, but received 9')

    // AlterConfigs replaces the layer: the per-broker segment size goes away.
    const legacy = await raw.send<AlterConfigsResponse>(
      ApiKey.AlterConfigs,
      0,
      createAlterConfigsRequest({
        resources: [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.roll.ms', value: '3600000' }] }],
      }),
    )
    assert.equal(legacy.responses[0]?.errorCode, ErrorCode.NONE)
    assert.deepEqual(broker.core.dynamicBrokerProps, { 'log.roll.ms': '3600000' })
    assert.equal(broker.core.topics.logConfig('dyn').segmentBytes, 1073741824)
    await incremental(1, BROKER, '', [{ name: 'log.retention.ms', configOperation: DELETE, value: null }])
    await incremental(1, BROKER, '1', [{ name: 'log.roll.ms', configOperation: DELETE, value: null }])
    assert.deepEqual(broker.core.dynamicProps, {})
  })

  test('raw IncrementalAlterConfigs v0/v1 and AlterConfigs v2: checks in Kafka order', async () => {
    await broker.core.topics.create('inc', 1, {})
    const sub = await incremental(0, TOPIC, 'inc', [
      { name: 'cleanup.policy', configOperation: APPEND, value: 'compact' },
      { name: 'retention.ms', configOperation: SET, value: '1000' },
    ])
    assert.equal(sub.responses[0]?.errorCode, ErrorCode.NONE)
    const sub2 = await incremental(0, TOPIC, 'inc', [
      { name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' },
    ])
    assert.equal(sub2.responses[0]?.errorCode, ErrorCode.NONE)
    assert.deepEqual(broker.core.topics.get('inc')?.configs, { 'cleanup.policy': 'compact', 'retention.ms': '1000' })
    const dryRun = await incremental(
      1,
      TOPIC,
      'inc',
      [{ name: 'retention.ms', configOperation: SET, value: '1' }],
      true,
    )
    assert.equal(dryRun.responses[0]?.errorCode, ErrorCode.NONE)
    assert.equal(broker.core.topics.get('inc')?.configs['retention.ms'], '1000')
    const cases: [number, string, { name: string; configOperation: number; value: string | null }[], number, string][] =
      [
        [
          TOPIC,
          'missing',
          [{ name: 'retention.ms', configOperation: SET, value: '1' }],
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          "The topic 'missing' does not exist.",
        ],
        [
          TOPIC,
          'missing',
          [{ name: 'retention.ms', configOperation: SET, value: 'x' }],
          ErrorCode.INVALID_CONFIG,
          'Invalid value x for configuration retention.ms: retention.ms must be an integer, got "x"',
        ],
        [
          TOPIC,
          'inc',
          [{ name: 'retention.ms', configOperation: SET, value: null }],
          ErrorCode.INVALID_REQUEST,
          'Null value not supported for : retention.ms',
        ],
        [
          TOPIC,
          'inc',
          [
            { name: 'a', configOperation: DELETE, value: null },
            { name: 'a', configOperation: DELETE, value: null },
          ],
          ErrorCode.INVALID_REQUEST,
          'Error due to duplicate config keys',
        ],
        [
          TOPIC,
          'inc',
          [{ name: 'retention.ms', configOperation: 9, value: '1' }],
          ErrorCode.INVALID_REQUEST,
          'Unknown operations type 9',
        ],
        [
          TOPIC,
          '',
          [{ name: 'retention.ms', configOperation: SET, value: '1' }],
          ErrorCode.INVALID_REQUEST,
          'Default topic resources are not allowed.',
        ],
        [
          TOPIC,
          'inc',
          [{ name: 'unknown.thing', configOperation: SET, value: '1' }],
          ErrorCode.INVALID_CONFIG,
          'Unknown topic config name: unknown.thing',
        ],
        [
          BROKER_LOGGER,
          '1',
          [{ name: 'root', configOperation: SET, value: 'LOUD' }],
          ErrorCode.INVALID_CONFIG,
          'Cannot set the log level of root to LOUD as it is not a supported log level. Valid log levels are FATAL, ERROR, WARN, INFO, DEBUG, TRACE',
        ],
        [
          BROKER_LOGGER,
          '1',
          [{ name: 'root', configOperation: DELETE, value: null }],
          ErrorCode.INVALID_REQUEST,
          'Removing the log level of the root logger is not allowed',
        ],
        [
          32,
          'group',
          [{ name: 'x', configOperation: SET, value: '1' }],
          ErrorCode.INVALID_CONFIG,
          'Unknown group config name: x',
        ],
      ]
    for (const [type, name, configs, code, message] of cases) {
      const r = await incremental(1, type, name, configs)
      assert.deepEqual(
        [r.responses[0]?.errorCode, r.responses[0]?.errorMessage],
        [code, message],
        `${type}/${name} ${JSON.stringify(configs)}`,
      )
    }
    const level = await incremental(1, BROKER_LOGGER, '1', [{ name: 'root', configOperation: SET, value: 'DEBUG' }])
    assert.equal(level.responses[0]?.errorCode, ErrorCode.NONE)
    assert.equal(broker.core.log.level, 'debug')
    broker.core.log.level = 'silent'

    const twice = await raw.send<AlterConfigsResponse>(
      ApiKey.AlterConfigs,
      2,
      createAlterConfigsRequest({
        resources: [
          { resourceType: TOPIC, resourceName: 'inc', configs: [] },
          { resourceType: TOPIC, resourceName: 'inc', configs: [] },
          { resourceType: BROKER_LOGGER, resourceName: '1', configs: [] },
        ],
      }),
    )
    assert.deepEqual(
      twice.responses.map((r) => [r.errorCode, r.errorMessage]),
      [
        [ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.'],
        [ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.'],
        [ErrorCode.INVALID_REQUEST, 'Unknown resource type 8'],
      ],
    )
  })

  test('dynamic broker configs survive a restart of the local engine', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-dyn-'))
    try {
      let b = await startBroker({ port: 0, storage: 'local', dataDir: dir })
      const { admin } = await pltAdmin(b)
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: BROKER,
            resourceName: '1',
            configs: [{ name: 'message.max.bytes', configOperation: SET as 0, value: '2000000' }],
          },
        ],
      })
      await admin.close()
      await b.close()
      b = await startBroker({ port: 0, storage: 'local', dataDir: dir })
      try {
        assert.deepEqual(b.core.dynamicBrokerProps, { 'message.max.bytes': '2000000' })
        assert.equal(b.core.prop('message.max.bytes'), '2000000')
      } finally {
        await b.close()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

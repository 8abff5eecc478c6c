/**
 * message.format.version and its broker synonym log.message.format.version, accepted and ignored
 * as Kafka 3.x does (KIP-724): CreateTopics, AlterConfigs and IncrementalAlterConfigs take a valid
 * Kafka version, refuse anything else with INVALID_CONFIG, DescribeConfigs documents them as
 * deprecated, and the broker's static configuration (file, --set) accepts the broker config.
 * Driven by kafkajs and @platformatic/kafka, and by the `samsa broker` process. (kcat has no
 * admin commands.)
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Admin } from '@platformatic/kafka'
import type { ConfigResourceTypes, Admin as KafkajsAdmin } from 'kafkajs'
import { ConfigSource } from '../../../src/broker/config-describe.ts'
import { parseKafkaVersion } from '../../../src/config/kafka-versions.ts'
import { ErrorCode } from '../../../src/protocol/error-codes.ts'
import { type AlterConfigsResponse, createAlterConfigsRequest } from '../../../src/protocol/generated/alter-configs.ts'
import { ApiKey } from '../../../src/protocol/generated/index.ts'
import { startBroker, type TestBroker, uniqueName } from '../../../src/testing/index.ts'
import { runCli } from '../../cli/helpers.ts'
import { spawnBroker } from '../../helpers/broker-process.ts'
import { kafkajsClient, platformatic } from '../../helpers/clients.ts'
import { RawClient } from '../../helpers/raw-client.ts'
import { kafkajsErrorTypes, rejectedCodes } from './helpers.ts'

const TOPIC = 2
const BROKER = 4
const [SET, DELETE] = [0, 1] as const
const STRING = 2
/** kafkajs's ConfigResourceTypes.TOPIC (its enum is not importable from ESM). */
const KJS_TOPIC = 2 as ConfigResourceTypes
const MFV = 'message.format.version'
const LOG_MFV = 'log.message.format.version'

async function pltAdminOn(bootstrap: string): Promise<Admin> {
  const plt = await platformatic()
  return new plt.Admin({ clientId: 'mfv-test', bootstrapBrokers: [bootstrap], retries: 0 })
}

test('Kafka version strings are parsed as Kafka 3.x parses them', () => {
  const cases: [string, string | undefined][] = [
    ['0.10.0', '0.10.0-IV1'],
    ['0.10.0.1', '0.10.0-IV1'],
    ['0.8.2', '0.8.2'],
    ['1.0', '1.0-IV0'],
    ['2.8-IV1', '2.8-IV1'],
    ['2.8.1', '2.8-IV1'],
    ['3.0', '3.0-IV1'],
    ['3.0-IV1', '3.0-IV1'],
    ['3.9', '3.9-IV0'],
    [' 2.8 ', '2.8-IV1'],
    ['0.10', undefined],
    ['2.8-IV2', undefined],
    ['2.8.', undefined],
    ['4.0', undefined],
    ['3', undefined],
    ['', undefined],
    ['latest', undefined],
  ]
  for (const [value, expected] of cases) assert.equal(parseKafkaVersion(value), expected, JSON.stringify(value))
})

describe('message.format.version: a deprecated no-op', () => {
  let broker: TestBroker
  let kjs: KafkajsAdmin
  let plt: Admin
  before(async () => {
    broker = await startBroker()
    kjs = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } }).admin()
    await kjs.connect()
    plt = await pltAdminOn(broker.bootstrap)
  })
  after(async () => {
    await plt.close()
    await kjs.disconnect()
    await broker.close()
  })

  const kjsDescribe = async (topic: string) => {
    const res = await kjs.describeConfigs({
      resources: [{ type: KJS_TOPIC, name: topic, configNames: [MFV] }],
      includeSynonyms: true,
    })
    return res.resources[0]?.configEntries[0]
  }
  const kjsAlter = (topic: string, value: string) =>
    kjs.alterConfigs({
      validateOnly: false,
      resources: [{ type: KJS_TOPIC, name: topic, configEntries: [{ name: MFV, value }] }],
    })

  test('kafkajs: CreateTopics, DescribeConfigs and AlterConfigs take it; bad versions are INVALID_CONFIG', async () => {
    const topic = uniqueName('kjs-mfv')
    assert.equal(await kjs.createTopics({ topics: [{ topic, configEntries: [{ name: MFV, value: '0.10.0' }] }] }), true)
    assert.deepEqual(broker.core.topics.get(topic)?.configs, { [MFV]: '0.10.0' })
    let entry = await kjsDescribe(topic)
    assert.equal(entry?.configValue, '0.10.0')
    assert.equal(entry?.configSource, ConfigSource.TOPIC_CONFIG)
    assert.deepEqual(
      entry?.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource]),
      [
        [MFV, '0.10.0', ConfigSource.TOPIC_CONFIG],
        [LOG_MFV, '3.0-IV1', ConfigSource.DEFAULT_CONFIG],
      ],
    )

    await kjsAlter(topic, '2.8-IV1')
    assert.deepEqual(broker.core.topics.get(topic)?.configs, { [MFV]: '2.8-IV1' })
    entry = await kjsDescribe(topic)
    assert.equal(entry?.configValue, '2.8-IV1')

    const badCreate = await kafkajsErrorTypes(() =>
      kjs.createTopics({
        topics: [{ topic: uniqueName('kjs-mfv-bad'), configEntries: [{ name: MFV, value: '0.10' }] }],
      }),
    )
    assert.ok(badCreate.includes('INVALID_CONFIG'), badCreate.join())
    const badAlter = await kafkajsErrorTypes(() => kjsAlter(topic, 'latest'))
    assert.ok(badAlter.includes('INVALID_CONFIG'), badAlter.join())
    assert.deepEqual(broker.core.topics.get(topic)?.configs, { [MFV]: '2.8-IV1' }, 'a refused change changes nothing')
  })

  test('it has no effect: an 0.8.2 "format" still keeps v2 timestamps and headers', async () => {
    const topic = uniqueName('kjs-mfv-noop')
    const plain = uniqueName('kjs-mfv-plain')
    await kjs.createTopics({
      topics: [{ topic, configEntries: [{ name: MFV, value: '0.8.2' }] }, { topic: plain }],
    })
    assert.deepEqual(broker.core.topics.logConfig(topic), broker.core.topics.logConfig(plain))
    const producer = kafkajsClient(broker.bootstrap).producer()
    await producer.connect()
    try {
      await producer.send({
        topic,
        messages: [{ key: 'k', value: 'v', timestamp: '1700000000000', headers: { h: 'x' } }],
      })
    } finally {
      await producer.disconnect()
    }
    const [record] = await broker.records(topic)
    assert.equal(record?.timestamp, 1700000000000)
    assert.deepEqual(record?.headers, [['h', Buffer.from('x')]])
  })

  test('@platformatic/kafka: documentation says deprecated; AlterConfigs and IncrementalAlterConfigs take it', async () => {
    const topic = uniqueName('plt-mfv')
    await plt.createTopics({ topics: [topic], partitions: 1, configs: [{ name: MFV, value: '2.8' }] })
    const describeTopic = async () => {
      const [described] = await plt.describeConfigs({
        resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: [MFV] }],
        includeSynonyms: true,
        includeDocumentation: true,
      })
      return described?.configs[0]
    }
    let entry = await describeTopic()
    assert.equal(entry?.value, '2.8')
    assert.equal(entry?.configType, STRING)
    assert.equal(entry?.readOnly, false)
    assert.match(entry?.documentation ?? '', /^\[DEPRECATED\] .*no effect/)

    await plt.alterConfigs({
      resources: [{ resourceType: TOPIC, resourceName: topic, configs: [{ name: MFV, value: '3.0' }] }],
    })
    assert.equal((await describeTopic())?.value, '3.0')
    await plt.incrementalAlterConfigs({
      resources: [
        {
          resourceType: TOPIC,
          resourceName: topic,
          configs: [{ name: MFV, configOperation: SET, value: '0.11.0-IV2' }],
        },
      ],
    })
    assert.deepEqual(broker.core.topics.get(topic)?.configs, { [MFV]: '0.11.0-IV2' })
    await plt.incrementalAlterConfigs({
      resources: [{ resourceType: TOPIC, resourceName: topic, configs: [{ name: MFV, configOperation: DELETE }] }],
    })
    entry = await describeTopic()
    assert.equal(entry?.value, '3.0-IV1', "Kafka 3.x's default")
    assert.equal(entry?.configSource, ConfigSource.DEFAULT_CONFIG)

    for (const value of ['3.0-IV9', '2.8.']) {
      const codes = await rejectedCodes(() =>
        plt.incrementalAlterConfigs({
          resources: [
            { resourceType: TOPIC, resourceName: topic, configs: [{ name: MFV, configOperation: SET, value }] },
          ],
        }),
      )
      assert.deepEqual(codes, [ErrorCode.INVALID_CONFIG], value)
    }
    const badCreate = await rejectedCodes(() =>
      plt.createTopics({ topics: [uniqueName('plt-mfv-bad')], configs: [{ name: MFV, value: 'x' }] }),
    )
    assert.deepEqual(badCreate, [ErrorCode.INVALID_CONFIG])
  })

  test('@platformatic/kafka: log.message.format.version is a read-only broker config, as in Kafka 3.x', async () => {
    const [described] = await plt.describeConfigs({
      resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: [LOG_MFV] }],
      includeSynonyms: false,
      includeDocumentation: true,
    })
    const entry = described?.configs[0]
    assert.equal(entry?.value, '3.0-IV1')
    assert.equal(entry?.readOnly, true)
    assert.match(entry?.documentation ?? '', /^\[DEPRECATED\]/)
    // Kafka excludes it from the dynamic log configs (DynamicLogConfig.ExcludedConfigs), so it
    // answers INVALID_REQUEST ("Cannot update these configs dynamically").
    const codes = await rejectedCodes(() =>
      plt.incrementalAlterConfigs({
        resources: [
          { resourceType: BROKER, resourceName: '1', configs: [{ name: LOG_MFV, configOperation: SET, value: '2.8' }] },
        ],
      }),
    )
    assert.deepEqual(codes, [ErrorCode.INVALID_REQUEST])
    // platformatic sends a cluster-wide (empty name) resource to broker "0", so AlterConfigs goes raw.
    const raw = await RawClient.connect(broker.port)
    try {
      const res = await raw.send<AlterConfigsResponse>(
        ApiKey.AlterConfigs,
        2,
        createAlterConfigsRequest({
          resources: [{ resourceType: BROKER, resourceName: '', configs: [{ name: LOG_MFV, value: '2.8' }] }],
        }),
      )
      assert.deepEqual(
        [res.responses[0]?.errorCode, res.responses[0]?.errorMessage],
        [ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${LOG_MFV}`],
      )
    } finally {
      await raw.close()
    }
    assert.deepEqual(broker.core.dynamicProps, {})
  })
})

test('a static log.message.format.version is the default topics describe; a bad one stops the broker', async () => {
  const broker = await startBroker({ config: { [LOG_MFV]: '0.10.2' } })
  const admin = await pltAdminOn(broker.bootstrap)
  try {
    await broker.createTopic('static-mfv')
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: TOPIC, resourceName: 'static-mfv', configurationKeys: [MFV] }],
      includeSynonyms: true,
    })
    const entry = described?.configs[0]
    assert.equal(entry?.value, '0.10.2')
    assert.equal(entry?.configSource, ConfigSource.STATIC_BROKER_CONFIG)
    assert.deepEqual(
      entry?.synonyms.map((s) => [s.name, s.value, s.source]),
      [
        [LOG_MFV, '0.10.2', ConfigSource.STATIC_BROKER_CONFIG],
        [LOG_MFV, '3.0-IV1', ConfigSource.DEFAULT_CONFIG],
      ],
    )
  } finally {
    await admin.close()
    await broker.close()
  }
  await assert.rejects(
    startBroker({ config: { [LOG_MFV]: '3.x' } }),
    /log\.message\.format\.version must be a Kafka version/,
  )
})

test('samsa broker takes log.message.format.version from its config file and refuses a bad one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-mfv-'))
  try {
    const file = join(dir, 'server.properties')
    await writeFile(file, `${LOG_MFV}=2.8\nnum.partitions=1\n`)
    const proc = await spawnBroker(join(dir, 'data'), ['--memory', '--config', file])
    const admin = await pltAdminOn(proc.bootstrap)
    try {
      const [described] = await admin.describeConfigs({
        resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: [LOG_MFV] }],
      })
      assert.deepEqual(
        described?.configs.map((c) => [c.name, c.value, c.configSource]),
        [[LOG_MFV, '2.8', ConfigSource.STATIC_BROKER_CONFIG]],
      )
    } finally {
      await admin.close()
      await proc.stop()
    }
    const bad = await runCli(['broker', '--memory', '--port', '0', '--set', `${LOG_MFV}=2.9`])
    // An invalid broker config is a usage error (README: exit code 2).
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /log\.message\.format\.version must be a Kafka version such as .*got "2\.9"/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

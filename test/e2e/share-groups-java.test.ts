/**
 * Share groups (KIP-932) with Apache Kafka's own share consumer (KafkaShareConsumer of
 * kafka-clients 4.4, test/java/.../ShareConsumerClient.java): two and three consumers on one
 * partition get disjoint records and together all of them; records a stuck consumer never
 * acknowledges go to another once their lock expires; REJECT archives; the delivery count limit
 * archives; acknowledgements survive a broker restart. Group configs are set through
 * IncrementalAlterConfigs on the GROUP resource, as Kafka's admin tools do.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Producer } from '../../src/client/producer.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaCommand, javaProgram } from '../helpers/java-client.ts'
import { RawClient } from '../helpers/raw-client.ts'

interface Received {
  value: string
  offset: number
  deliveryCount: number
}

const GROUP_RESOURCE = 32
const BROKER_CONFIG = {
  'group.share.heartbeat.interval.ms': '500',
  'group.share.min.record.lock.duration.ms': '1000',
}

async function groupConfigs(broker: Broker, groupId: string, configs: Record<string, string>): Promise<void> {
  const raw = await RawClient.connect(broker.port)
  try {
    const res = await raw.send<IncrementalAlterConfigsResponse>(
      ApiKey.IncrementalAlterConfigs,
      1,
      createIncrementalAlterConfigsRequest({
        resources: [
          {
            resourceType: GROUP_RESOURCE,
            resourceName: groupId,
            configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })),
          },
        ],
      }),
    )
    assert.equal(res.responses[0]?.errorCode, ErrorCode.NONE, res.responses[0]?.errorMessage ?? '')
  } finally {
    await raw.close()
  }
}

/** Produces values one send at a time, so that each is a batch of its own. */
async function produce(broker: Broker, topic: string, values: string[]): Promise<void> {
  const cluster = new Cluster({ bootstrap: `127.0.0.1:${broker.port}` })
  const producer = new Producer(cluster)
  try {
    for (const value of values) await producer.send({ topic, value })
  } finally {
    await producer.close()
    await cluster.close()
  }
}

/** A group's share-partition start offset as the broker holds it. */
async function startOffsetOf(
  broker: Broker,
  key: { groupId: string; topicId: string; partition: number },
): Promise<number | undefined> {
  return (await broker.core.shares.summary(key))?.startOffset
}

const bootstrap = (broker: Broker): string => `127.0.0.1:${broker.port}`
const values = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
const members = (broker: Broker, groupId: string): number => broker.core.groups.group(groupId)?.members.size ?? 0

describe('KafkaShareConsumer', { skip: hasJavaClient ? false : JAVA_CLIENT_MISSING }, () => {
  for (const consumers of [2, 3]) {
    test(`${consumers} consumers on one partition get disjoint records, together all of them`, async (t) => {
      const broker = await startBroker({ config: BROKER_CONFIG })
      t.after(() => broker.close())
      const topic = `java-share-split-${consumers}`
      const group = `java-split-${consumers}`
      await broker.core.topics.create(topic, 1, {})
      // The default (latest) would start where the log ends at the first fetch, which may come
      // after the first records.
      await groupConfigs(broker, group, { 'share.auto.offset.reset': 'earliest' })
      const run = javaProgram<{ consumers: Received[][] }>(
        'ShareConsumerClient',
        ['split', bootstrap(broker), topic, group, String(consumers), '150', '90000'],
        120_000,
      )
      // The records come once every consumer is in the group, so that all of them compete for them.
      await waitUntil(`${consumers} members`, () => members(broker, group) === consumers, { timeoutMs: 60_000 })
      const sent = values('r', 150)
      await produce(broker, topic, sent)
      const { consumers: got } = await run
      const all = got.flat().map((r) => r.value)
      const topicId = broker.core.topics.get(topic)?.topicId
      const state = (await broker.core.storage.kv.get('share-state', `${topicId}:0:${group}`))?.toString()
      assert.equal(
        all.length,
        sent.length,
        `each record once; missing ${sent.filter((v) => !all.includes(v))}; ${state}`,
      )
      assert.deepEqual([...all].sort(), [...sent].sort(), 'together, every record')
      for (const mine of got) assert.ok(mine.length > 0, 'every consumer got records')
    })
  }

  test('three brokers, three partitions: each consumer keeps a share session per broker', async (t) => {
    const broker = await startBroker({ brokers: 3, config: BROKER_CONFIG })
    t.after(() => broker.close())
    await broker.core.topics.create('java-share-brokers', 3, {})
    await groupConfigs(broker, 'java-brokers', { 'share.auto.offset.reset': 'earliest' })
    const cluster = new Cluster({ bootstrap: bootstrap(broker) })
    const producer = new Producer(cluster)
    const sent = values('b', 90)
    try {
      for (const [i, value] of sent.entries())
        await producer.send({ topic: 'java-share-brokers', partition: i % 3, value })
    } finally {
      await producer.close()
      await cluster.close()
    }
    const { consumers } = await javaProgram<{ consumers: Received[][] }>(
      'ShareConsumerClient',
      ['split', bootstrap(broker), 'java-share-brokers', 'java-brokers', '2', String(sent.length), '90000'],
      120_000,
    )
    const all = consumers.flat()
    assert.equal(all.length, sent.length, 'no record twice')
    assert.deepEqual(all.map((r) => r.value).sort(), [...sent].sort())
  })

  test('records a stuck consumer holds go to another once their lock expires', async (t) => {
    const broker = await startBroker({ config: BROKER_CONFIG })
    t.after(() => broker.close())
    await broker.core.topics.create('java-share-hold', 1, {})
    await groupConfigs(broker, 'java-hold', {
      'share.auto.offset.reset': 'earliest',
      'share.record.lock.duration.ms': '2000',
    })
    await produce(broker, 'java-share-hold', values('h', 5))
    const stuck = spawn(
      'java',
      javaCommand('ShareConsumerClient', ['hold', bootstrap(broker), 'java-share-hold', 'java-hold', '5']),
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    t.after(() => {
      stuck.kill('SIGKILL')
    })
    const held = await new Promise<Received[]>((resolve, reject) => {
      stuck.once('exit', (code) => reject(new Error(`the holding consumer exited (${code})`)))
      createInterface({ input: stuck.stdout }).on('line', (line) => {
        if (line.startsWith('{')) resolve((JSON.parse(line) as { records: Received[] }).records)
      })
    })
    assert.deepEqual(
      held.map((r) => [r.value, r.deliveryCount]),
      values('h', 5).map((v) => [v, 1]),
    )
    const { consumers } = await javaProgram<{ consumers: Received[][] }>(
      'ShareConsumerClient',
      ['split', bootstrap(broker), 'java-share-hold', 'java-hold', '1', '5', '60000'],
      90_000,
    )
    assert.deepEqual(
      consumers[0]?.map((r) => [r.value, r.deliveryCount]),
      values('h', 5).map((v) => [v, 2]),
      'redelivered, as second deliveries',
    )
  })

  test('REJECT archives; the delivery count limit archives', async (t) => {
    const broker = await startBroker({ config: BROKER_CONFIG })
    t.after(() => broker.close())
    const topicId = (await broker.core.topics.create('java-share-ack', 1, {}))?.topicId as string
    await groupConfigs(broker, 'java-ack', { 'share.auto.offset.reset': 'earliest' })
    await produce(broker, 'java-share-ack', ['good-0', 'bad-0', 'good-1', 'bad-1', 'good-2'])
    const acked = await javaProgram<{ accepted: Received[]; rejected: Received[] }>('ShareConsumerClient', [
      'ack',
      bootstrap(broker),
      'java-share-ack',
      'java-ack',
      '5',
    ])
    assert.deepEqual(acked.accepted.map((r) => r.value).sort(), ['good-0', 'good-1', 'good-2'])
    assert.deepEqual(acked.rejected.map((r) => r.value).sort(), ['bad-0', 'bad-1'])
    const start = (groupId: string) => startOffsetOf(broker, { groupId, topicId, partition: 0 })
    assert.equal(await start('java-ack'), 5, 'every record is done: rejected ones are archived')

    await groupConfigs(broker, 'java-limit', {
      'share.auto.offset.reset': 'earliest',
      'share.delivery.count.limit': '2',
    })
    const released = await javaProgram<{ records: Received[] }>('ShareConsumerClient', [
      'release',
      bootstrap(broker),
      'java-share-ack',
      'java-limit',
      '5',
      '2',
    ])
    const deliveries = new Map<string, number[]>()
    for (const r of released.records) deliveries.set(r.value, [...(deliveries.get(r.value) ?? []), r.deliveryCount])
    assert.equal(deliveries.size, 5)
    for (const [value, counts] of deliveries)
      assert.deepEqual(counts, [1, 2], `${value}: delivered twice, then archived`)
    assert.equal(await start('java-limit'), 5)
  })

  test('a broker restart in the middle loses no acknowledgement', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'samsa-share-java-'))
    t.after(() => rm(dataDir, { recursive: true, force: true }))
    const sent = values('d', 20)
    let accepted: string[]
    {
      const broker = await startBroker({ storage: 'local', dataDir, config: BROKER_CONFIG })
      try {
        await broker.core.topics.create('java-share-restart', 1, {})
        await groupConfigs(broker, 'java-restart', { 'share.auto.offset.reset': 'earliest' })
        await produce(broker, 'java-share-restart', sent)
        const first = await javaProgram<{ accepted: Received[] }>('ShareConsumerClient', [
          'ack',
          bootstrap(broker),
          'java-share-restart',
          'java-restart',
          '10',
        ])
        accepted = first.accepted.map((r) => r.value)
        assert.ok(accepted.length >= 10 && accepted.length < 20, `accepted ${accepted.length}`)
      } finally {
        await broker.close()
      }
    }
    const broker = await startBroker({ storage: 'local', dataDir, config: BROKER_CONFIG })
    try {
      const rest = await javaProgram<{ consumers: Received[][] }>(
        'ShareConsumerClient',
        ['split', bootstrap(broker), 'java-share-restart', 'java-restart', '1', String(20 - accepted.length), '60000'],
        90_000,
      )
      const again = rest.consumers[0]?.map((r) => r.value) ?? []
      assert.deepEqual(
        again.filter((v) => accepted.includes(v)),
        [],
        'no accepted record comes back',
      )
      assert.deepEqual([...accepted, ...again].sort(), [...sent].sort(), 'every other record does')
    } finally {
      await broker.close()
    }
  })
})

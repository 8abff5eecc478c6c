/**
 * A read_committed share group (share.isolation.level, KIP-932) read by Apache Kafka's own share
 * consumer (KafkaShareConsumer, test/java/.../ShareConsumerClient.java) while kafkajs
 * transactional producers commit and abort, with samsa's producer writing between them: the
 * consumer receives exactly the committed and plain records, and the aborted ones are archived,
 * so the group's start offset reaches the end of the log.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Producer as KafkajsProducer } from 'kafkajs'
import { startBroker } from '../../src/broker/broker.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Producer } from '../../src/client/producer.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaProgram } from '../helpers/java-client.ts'
import { RawClient } from '../helpers/raw-client.ts'

const GROUP_RESOURCE = 32
const TOPIC = 'java-share-rc'
const GROUP = 'java-rc'

test('KafkaShareConsumer in a read_committed share group gets exactly the committed records', {
  skip: hasJavaClient ? false : JAVA_CLIENT_MISSING,
}, async (t) => {
  const broker = await startBroker({ config: { 'group.share.heartbeat.interval.ms': '500' } })
  t.after(() => broker.close())
  const topicId = (await broker.core.topics.create(TOPIC, 1, {}))?.topicId as string
  const raw = await RawClient.connect(broker.port)
  t.after(() => raw.close())
  const altered = await raw.send<IncrementalAlterConfigsResponse>(
    ApiKey.IncrementalAlterConfigs,
    1,
    createIncrementalAlterConfigsRequest({
      resources: [
        {
          resourceType: GROUP_RESOURCE,
          resourceName: GROUP,
          configs: [
            { name: 'share.isolation.level', configOperation: 0, value: 'read_committed' },
            { name: 'share.auto.offset.reset', configOperation: 0, value: 'earliest' },
          ],
        },
      ],
    }),
  )
  assert.equal(altered.responses[0]?.errorCode, ErrorCode.NONE, altered.responses[0]?.errorMessage ?? '')

  const cluster = new Cluster({ bootstrap: broker.bootstrap })
  const plain = new Producer(cluster)
  const kafka = kafkajsClient(broker.bootstrap)
  const transactional: KafkajsProducer[] = []
  t.after(async () => {
    for (const p of transactional) await p.disconnect()
    await plain.close()
    await cluster.close()
  })
  const open = async (transactionalId: string) => {
    const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
    transactional.push(p)
    await p.connect()
    const txn = await p.transaction()
    return {
      send: (values: string[]) =>
        txn.send({ topic: TOPIC, messages: values.map((value) => ({ value, partition: 0 })) }),
      commit: () => txn.commit(),
      abort: () => txn.abort(),
    }
  }
  const sendPlain = (value: string) => plain.send({ topic: TOPIC, partition: 0, value })

  const a = await open('java-rc-a')
  const b = await open('java-rc-b')
  await a.send(['c-0', 'c-1', 'c-2'])
  await sendPlain('p-0')
  await b.send(['x-0', 'x-1', 'x-2'])
  await a.send(['c-3', 'c-4'])
  await a.commit()
  await b.send(['x-3', 'x-4'])
  await sendPlain('p-1')
  await b.abort()
  const c = await open('java-rc-c')
  const d = await open('java-rc-d')
  await c.send(['c-5', 'c-6'])
  await d.send(['x-5'])
  await c.send(['c-7', 'c-8', 'c-9'])
  await c.commit()
  await d.abort()
  const expected = ['p-0', 'p-1', ...Array.from({ length: 10 }, (_, i) => `c-${i}`)]
  // Every transaction ended: the last stable offset is the end of the log.
  const end = (await broker.core.storage.offsets(TOPIC, 0)).highWatermark
  await waitUntil('no open transaction', () => broker.core.producers.lastStableOffset(TOPIC, 0, end) === end, {
    timeoutMs: 20_000,
  })

  const { consumers } = await javaProgram<{ consumers: { value: string }[][] }>(
    'ShareConsumerClient',
    ['split', broker.bootstrap, TOPIC, GROUP, '1', String(expected.length), '30000'],
    60_000,
  )
  const got = consumers[0]?.map((r) => r.value) ?? []
  assert.deepEqual([...got].sort(), [...expected].sort(), 'committed and plain records, each once, no aborted one')
  // The consumer acknowledged what it got (implicit mode); the aborted records are archived.
  await waitUntil(
    'the start offset at the end of the log',
    async () => (await broker.core.shares.summary({ groupId: GROUP, topicId, partition: 0 }))?.startOffset === end,
    {
      timeoutMs: 20_000,
      describe: async () =>
        `${end}: ${(await broker.core.storage.kv.get('share-state', `${topicId}:0:${GROUP}`))?.toString()}`,
    },
  )
})

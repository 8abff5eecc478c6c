/**
 * Broker configs the local engine reads while it opens, before the broker's config store
 * exists: log.retention.check.interval.ms and num.recovery.threads.per.data.dir.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDirs } from '../storage/helpers.ts'

const freshDir = freshDirs('samsa-engine-configs-')

test('log.retention.check.interval.ms sets how often the local engine applies retention', async () => {
  const broker = await startBroker({
    storage: 'local',
    dataDir: await freshDir(),
    config: { 'log.retention.check.interval.ms': '100' },
  })
  const kafka = kafkajsClient(broker.bootstrap)
  const admin = kafka.admin()
  const producer = kafka.producer()
  try {
    await admin.connect()
    await producer.connect()
    // One batch per segment; records an hour old, so every segment is past retention.ms.
    await admin.createTopics({
      topics: [
        {
          topic: 'aged',
          configEntries: [
            { name: 'segment.bytes', value: '100' },
            { name: 'retention.ms', value: '60000' },
          ],
        },
      ],
    })
    const hourAgo = String(Date.now() - 3_600_000)
    for (let i = 0; i < 3; i++)
      await producer.send({ topic: 'aged', messages: [{ value: `v${i}`, timestamp: hourAgo }] })
    // As Kafka, an active segment past retention is rolled and deleted too: the log empties.
    let low = '0'
    for (let tries = 0; tries < 50 && low !== '3'; tries++) {
      await sleep(100)
      low = (await admin.fetchTopicOffsets('aged'))[0]?.low ?? '0'
    }
    assert.equal(low, '3', 'every segment deleted within seconds, not after the default 5 minutes')
  } finally {
    await producer.disconnect()
    await admin.disconnect()
    await broker.close()
  }
})

test('num.recovery.threads.per.data.dir: partitions opened several at a time all come back whole', async () => {
  const dataDir = await freshDir()
  const config = { 'num.recovery.threads.per.data.dir': '3' }
  let broker = await startBroker({ storage: 'local', dataDir, config })
  const kafka = kafkajsClient(broker.bootstrap)
  const producer = kafka.producer()
  await producer.connect()
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [
      { topic: 'many', numPartitions: 7 },
      { topic: 'few', numPartitions: 2 },
    ],
  })
  for (let partition = 0; partition < 7; partition++) {
    await producer.send({
      topic: 'many',
      messages: Array.from({ length: partition + 1 }, (_, i) => ({ partition, value: `m${i}` })),
    })
  }
  await producer.send({ topic: 'few', messages: [{ partition: 1, value: 'x' }] })
  await producer.disconnect()
  await admin.disconnect()
  await broker.close()

  broker = await startBroker({ storage: 'local', dataDir, config })
  const again = kafkajsClient(broker.bootstrap).admin()
  try {
    await again.connect()
    const many = await again.fetchTopicOffsets('many')
    assert.deepEqual(
      many.sort((a, b) => a.partition - b.partition).map((o) => o.high),
      ['1', '2', '3', '4', '5', '6', '7'],
    )
    const few = await again.fetchTopicOffsets('few')
    assert.deepEqual(
      few.sort((a, b) => a.partition - b.partition).map((o) => o.high),
      ['0', '1'],
    )
  } finally {
    await again.disconnect()
    await broker.close()
  }
})

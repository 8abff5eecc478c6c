/**
 * The storage metrics on /metrics after real kafkajs traffic, for the local and postgres engines:
 * appends, reads and group commits counted per append and per sync (acks=all appends one at a
 * time each get a sync of their own, holding exactly their bytes), retention and compaction work
 * as the engine did it, consumer group rebalances, and for postgres its statements and pool.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { type MetricSample, parseMetricsText, sumOf } from '../../src/cli/metrics-text.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { tempDir } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

async function scrape(broker: Broker): Promise<MetricSample[]> {
  const res = await fetch(`http://localhost:${broker.httpPort}/metrics`)
  assert.equal(res.status, 200)
  return parseMetricsText(await res.text())
}

/** Produces `count` records to partition 0 of `topic`, one acks=all request each; resolves the bytes stored. */
async function produceOneByOne(broker: Broker, topic: string, count: number, value = 'v'): Promise<void> {
  const producer = kafkajsClient(broker.bootstrap).producer()
  await producer.connect()
  try {
    for (let i = 0; i < count; i++) {
      await producer.send({ topic, acks: -1, messages: [{ key: `k${i % 3}`, value: `${value}-${i}`, partition: 0 }] })
    }
  } finally {
    await producer.disconnect()
  }
}

describe('storage metrics, local engine', () => {
  let broker: Broker
  let removeDir: () => Promise<void>

  before(async () => {
    const dir = await tempDir('samsa-storage-metrics-')
    removeDir = dir.remove
    broker = await startBroker({
      storage: 'local',
      dataDir: dir.path,
      httpPort: 0,
      config: { 'log.retention.check.interval.ms': '100', 'log.cleaner.backoff.ms': '100' },
    })
  })

  after(async () => {
    await broker?.close()
    await removeDir?.()
  })

  it('counts each acks=all append, its fdatasync and its bytes; fetches as reads', async () => {
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 1 }] })
    await admin.disconnect()
    const before = await scrape(broker)
    await produceOneByOne(broker, 'durable', 5)
    const consumer = kafkajsClient(broker.bootstrap).consumer({ groupId: 'readers' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'durable', fromBeginning: true })
    let seen = 0
    await consumer.run({
      eachMessage: async () => {
        seen++
      },
    })
    await waitUntil('all 5 consumed', () => seen === 5)
    await consumer.disconnect()
    const m = await scrape(broker)
    const delta = (name: string) => sumOf(m, name) - sumOf(before, name)
    assert.equal(delta('samsa_storage_append_time_seconds_count'), 5)
    // One request at a time: each append waited for a sync of its own, which held it alone.
    assert.equal(delta('samsa_storage_group_commit_appends_count'), 5)
    assert.equal(delta('samsa_storage_group_commit_appends_sum'), 5)
    assert.equal(
      delta('samsa_storage_group_commit_bytes_sum'),
      sumOf(m, 'samsa_topic_bytes_in_total', { topic: 'durable' }),
    )
    assert.ok(delta('samsa_storage_sync_time_seconds_count') >= 5)
    assert.ok(delta('samsa_storage_read_time_seconds_count') >= 1)
    const le = m.find((s) => s.name === 'samsa_storage_append_time_seconds_bucket' && s.labels.le === '+Inf')
    assert.equal(le?.value, sumOf(m, 'samsa_storage_append_time_seconds_count'))
    assert.equal(sumOf(m, 'samsa_storage_errors_total'), 0)
    assert.ok(sumOf(m, 'samsa_consumer_group_rebalances_total', { group: 'readers' }) >= 1)
  })

  it('counts the segments and bytes retention deleted', async () => {
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    // Small segments, and records already past retention.ms: every closed segment goes.
    await admin.createTopics({
      topics: [
        {
          topic: 'expiring',
          numPartitions: 1,
          configEntries: [
            { name: 'segment.bytes', value: '200' },
            { name: 'retention.ms', value: '60000' },
          ],
        },
      ],
    })
    const producer = kafkajsClient(broker.bootstrap).producer()
    await producer.connect()
    const old = String(Date.now() - 3_600_000)
    for (let i = 0; i < 6; i++) {
      await producer.send({ topic: 'expiring', messages: [{ value: 'x'.repeat(100), timestamp: old }] })
    }
    await producer.disconnect()
    const offsets = async () => (await admin.fetchTopicOffsets('expiring'))[0]
    await waitUntil('retention moved the log start', async () => Number((await offsets())?.low) > 0, {
      timeoutMs: 15_000,
    })
    await admin.disconnect()
    // The log start moves before the segment files are gone and counted: wait for the count.
    const m = await waitUntil('retention counted the segments it deleted', async () => {
      const scraped = await scrape(broker)
      return sumOf(scraped, 'samsa_log_deleted_segments_total') >= 1 && scraped
    })
    assert.ok(sumOf(m, 'samsa_log_retention_passes_total') >= 1)
    const segments = sumOf(m, 'samsa_log_deleted_segments_total')
    // Each deleted segment held at least one of the ~170-byte batches.
    assert.ok(sumOf(m, 'samsa_log_deleted_bytes_total') >= segments * 150)
  })

  it('counts the passes and the records the log cleaner removed', async () => {
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        {
          topic: 'compacted',
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '200' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          ],
        },
      ],
    })
    await admin.disconnect()
    // Three keys written over and over: the closed segments hold many superseded records.
    await produceOneByOne(broker, 'compacted', 12, 'x'.repeat(60))
    await waitUntil(
      'the cleaner removed records',
      async () => sumOf(await scrape(broker), 'samsa_log_cleaner_records_removed_total') > 0,
      { timeoutMs: 20_000 },
    )
    const m = await scrape(broker)
    assert.ok(sumOf(m, 'samsa_log_cleaner_passes_total') >= 1)
    assert.ok(sumOf(m, 'samsa_log_cleaner_partitions_cleaned_total') >= 1)
    assert.ok(sumOf(m, 'samsa_log_cleaner_bytes_removed_total') > 0)
  })
})

describe('storage metrics, postgres engine', () => {
  it('counts commits with their appends and bytes, statements and the pool', async (t) => {
    if (!(await hasPostgres())) return t.skip(POSTGRES_MISSING)
    const url = (await freshDatabase()) as `postgres://${string}`
    const broker = await startBroker({ storage: url, httpPort: 0 })
    try {
      const admin = kafkajsClient(broker.bootstrap).admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'in-pg', numPartitions: 1 }] })
      await admin.disconnect()
      const before = await scrape(broker)
      await produceOneByOne(broker, 'in-pg', 4)
      const m = await scrape(broker)
      const delta = (name: string) => sumOf(m, name) - sumOf(before, name)
      assert.equal(delta('samsa_storage_append_time_seconds_count'), 4)
      assert.equal(delta('samsa_storage_group_commit_appends_count'), 4)
      assert.equal(delta('samsa_storage_group_commit_appends_sum'), 4)
      assert.equal(
        delta('samsa_storage_group_commit_bytes_sum'),
        sumOf(m, 'samsa_topic_bytes_in_total', { topic: 'in-pg' }),
      )
      assert.ok(delta('samsa_storage_sync_time_seconds_count') >= 4)
      assert.ok(delta('samsa_storage_query_time_seconds_count') >= 4)
      const total = sumOf(m, 'samsa_storage_pool_connections')
      assert.ok(total >= 1, `${total} pooled connections`)
      assert.ok(sumOf(m, 'samsa_storage_pool_idle_connections') <= total)
      assert.equal(sumOf(m, 'samsa_storage_pool_waiting_clients'), 0)
    } finally {
      await broker.close()
    }
  })
})

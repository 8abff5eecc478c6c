import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CompressionTypes } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

interface Fetched {
  offset: bigint
  timestamp: bigint
  key: string | null
  value: string | null
  headers: [string, string][]
}

/** Reads a partition with @platformatic/kafka's plain Fetch (no consumer group). */
async function fetchAll(
  plt: Platformatic,
  bootstrap: string,
  topic: string,
  partition: number,
  from = 0n,
): Promise<Fetched[]> {
  const consumer = new plt.Consumer({
    clientId: 'reader',
    groupId: 'unused',
    bootstrapBrokers: [bootstrap],
    deserializers: plt.stringDeserializers,
  })
  try {
    const md = await consumer.metadata({ topics: [topic] })
    const topicId = md.topics.get(topic)?.id as string
    const out: Fetched[] = []
    let offset = from
    for (;;) {
      const res = await consumer.fetch({
        node: 1,
        topics: [
          {
            topicId,
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                lastFetchedEpoch: -1,
                partitionMaxBytes: 4 << 20,
              },
            ],
          },
        ],
        maxWaitTime: 10,
        minBytes: 1,
        maxBytes: 8 << 20,
      })
      const p = res.responses[0]?.partitions[0]
      assert.equal(p?.errorCode, 0)
      const before = out.length
      for (const batch of p?.records ?? []) {
        for (const r of batch.records) {
          const o = batch.firstOffset + BigInt(r.offsetDelta)
          if (o < offset) continue
          out.push({
            offset: o,
            timestamp: batch.firstTimestamp + r.timestampDelta,
            key: r.key === null || r.key === undefined ? null : String(r.key),
            value: r.value === null || r.value === undefined ? null : String(r.value),
            headers: r.headers.map(([k, v]) => [String(k), String(v)]),
          })
        }
      }
      if (out.length === before) return out
      offset = (out.at(-1) as Fetched).offset + 1n
    }
  } finally {
    await consumer.close()
  }
}

describe('produce and fetch with real clients', () => {
  let broker: Broker
  let plt: Platformatic

  before(async () => {
    broker = await startBroker()
    plt = await platformatic()
  })
  after(() => broker.close())

  test('kafkajs produces keyed records with headers with none, gzip, snappy and lz4; @platformatic/kafka reads them byte-exact', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'codecs', numPartitions: 1 }] })
    const producer = kafka.producer()
    await producer.connect()
    const sent: { key: string; value: string; ts: number; header: string }[] = []
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4]
    for (const [i, compression] of codecs.entries()) {
      const messages = [0, 1, 2].map((j) => ({
        key: `k${i}-${j}`,
        value: `value ${i}/${j} ${'x'.repeat(j * 50)}`,
        timestamp: String(1_700_000_000_000 + i * 10 + j),
        headers: { h: `hv${i}${j}`, other: 'ü✓' },
      }))
      const [res] = await producer.send({ topic: 'codecs', acks: -1, compression, messages })
      assert.equal(res?.errorCode, 0)
      assert.equal(res?.baseOffset, String(i * 3))
      for (const m of messages) sent.push({ key: m.key, value: m.value, ts: Number(m.timestamp), header: m.headers.h })
    }
    const got = await fetchAll(plt, broker.bootstrap, 'codecs', 0)
    assert.equal(got.length, sent.length)
    for (const [i, r] of got.entries()) {
      const s = sent[i] as (typeof sent)[number]
      assert.equal(r.offset, BigInt(i))
      assert.equal(r.key, s.key)
      assert.equal(r.value, s.value)
      assert.equal(r.timestamp, BigInt(s.ts))
      assert.deepEqual(r.headers, [
        ['h', s.header],
        ['other', 'ü✓'],
      ])
    }
    // Reading from the middle of a batch returns the whole batch; the client skips earlier records.
    const tail = await fetchAll(plt, broker.bootstrap, 'codecs', 0, 7n)
    assert.deepEqual(
      tail.map((r) => r.offset),
      Array.from({ length: sent.length - 7 }, (_, i) => BigInt(7 + i)),
    )
    await producer.disconnect()
    await admin.disconnect()
  })

  test('@platformatic/kafka produces; kafkajs lists offsets by timestamp, earliest and latest', async () => {
    const admin = new plt.Admin({ clientId: 'a', bootstrapBrokers: [broker.bootstrap] })
    await admin.createTopics({ topics: ['times'], partitions: 1, replicas: 1 })
    await admin.close()
    const producer = new plt.Producer({
      clientId: 'p',
      bootstrapBrokers: [broker.bootstrap],
      serializers: plt.stringSerializers,
    })
    for (let i = 0; i < 5; i++) {
      const r = await producer.send({
        messages: [
          { topic: 'times', partition: 0, key: `k${i}`, value: `v${i}`, timestamp: BigInt(1_000_000 + i * 1000) },
        ],
      })
      assert.equal(r.offsets?.[0]?.offset, BigInt(i))
    }
    await producer.close()
    const kafka = kafkajsClient(broker.bootstrap)
    const kadmin = kafka.admin()
    await kadmin.connect()
    assert.deepEqual(await kadmin.fetchTopicOffsetsByTimestamp('times', 1_002_000), [{ partition: 0, offset: '2' }])
    assert.deepEqual(await kadmin.fetchTopicOffsetsByTimestamp('times', 1_002_001), [{ partition: 0, offset: '3' }])
    const [latest] = await kadmin.fetchTopicOffsets('times')
    assert.deepEqual(latest, { partition: 0, offset: '5', high: '5', low: '0' })
    await kadmin.disconnect()
    const got = await fetchAll(plt, broker.bootstrap, 'times', 0)
    assert.deepEqual(
      got.map((r) => [r.key, r.value, r.timestamp]),
      [0, 1, 2, 3, 4].map((i) => [`k${i}`, `v${i}`, BigInt(1_000_000 + i * 1000)]),
    )
  })

  test('a 1 MiB message: MESSAGE_TOO_LARGE by default, accepted with a larger max.message.bytes', async () => {
    const kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        { topic: 'big-default', numPartitions: 1 },
        { topic: 'big', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2000000' }] },
      ],
    })
    const producer = kafka.producer()
    await producer.connect()
    const value = Buffer.alloc(1 << 20, 7)
    await assert.rejects(
      producer.send({ topic: 'big-default', messages: [{ value }] }),
      (err: Error & { type?: string }) => {
        assert.equal(err.type ?? (err as { cause?: { type?: string } }).cause?.type, 'MESSAGE_TOO_LARGE')
        return true
      },
    )
    const [res] = await producer.send({ topic: 'big', messages: [{ key: 'big', value }] })
    assert.equal(res?.errorCode, ErrorCode.NONE)
    const got = await fetchAll(plt, broker.bootstrap, 'big', 0)
    assert.equal(got.length, 1)
    assert.equal(got[0]?.value?.length, value.length)
    await producer.disconnect()
    await admin.disconnect()
  })

  test('500 partitions, each written and listed', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: 500 }] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: 'wide',
      messages: Array.from({ length: 1000 }, (_, i) => ({ partition: i % 500, value: `m${i}` })),
    })
    const offsets = await admin.fetchTopicOffsets('wide')
    assert.equal(offsets.length, 500)
    for (const o of offsets) assert.equal(o.high, '2', `partition ${o.partition}`)
    await producer.disconnect()
    await admin.disconnect()
  })

  test('many concurrent producers: every record lands once, offsets contiguous', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'busy', numPartitions: 2 }] })
    const producers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const p = kafka.producer()
        await p.connect()
        return p
      }),
    )
    await Promise.all(
      producers.map(async (p, n) => {
        for (let i = 0; i < 25; i++) {
          await p.send({
            topic: 'busy',
            messages: [0, 1, 2, 3].map((j) => ({ partition: (i + j) % 2, value: `${n}:${i}:${j}` })),
          })
        }
      }),
    )
    const values = new Set<string>()
    for (const partition of [0, 1]) {
      const got = await fetchAll(plt, broker.bootstrap, 'busy', partition)
      assert.deepEqual(
        got.map((r) => r.offset),
        got.map((_, i) => BigInt(i)),
      )
      for (const r of got) values.add(r.value as string)
    }
    assert.equal(values.size, 8 * 25 * 4)
    await Promise.all(producers.map((p) => p.disconnect()))
    await admin.disconnect()
  })
})

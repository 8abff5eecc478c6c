/**
 * The client against an in-process broker: version negotiation, pipelining, typed errors,
 * retries, the producer (keys, compression, acks) read back by kafkajs and by our consumer, and
 * a consumer group sharing partitions with the cooperative-sticky assignor.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Connection } from '../../src/client/connection.ts'
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.ts'
import { ClientError, KafkaError } from '../../src/client/errors.ts'
import { partitionForKey } from '../../src/client/partitioner.ts'
import { Producer } from '../../src/client/producer.ts'
import { withRetry } from '../../src/client/retry.ts'
import { pickVersion } from '../../src/client/versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import { kafkajsClient } from '../helpers/clients.ts'

let broker: Broker
let cluster: Cluster
let admin: Admin

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } })
  cluster = new Cluster({ bootstrap: broker.bootstrap, retries: 2 })
  admin = new Admin(cluster)
})
after(async () => {
  await cluster.close()
  await broker.close()
})

async function consumeAll(
  topic: string,
  expected: number,
  c = new Consumer(cluster, { maxWaitMs: 100 }),
): Promise<ConsumerRecord[]> {
  const t = await cluster.topic(topic, { refresh: true })
  c.assign(t.partitions.map((p) => ({ topic, partition: p.partition, offset: 'earliest' as const })))
  const out: ConsumerRecord[] = []
  const deadline = Date.now() + 10_000
  while (out.length < expected && Date.now() < deadline) out.push(...(await c.poll()))
  return out
}

test('a connection negotiates the highest common version of each API', async () => {
  const [host, port] = [broker.host, broker.port]
  const conn = await Connection.open({ host, port })
  try {
    assert.equal(conn.version(ApiKey.Produce), 11)
    assert.equal(conn.version(ApiKey.Fetch), 17)
    assert.equal(conn.version(ApiKey.IncrementalAlterConfigs), 1)
    // Pipelined requests all come back, matched by correlation id.
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        conn.send<{ brokers: unknown[] }>(ApiKey.Metadata, () => createMetadataRequest({ topics: [] })),
      ),
    )
    assert.equal(results.length, 50)
    for (const r of results) assert.equal(r.brokers.length, 1)
  } finally {
    conn.close()
  }
  const broker2 = new Map([[ApiKey.Produce, { min: 0, max: 2 }]])
  assert.throws(
    () => pickVersion(ApiKey.Produce, broker2, 'Produce'),
    (e: unknown) => e instanceof ClientError && /no common version/.test(e.message),
  )
  assert.equal(pickVersion(ApiKey.Produce, new Map([[ApiKey.Produce, { min: 0, max: 7 }]])), 7)
})

test('unreachable brokers and unknown topics raise typed errors', async () => {
  const dead = new Cluster({ bootstrap: '127.0.0.1:1', retries: 0 })
  await assert.rejects(
    dead.refreshMetadata([]),
    (e: unknown) => e instanceof ClientError && e.code === 'SAMSA_ERR_CONNECTION' && e.retriable,
  )
  await dead.close()
  await assert.rejects(cluster.topic('no-such-topic'), (e: unknown) => {
    assert.ok(e instanceof KafkaError)
    assert.equal(e.code, 3)
    assert.equal(e.name, 'UNKNOWN_TOPIC_OR_PARTITION')
    assert.equal(e.retriable, true)
    return true
  })
  await admin.createTopics([{ name: 'dup', partitions: 1 }])
  await assert.rejects(
    admin.createTopics([{ name: 'dup', partitions: 1 }]),
    (e: unknown) => e instanceof KafkaError && e.name === 'TOPIC_ALREADY_EXISTS' && !e.retriable,
  )
})

test('withRetry retries retriable errors with backoff and gives up on others', async () => {
  let calls = 0
  const value = await withRetry(
    async () => {
      if (++calls < 3) throw new KafkaError(6) // NOT_LEADER_OR_FOLLOWER
      return 'ok'
    },
    { initialBackoffMs: 1 },
  )
  assert.equal(value, 'ok')
  assert.equal(calls, 3)
  calls = 0
  await assert.rejects(
    withRetry(async () => {
      calls++
      throw new KafkaError(36)
    }),
  )
  assert.equal(calls, 1)
})

test('keyed records land where the Java partitioner puts them, read back by kafkajs', async () => {
  await admin.createTopics([{ name: 'keyed', partitions: 5 }])
  const producer = new Producer(cluster, { lingerMs: 1 })
  const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
  const meta = await producer.sendMany(
    keys.map((k) => ({ topic: 'keyed', key: k, value: `v-${k}`, headers: { h: 'x' } })),
  )
  for (const [i, m] of meta.entries()) assert.equal(m.partition, partitionForKey(Buffer.from(keys[i] as string), 5))
  const kafka = kafkajsClient(broker.bootstrap)
  const consumer = kafka.consumer({ groupId: 'keyed-check' })
  await consumer.connect()
  await consumer.subscribe({ topic: 'keyed', fromBeginning: true })
  const seen = new Map<string, number>()
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          seen.set(String(message.key), partition)
          assert.equal(String(message.headers?.h), 'x')
          if (seen.size === keys.length) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  for (const k of keys) assert.equal(seen.get(k), partitionForKey(Buffer.from(k), 5))
})

test('every compression codec round-trips, batches are shared and offsets are contiguous', async () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const topic = `codec-${compression}`
    await admin.createTopics([{ name: topic, partitions: 1 }])
    const producer = new Producer(cluster, { compression, lingerMs: 20 })
    const values = Array.from({ length: 300 }, (_, i) => Buffer.from(`${compression}-${i}-${'x'.repeat(i % 50)}`))
    const meta = await producer.sendMany(values.map((value) => ({ topic, value })))
    assert.deepEqual(
      meta.map((m) => m.offset),
      values.map((_, i) => BigInt(i)),
    )
    const records = await consumeAll(topic, values.length)
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      values.map((v) => v.toString()),
    )
  }
})

test('acks=0 writes without waiting for a response', async () => {
  await admin.createTopics([{ name: 'fire', partitions: 1 }])
  const producer = new Producer(cluster, { acks: 0 })
  const meta = await producer.sendMany(Array.from({ length: 10 }, (_, i) => ({ topic: 'fire', value: `v${i}` })))
  assert.ok(meta.every((m) => m.offset === -1n))
  const records = await consumeAll('fire', 10)
  assert.equal(records.length, 10)
})

test('a consumer group shares partitions (cooperative-sticky) and commits', async () => {
  await admin.createTopics([{ name: 'shared', partitions: 4 }])
  const producer = new Producer(cluster)
  await producer.sendMany(Array.from({ length: 100 }, (_, i) => ({ topic: 'shared', key: `k${i}`, value: `v${i}` })))
  const make = (): Consumer =>
    new Consumer(new Cluster({ bootstrap: broker.bootstrap }), {
      groupId: 'sharing',
      autoOffsetReset: 'earliest',
      maxWaitMs: 100,
      heartbeatIntervalMs: 200,
    })
  const a = make()
  const b = make()
  a.subscribe(['shared'])
  b.subscribe(['shared'])
  const seen = new Set<string>()
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const [ra, rb] = await Promise.all([a.poll(), b.poll()])
    for (const r of [...ra, ...rb]) seen.add(`${r.partition}/${r.offset}`)
    if (a.assignment().length === 2 && b.assignment().length === 2 && seen.size === 100) break
  }
  assert.equal(a.assignment().length, 2)
  assert.equal(b.assignment().length, 2)
  assert.equal(a.membership?.protocol, 'cooperative-sticky')
  assert.equal(seen.size, 100)
  await Promise.all([a.commit(), b.commit()])
  await Promise.all([a.close(), b.close()])
  const [group] = await admin.describeGroups(['sharing'])
  assert.equal(group?.state, 'Empty')
})

test('the range assignor (eager protocol) splits partitions between members', async () => {
  await admin.createTopics([{ name: 'ranged', partitions: 3 }])
  const make = (): Consumer =>
    new Consumer(new Cluster({ bootstrap: broker.bootstrap }), {
      groupId: 'rangers',
      assignors: ['range'],
      autoOffsetReset: 'earliest',
      maxWaitMs: 50,
      heartbeatIntervalMs: 100,
    })
  const a = make()
  const b = make()
  a.subscribe(['ranged'])
  b.subscribe(['ranged'])
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    await Promise.all([a.poll(), b.poll()])
    if (a.assignment().length + b.assignment().length === 3 && a.assignment().length > 0 && b.assignment().length > 0)
      break
  }
  const sizes = [a.assignment().length, b.assignment().length].sort()
  assert.deepEqual(sizes, [1, 2])
  assert.equal(a.membership?.protocol, 'range')
  await Promise.all([a.close(), b.close()])
})

test('a consumer whose position fell out of range resets to the earliest offset', async () => {
  await admin.createTopics([{ name: 'trimmed', partitions: 1 }])
  const producer = new Producer(cluster)
  await producer.sendMany(Array.from({ length: 10 }, (_, i) => ({ topic: 'trimmed', value: `v${i}` })))
  await admin.deleteRecords('trimmed', [{ partition: 0, offset: 6n }])
  const c = new Consumer(cluster, { autoOffsetReset: 'earliest', maxWaitMs: 50 })
  c.assign([{ topic: 'trimmed', partition: 0, offset: 2n }])
  const got: string[] = []
  for (let i = 0; i < 10 && got.length < 4; i++) for (const r of await c.poll()) got.push(String(r.value))
  assert.deepEqual(got, ['v6', 'v7', 'v8', 'v9'])
})

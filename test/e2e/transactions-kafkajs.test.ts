/**
 * kafkajs transactions against samsa: commit and abort seen through read_committed and
 * read_uncommitted consumers, sendOffsets inside a transaction, zombie fencing by a second
 * instance of the same transactional id, and the transaction timeout aborting a hung producer.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Kafka } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient } from '../helpers/clients.ts'

let broker: Broker
let kafka: Kafka

before(async () => {
  broker = await startBroker({
    config: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '200' },
  })
  kafka = kafkajsClient(broker.bootstrap)
})
after(() => broker.close())

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await wait(50)
  }
}

async function createTopic(topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions }] })
  await admin.disconnect()
}

/** Consumes a topic from the beginning until `expected` values arrived and 500 ms pass quietly. */
async function consumeAll(topic: string, readUncommitted: boolean, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${topic}-${readUncommitted}`,
    readUncommitted,
    maxWaitTimeInMs: 100,
  })
  const seen: string[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value?.toString() as string)
    },
  })
  await until(`${expected} records`, () => seen.length >= expected)
  await wait(500)
  await consumer.disconnect()
  return seen.sort()
}

const values = (prefix: string, n: number): { key: string; value: string }[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: `${prefix}${i}` }))

test('commit and abort: read_committed sees exactly the committed records, read_uncommitted all', async () => {
  const topic = 'kjs-txn'
  await createTopic(topic, 2)
  const producer = kafka.producer({ transactionalId: 'kjs-txn-1', maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  for (const [prefix, commit] of [
    ['c1-', true],
    ['a1-', false],
    ['c2-', true],
    ['a2-', false],
  ] as const) {
    const txn = await producer.transaction()
    await txn.send({ topic, messages: values(prefix, 10) })
    if (commit) await txn.commit()
    else await txn.abort()
  }
  await producer.disconnect()
  const committed = await consumeAll(topic, false, 20)
  assert.deepEqual(committed, [...values('c1-', 10), ...values('c2-', 10)].map((m) => m.value).sort())
  const all = await consumeAll(topic, true, 40)
  assert.equal(all.length, 40)
  const described = [...broker.core.txns.all()].find((t) => t.transactionalId === 'kjs-txn-1')
  assert.equal(described?.state, 'CompleteAbort')
})

test('an open transaction holds read_committed consumers at the last stable offset', async () => {
  const topic = 'kjs-txn-open'
  await createTopic(topic, 1)
  const plain = kafka.producer()
  await plain.connect()
  await plain.send({ topic, messages: values('before-', 3) })
  const producer = kafka.producer({ transactionalId: 'kjs-txn-open', maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  const txn = await producer.transaction()
  await txn.send({ topic, messages: values('txn-', 5) })
  await plain.send({ topic, messages: values('after-', 2) })
  const admin = kafka.admin()
  await admin.connect()
  // kafkajs's fetchTopicOffsets asks for read_committed latest offsets: the LSO.
  const [open] = await admin.fetchTopicOffsets(topic)
  assert.equal(open?.offset, '3')
  assert.equal(open?.high, '3')
  const early = await consumeAll(topic, false, 3)
  assert.deepEqual(
    early,
    values('before-', 3).map((m) => m.value),
  )
  await txn.commit()
  const [closed] = await admin.fetchTopicOffsets(topic)
  assert.equal(closed?.offset, '11')
  await admin.disconnect()
  await producer.disconnect()
  await plain.disconnect()
})

test('sendOffsets commits the group offsets with the transaction, and an abort drops them', async () => {
  const topic = 'kjs-txn-offsets'
  const groupId = 'kjs-txn-offsets-group'
  await createTopic(topic, 1)
  const producer = kafka.producer({ transactionalId: 'kjs-txn-offsets', maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  const admin = kafka.admin()
  await admin.connect()
  const committedOffset = async (): Promise<string | undefined> => {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return t?.partitions[0]?.offset
  }

  let txn = await producer.transaction()
  await txn.send({ topic, messages: values('x', 1) })
  await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '7' }] }] })
  assert.equal(await committedOffset(), '-1', 'pending offsets are not visible before the commit')
  await txn.commit()
  assert.equal(await committedOffset(), '7')

  txn = await producer.transaction()
  await txn.send({ topic, messages: values('y', 1) })
  await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }] })
  await txn.abort()
  assert.equal(await committedOffset(), '7')
  await admin.disconnect()
  await producer.disconnect()
})

test('zombie fencing: a second instance of the transactional id fences the first', async () => {
  const topic = 'kjs-txn-zombie'
  await createTopic(topic, 1)
  const zombie = kafka.producer({
    transactionalId: 'kjs-zombie',
    maxInFlightRequests: 1,
    idempotent: true,
    retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
  })
  await zombie.connect()
  const zt = await zombie.transaction()
  await zt.send({ topic, messages: values('zombie-', 2) })
  const fresh = kafka.producer({ transactionalId: 'kjs-zombie', maxInFlightRequests: 1, idempotent: true })
  await fresh.connect()
  // kafkajs initializes the producer id with the first transaction: the new instance aborts the
  // zombie's open transaction and bumps the epoch, so the zombie can no longer write or commit.
  const ft = await fresh.transaction()
  await assert.rejects(zt.send({ topic, messages: values('late-', 1) }))
  await assert.rejects(zt.commit())
  await ft.send({ topic, messages: values('fresh-', 2) })
  await ft.commit()
  assert.deepEqual(
    await consumeAll(topic, false, 2),
    values('fresh-', 2).map((m) => m.value),
  )
  await fresh.disconnect()
  await zombie.disconnect().catch(() => {})
})

test('transaction.timeout.ms: a hung transaction is aborted and its producer fenced', async () => {
  const topic = 'kjs-txn-timeout'
  await createTopic(topic, 1)
  const producer = kafka.producer({
    transactionalId: 'kjs-timeout',
    transactionTimeout: 300,
    maxInFlightRequests: 1,
    idempotent: true,
    retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
  })
  await producer.connect()
  const txn = await producer.transaction()
  await txn.send({ topic, messages: values('hung-', 3) })
  const admin = kafka.admin()
  await admin.connect()
  await until('the coordinator aborts the transaction', async () => {
    const [o] = await admin.fetchTopicOffsets(topic)
    return o?.offset === '4'
  })
  await admin.disconnect()
  await assert.rejects(txn.commit())
  assert.equal(broker.core.txns.get('kjs-timeout')?.state, 'CompleteAbort')
  await producer.disconnect().catch(() => {})
})

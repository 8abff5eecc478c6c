/**
 * @platformatic/kafka transactions against samsa: commit and abort seen through READ_COMMITTED
 * and READ_UNCOMMITTED consumers, and a consumed message's offset committed inside a transaction
 * (addConsumer + addOffset) only when the transaction commits.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { type Platformatic, platformatic } from '../helpers/clients.ts'

let broker: Broker
let pk: Platformatic

before(async () => {
  broker = await startBroker({ config: { 'group.min.session.timeout.ms': '500' } })
  pk = await platformatic()
})
after(() => broker.close())

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await wait(50)
  }
}

function transactionalProducer(transactionalId: string) {
  return new pk.Producer({
    clientId: 'txn',
    bootstrapBrokers: [broker.bootstrap],
    idempotent: true,
    transactionalId,
    serializers: pk.stringSerializers,
  })
}

function consumer(groupId: string, isolationLevel: 0 | 1) {
  return new pk.Consumer({
    clientId: 'reader',
    bootstrapBrokers: [broker.bootstrap],
    groupId,
    isolationLevel,
    sessionTimeout: 3000,
    heartbeatInterval: 200,
    rebalanceTimeout: 3000,
    maxWaitTime: 100,
    deserializers: pk.stringDeserializers,
  })
}

async function readAll(topic: string, isolationLevel: 0 | 1, expected: number): Promise<string[]> {
  const c = consumer(`reader-${topic}-${isolationLevel}`, isolationLevel)
  const stream = await c.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const seen: string[] = []
  stream.on('data', (m: { value: unknown }) => seen.push(String(m.value)))
  await until(`${expected} records`, () => seen.length >= expected)
  await wait(500)
  await c.close(true)
  return seen.sort()
}

test('commit and abort: READ_COMMITTED sees the committed records, READ_UNCOMMITTED all', async () => {
  const topic = 'plt-txn'
  await broker.core.topics.create(topic, 2, {})
  const producer = transactionalProducer('plt-txn-1')
  for (const [prefix, commit] of [
    ['c1-', true],
    ['a1-', false],
    ['c2-', true],
  ] as const) {
    const txn = await producer.beginTransaction()
    await txn.send({
      messages: Array.from({ length: 6 }, (_, i) => ({ topic, key: `${prefix}${i}`, value: `${prefix}${i}` })),
    })
    if (commit) await txn.commit()
    else await txn.abort()
  }
  await producer.close()
  const expected = ['c1-', 'c2-'].flatMap((p) => Array.from({ length: 6 }, (_, i) => `${p}${i}`)).sort()
  assert.deepEqual(await readAll(topic, 1, 12), expected)
  assert.equal((await readAll(topic, 0, 18)).length, 18)
})

test('a consumed offset committed inside a transaction becomes visible on commit only', async () => {
  const input = 'plt-txn-in'
  const output = 'plt-txn-out'
  const groupId = 'plt-txn-group'
  await broker.core.topics.create(input, 1, {})
  await broker.core.topics.create(output, 1, {})
  const plain = new pk.Producer({
    clientId: 'plain',
    bootstrapBrokers: [broker.bootstrap],
    serializers: pk.stringSerializers,
  })
  await plain.send({ messages: [0, 1, 2].map((i) => ({ topic: input, value: `in${i}` })) })
  await plain.close()

  const c = consumer(groupId, 1)
  const stream = await c.consume({ topics: [input], mode: 'earliest', autocommit: false })
  const messages: unknown[] = []
  stream.on('data', (m: unknown) => messages.push(m))
  await until('3 input records', () => messages.length >= 3)
  stream.pause()

  const producer = transactionalProducer('plt-txn-ctp')
  let txn = await producer.beginTransaction()
  await txn.send({ messages: [{ topic: output, value: 'out0' }] })
  await txn.addConsumer(c)
  await txn.addOffset(messages[0] as Parameters<typeof txn.addOffset>[0])
  assert.equal(broker.core.groups.hasPendingOffset(groupId, input, 0), true)
  await txn.abort()
  assert.equal(broker.core.groups.offsets.get(groupId, input, 0), undefined, 'an abort drops the offset')

  txn = await producer.beginTransaction()
  await txn.send({ messages: [{ topic: output, value: 'out2' }] })
  await txn.addConsumer(c)
  await txn.addOffset(messages[2] as Parameters<typeof txn.addOffset>[0])
  await txn.commit()
  assert.equal(broker.core.groups.offsets.get(groupId, input, 0)?.offset, 3n)
  assert.equal(broker.core.groups.hasPendingOffset(groupId, input, 0), false)
  await producer.close()
  await c.close(true)
})

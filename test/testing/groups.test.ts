/**
 * Consumer groups through samsa/testing with kafkajs and @platformatic/kafka: waiting for a Stable
 * group instead of sleeping, reading the assignment and the committed offsets without a consumer.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startBroker, type TestBroker, uniqueName, WaitTimeoutError } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'

let broker: TestBroker
let pk: Platformatic

before(async () => {
  broker = await startBroker()
  pk = await platformatic()
})
after(() => broker.close())

const seeds = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))

test('kafkajs: two consumers, wait for Stable with 2 members, every partition assigned once, offsets committed', async () => {
  const topic = uniqueName('grp-kjs')
  const groupId = uniqueName('grp-kjs')
  await broker.createTopic({ name: topic, partitions: 4, records: seeds(40) })
  const kafka = kafkajsClient(broker.bootstrap)
  const seen = new Set<string>()
  const consumers = [
    kafka.consumer({ groupId, heartbeatInterval: 100, maxWaitTimeInMs: 100 }),
    kafka.consumer({ groupId, heartbeatInterval: 100, maxWaitTimeInMs: 100 }),
  ]
  for (const c of consumers) {
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
    await c.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) })
  }
  const group = await broker.waitForGroup(groupId, { members: 2 })
  assert.equal(group.type, 'classic')
  assert.equal(group.protocolType, 'consumer')
  const assigned = group.members.flatMap((m) => m.assignment[topic] ?? []).sort()
  assert.deepEqual(assigned, [0, 1, 2, 3])
  for (const [partition, { highWatermark }] of await Promise.all(
    [0, 1, 2, 3].map(async (p) => [p, await broker.offsets(topic, p)] as const),
  )) {
    await broker.waitForCommittedOffset(groupId, topic, partition, highWatermark)
  }
  assert.equal(seen.size, 40)
  assert.equal(
    broker.committedOffsets(groupId).reduce((sum, o) => sum + o.offset, 0),
    40,
  )
  await Promise.all(consumers.map((c) => c.disconnect()))
  await broker.waitForGroup(groupId, { state: 'Empty' })
})

test('@platformatic/kafka: classic and KIP-848 consumers reach Stable; committed offsets readable', async () => {
  for (const groupProtocol of ['classic', 'consumer'] as const) {
    const topic = uniqueName(`grp-pk-${groupProtocol}`)
    const groupId = uniqueName(`grp-pk-${groupProtocol}`)
    await broker.createTopic({ name: topic, partitions: 2, records: seeds(10) })
    const consumer = new pk.Consumer({
      clientId: 'pk-member',
      bootstrapBrokers: broker.brokers,
      groupId,
      groupProtocol,
      heartbeatInterval: 100,
      maxWaitTime: 50,
      deserializers: pk.stringDeserializers,
    } as ConstructorParameters<Platformatic['Consumer']>[0])
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 50 })
    let count = 0
    stream.on('data', () => void count++)
    // The KIP-848 consumer's fetch loop may report the client closing under it.
    stream.on('error', () => {})
    const group = await broker.waitForGroup(groupId, { members: 1 })
    assert.equal(group.type, groupProtocol)
    assert.deepEqual(group.members[0]?.assignment[topic], [0, 1])
    assert.equal(group.members[0]?.clientId, 'pk-member')
    await broker.waitForCommittedOffset(groupId, topic, 0, (await broker.offsets(topic, 0)).highWatermark)
    await broker.waitForCommittedOffset(groupId, topic, 1, (await broker.offsets(topic, 1)).highWatermark)
    assert.equal(count, 10)
    await stream.close()
    await consumer.close(true)
    await broker.waitForGroup(groupId, { state: 'Empty' })
  }
})

test('a wait that cannot succeed fails with what it wanted and what it saw', async () => {
  const topic = uniqueName('grp-timeout')
  await broker.createTopic(topic)
  await assert.rejects(broker.waitForGroup('nobody', { timeoutMs: 30 }), (err: Error) => {
    assert.ok(err instanceof WaitTimeoutError)
    assert.match(err.message, /timed out after 30 ms waiting for group "nobody" to be Stable; the group does not exist/)
    return true
  })
  await assert.rejects(
    broker.waitForOffset(topic, 0, 5, { timeoutMs: 30 }),
    /waiting for .*-0 high watermark to reach 5; it is at 0/,
  )
  await assert.rejects(broker.waitForCommittedOffset('g', topic, 0, 1, { timeoutMs: 30 }), /nothing is committed there/)
})

test('waitForOffset wakes on the append, not on a timer', async () => {
  const topic = uniqueName('grp-wake')
  await broker.createTopic(topic)
  const waiting = broker.waitForOffset(topic, 0, 3)
  const producer = kafkajsClient(broker.bootstrap).producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
  const t = performance.now()
  assert.equal(await waiting, 3)
  assert.ok(performance.now() - t < 100)
  await producer.disconnect()
})

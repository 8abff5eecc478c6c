/**
 * kafkajs consumer groups against samsa: members joining and leaving while a producer writes
 * (nothing lost, nothing read twice), a member killed with SIGKILL evicted after its session
 * timeout, and committed offsets read back through the admin client.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Consumer, Kafka } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient } from '../helpers/clients.ts'

let broker: Broker
let kafka: Kafka

before(async () => {
  broker = await startBroker({
    config: { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '500' },
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

function member(
  groupId: string,
  topic: string,
  seen: Map<string, number>,
): { consumer: Consumer; start(): Promise<void> } {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 3000,
    rebalanceTimeout: 4000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
  })
  return {
    consumer,
    async start() {
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ message }) => {
          const v = message.value?.toString() as string
          seen.set(v, (seen.get(v) ?? 0) + 1)
        },
      })
    },
  }
}

test('3 members share 12 partitions while members join and leave: no loss, no duplicate', async () => {
  const topic = 'kjs-churn'
  const groupId = 'kjs-churn-group'
  await createTopic(topic, 12)
  const producer = kafka.producer()
  await producer.connect()
  const total = 1200
  let produced = 0
  const producing = (async () => {
    while (produced < total) {
      const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${produced + i}`, value: `v${produced + i}` }))
      await producer.send({ topic, messages })
      produced += messages.length
      await wait(25)
    }
  })()
  const seen = new Map<string, number>()
  const a = member(groupId, topic, seen)
  const b = member(groupId, topic, seen)
  const c = member(groupId, topic, seen)
  await a.start()
  await wait(300)
  await b.start()
  await wait(300)
  await c.start()
  await wait(600)
  await b.consumer.disconnect()
  const d = member(groupId, topic, seen)
  await d.start()
  await producing
  await until('every record consumed', () => seen.size === total, 20_000)
  await wait(500)
  const duplicates = [...seen].filter(([, n]) => n > 1)
  assert.deepEqual(duplicates, [])
  const admin = kafka.admin()
  await admin.connect()
  const described = await admin.describeGroups([groupId])
  assert.equal(described.groups[0]?.state, 'Stable')
  assert.equal(described.groups[0]?.members.length, 3)
  await Promise.all([a.consumer.disconnect(), c.consumer.disconnect(), d.consumer.disconnect()])
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  const committed = offsets[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0)
  assert.equal(committed, total)
  await admin.disconnect()
  await producer.disconnect()
})

test('a member killed with SIGKILL is evicted after its session timeout', async () => {
  const topic = 'kjs-kill'
  const groupId = 'kjs-kill-group'
  await createTopic(topic, 12)
  const seen = new Map<string, number>()
  const survivor = member(groupId, topic, seen)
  await survivor.start()
  const script = fileURLToPath(new URL('./fixtures/kafkajs-member.js', import.meta.url))
  const child = spawn(process.execPath, [script, broker.bootstrap, groupId, topic, '1500'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const admin = kafka.admin()
  await admin.connect()
  const members = async (): Promise<number> => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0
  await until('two stable members', async () => {
    const g = (await admin.describeGroups([groupId])).groups[0]
    return g?.state === 'Stable' && g.members.length === 2
  })
  const killedAt = Date.now()
  child.kill('SIGKILL')
  await until('the killed member to be evicted', async () => (await members()) === 1)
  const evictedAfter = Date.now() - killedAt
  assert.ok(evictedAfter >= 1000, `evicted after ${evictedAfter} ms`)
  // The survivor now owns all 12 partitions and reads what is produced to any of them.
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({
    topic,
    messages: Array.from({ length: 120 }, (_, i) => ({ key: `k${i}`, value: `after-${i}` })),
  })
  await until(
    'the survivor to read every partition',
    () => [...seen.keys()].filter((k) => k.startsWith('after-')).length === 120,
  )
  assert.ok(out.includes('joined'))
  await producer.disconnect()
  await survivor.consumer.disconnect()
  await admin.disconnect()
})

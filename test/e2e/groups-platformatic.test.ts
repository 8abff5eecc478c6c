/**
 * @platformatic/kafka group consumers against samsa: the classic protocol with members joining
 * and leaving while a producer writes, static membership (a member restarted with the same
 * group.instance.id gets its partitions back without a rebalance), and the KIP-848 protocol
 * (groupProtocol 'consumer', server-side assignment).
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import type { ClassicGroup } from '../../src/coordinator/group/classic-group.ts'
import type { ConsumerGroup } from '../../src/coordinator/group/consumer-group.ts'
import { type Platformatic, platformatic, platformaticMemberOptions } from '../helpers/clients.ts'

let broker: Broker
let pk: Platformatic

before(async () => {
  broker = await startBroker({
    config: {
      'group.initial.rebalance.delay.ms': '0',
      'group.min.session.timeout.ms': '500',
      'group.consumer.heartbeat.interval.ms': '200',
      'group.consumer.session.timeout.ms': '2000',
    },
  })
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

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new pk.Admin({ clientId: 'admin', bootstrapBrokers: [broker.bootstrap] })
  await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
  await admin.close()
}

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = new pk.Producer({
    clientId: 'producer',
    bootstrapBrokers: [broker.bootstrap],
    serializers: pk.stringSerializers,
  })
  for (let i = from; i < from + count; i += 20) {
    const messages = Array.from({ length: Math.min(20, from + count - i) }, (_, j) => ({
      topic,
      key: `k${i + j}`,
      value: `v${i + j}`,
    }))
    await producer.send({ messages })
    await wait(20)
  }
  await producer.close()
}

type Consumer = InstanceType<Platformatic['Consumer']>

async function member(
  groupId: string,
  topic: string,
  seen: Map<string, number>,
  extra: Record<string, unknown> = {},
): Promise<Consumer> {
  const consumer = new pk.Consumer(
    platformaticMemberOptions(pk, { clientId: 'member', bootstrap: broker.bootstrap, groupId }, extra),
  )
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'committed',
    fallbackMode: 'earliest',
    autocommit: true,
  })
  stream.on('data', (m: { value: unknown }) => {
    const v = String(m.value)
    seen.set(v, (seen.get(v) ?? 0) + 1)
  })
  return consumer
}

test('classic protocol: members join and leave while a producer writes, nothing lost', async () => {
  const topic = 'plt-churn'
  const groupId = 'plt-churn-group'
  await createTopic(topic, 12)
  const seen = new Map<string, number>()
  const producing = produce(topic, 0, 600)
  const a = await member(groupId, topic, seen)
  const b = await member(groupId, topic, seen)
  const c = await member(groupId, topic, seen)
  await wait(500)
  await b.close(true)
  const d = await member(groupId, topic, seen)
  await producing
  await until('every record consumed', () => seen.size === 600)
  const group = broker.core.groups.group(groupId) as ClassicGroup
  await until('a stable group of 3', () => group.state === 'Stable' && group.members.size === 3)
  await Promise.all([a.close(true), c.close(true), d.close(true)])
  // Autocommit runs after processing, so a rebalance may replay a few records; none may be lost.
  assert.equal(seen.size, 600)
})

test('static membership: a restarted member gets its partitions back without a rebalance', async () => {
  const topic = 'plt-static'
  const groupId = 'plt-static-group'
  await createTopic(topic, 12)
  const seen = new Map<string, number>()
  const others = [
    await member(groupId, topic, seen, { groupInstanceId: 'static-a' }),
    await member(groupId, topic, seen, { groupInstanceId: 'static-b' }),
  ]
  const script = fileURLToPath(new URL('./fixtures/platformatic-member.js', import.meta.url))
  const startChild = (): { child: ChildProcessWithoutNullStreams; assigned: string[] } => {
    const child = spawn(process.execPath, [script, broker.bootstrap, groupId, topic, 'static-c', '4000'])
    const state = { child, assigned: [] as string[] }
    let buf = ''
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString()
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.startsWith('assigned ')) state.assigned.push(line.slice(9))
      }
    })
    return state
  }
  const first = startChild()
  const group = broker.core.groups.group(groupId) as ClassicGroup
  const ownedBy = (instanceId: string): string => {
    const m = [...group.members.values()].find((x) => x.groupInstanceId === instanceId)
    return m ? m.assignment.toString('hex') : ''
  }
  await until(
    '3 stable members',
    () => group.state === 'Stable' && group.members.size === 3 && first.assigned.length > 0,
  )
  await wait(300)
  const generation = group.generationId
  const before = ['static-a', 'static-b', 'static-c'].map(ownedBy)
  first.child.kill('SIGKILL')
  await wait(200)
  const second = startChild()
  await until('the restarted member to get an assignment', () => second.assigned.length > 0)
  assert.equal(group.generationId, generation, 'no rebalance happened')
  assert.equal(group.state, 'Stable')
  assert.deepEqual(['static-a', 'static-b', 'static-c'].map(ownedBy), before)
  assert.equal(second.assigned.at(-1), first.assigned.at(-1))
  second.child.kill('SIGKILL')
  await Promise.all(others.map((c) => c.close(true)))
})

test('KIP-848 protocol: members share partitions through server-side assignment', async () => {
  const topic = 'plt-848'
  const groupId = 'plt-848-group'
  await createTopic(topic, 12)
  const seen = new Map<string, number>()
  const extra = { groupProtocol: 'consumer', groupRemoteAssignor: 'uniform' }
  const a = await member(groupId, topic, seen, extra)
  const b = await member(groupId, topic, seen, extra)
  const producing = produce(topic, 0, 400)
  const c = await member(groupId, topic, seen, extra)
  await producing
  await until('every record consumed', () => seen.size === 400)
  const group = broker.core.groups.group(groupId) as ConsumerGroup
  await until('a stable group of 3', () => group.state === 'Stable' && group.members.size === 3)
  const counts = [...group.members.values()].map((m) => [...m.assigned.values()].flat().length)
  assert.deepEqual(counts, [4, 4, 4])
  await b.close(true)
  await until('2 members left', () => group.members.size === 2 && group.state === 'Stable')
  assert.deepEqual(
    [...group.members.values()].map((m) => [...m.assigned.values()].flat().length),
    [6, 6],
  )
  await Promise.all([a.close(true), c.close(true)])
  await until('the group to be empty', () => group.members.size === 0)
})

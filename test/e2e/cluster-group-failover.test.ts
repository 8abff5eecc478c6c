/**
 * A consumer group whose coordinator's broker is killed (issue 16: "a group rebalances at most
 * once on coordinator failover"). Two brokers over one PostgreSQL; two members of Apache Kafka's
 * Java consumer, whose coordinator handling is the reference, under the classic protocol and
 * under the consumer protocol (KIP-848). After SIGKILL of the coordinator's broker, the members
 * find the next coordinator, which continues the group from the database: the generation (member
 * epoch) moves at most once, every record is read, and the committed offsets reach the end.
 * Skipped where embedded PostgreSQL or the Java client is missing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Admin, Kafka } from 'kafkajs'
import { Admin as SamsaAdmin } from '../../src/client/admin.ts'
import { uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { TestCluster, waitForMembers } from '../helpers/cluster-process.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, type JavaProcess, startJavaProcess } from '../helpers/java-client.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'

const skip = !(await hasPostgres()) ? POSTGRES_MISSING : hasJavaClient ? false : JAVA_CLIENT_MISSING
const NODES = [1, 2]
const PARTITIONS = 4
const BEFORE = 100
const AFTER = 100

type MemberEvent =
  | { event: 'assigned'; generation: number; partitions: number[] }
  | { event: 'records'; values: string[] }
  | { event: 'commitFailed'; error: string }
  | { event: 'closed' }

const values = (m: JavaProcess<MemberEvent>): string[] =>
  m.events.flatMap((e) => (e.event === 'records' ? e.values : []))
const generations = (m: JavaProcess<MemberEvent>): number[] =>
  m.events.flatMap((e) => (e.event === 'assigned' ? [e.generation] : []))

describe('a group whose coordinator is killed, with the Java consumer', { skip }, () => {
  let cluster: TestCluster
  let kafka: Kafka
  let admin: Admin

  before(async () => {
    cluster = new TestCluster(await freshDatabase())
    for (const id of NODES) await cluster.start(id)
    await waitForMembers(cluster, NODES)
    kafka = kafkajsClient(cluster.bootstrap[0] as string, {
      brokers: cluster.bootstrap,
      retry: { retries: 20, initialRetryTime: 100 },
    })
    admin = kafka.admin()
    await admin.connect()
  })

  after(async () => {
    await admin?.disconnect()
    await cluster?.stopAll()
  })

  for (const protocol of ['classic', 'consumer'] as const) {
    test(`${protocol} protocol: the generation moves at most once, every record is read and committed`, async () => {
      for (const id of NODES) if (!cluster.brokers.has(id)) await cluster.start(id)
      await waitForMembers(cluster, NODES)
      const topic = uniqueName(`failover-${protocol}`)
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] })
      await waitForMembers(cluster, NODES, topic)
      const producer = kafka.producer({ idempotent: true })
      await producer.connect()
      const send = (from: number, count: number) =>
        producer.send({
          topic,
          acks: -1,
          messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
        })
      const groupId = uniqueName('java-failover')
      const members: JavaProcess<MemberEvent>[] = []
      const read = (): Set<string> => new Set(members.flatMap(values))
      const describe = (): string =>
        members
          .map((m, i) => `member ${i}: ${JSON.stringify(m.events.filter((e) => e.event !== 'records'))}\n${m.stderr()}`)
          .join('\n')
      try {
        await send(0, BEFORE)
        for (let i = 0; i < 2; i++)
          members.push(
            startJavaProcess<MemberEvent>('GroupMember', [cluster.bootstrap.join(','), topic, groupId, protocol]),
          )
        // Settled: both members hold partitions and everything so far is read.
        await waitUntil(
          'both members assigned and the first records read',
          () => members.every((m) => lastAssignment(m)?.length) && read().size >= BEFORE,
          { timeoutMs: 60_000 },
        )
        const settled = members.map((m) => Math.max(...generations(m)))
        const samsa = new SamsaAdmin({ bootstrap: cluster.bootstrap.join(',') })
        const coordinator = await samsa.cluster.coordinator(groupId)
        await samsa.close()
        await waitUntil('offsets committed', async () => (await committed(admin, groupId, topic)) === BEFORE)

        await cluster.stop(coordinator, 'SIGKILL')
        await send(BEFORE, AFTER)
        await waitUntil(`every record read after the kill\n${describe()}`, () => read().size >= BEFORE + AFTER, {
          timeoutMs: 60_000,
        })
        await waitUntil(
          'offsets committed to the end',
          async () => (await committed(admin, groupId, topic)) === BEFORE + AFTER,
          { timeoutMs: 30_000 },
        )
        for (const [i, m] of members.entries()) {
          const moved = generations(m).filter((g) => g > (settled[i] as number))
          assert.ok(
            new Set(moved).size <= 1,
            `member ${i}: at most one new generation after the failover, saw ${JSON.stringify(generations(m))}\n${describe()}`,
          )
        }
        const expected = Array.from({ length: BEFORE + AFTER }, (_, i) => `v${i}`)
        assert.deepEqual([...read()].sort(), expected.sort())
      } finally {
        await Promise.all(members.map((m) => m.stop()))
        await producer.disconnect()
      }
    })
  }
})

function lastAssignment(m: JavaProcess<MemberEvent>): number[] | undefined {
  const assigned = m.events.filter((e) => e.event === 'assigned')
  return (assigned.at(-1) as { partitions: number[] } | undefined)?.partitions
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return offsets?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) ?? 0
}

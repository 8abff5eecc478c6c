/**
 * A samsa cluster: three `samsa broker` processes over one PostgreSQL. Real clients see three
 * brokers leading a balanced share of the partitions; kafkajs, @platformatic/kafka and kcat
 * produce to all of them; a consumer group whose members talk to every broker reads each record
 * once, in order per partition. A broker killed with SIGKILL during acks=all idempotent
 * production loses nothing acknowledged, doubles nothing, and the producer writes again within
 * seconds (the gap is printed); a group whose coordinator is killed goes on with its committed
 * offsets; the leader sends a consumer of another rack to a replica there (KIP-392), and kafkajs
 * and kcat follow; every broker restarted in turn under load shows the application no error. A
 * fourth broker added under load (reaching the database through a proxy) takes a share and serves
 * it, and when its link is cut the others take over without any offset acknowledged twice.
 * Skipped where embedded PostgreSQL cannot start.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Admin, Kafka, Producer } from 'kafkajs'
import { Admin as SamsaAdmin } from '../../src/client/admin.ts'
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchResponse,
} from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { runCli } from '../cli/helpers.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { TestCluster, waitForMembers } from '../helpers/cluster-process.ts'
import { hasKcat, kcat } from '../helpers/kcat.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING
const NODES = [1, 2, 3]
const RACK_AWARE = 'org.apache.kafka.common.replica.RackAwareReplicaSelector'
/** Broker n sits in rack "rack-n". */
const rack = (nodeId: number): string[] => ['--set', `broker.rack=rack-${nodeId}`]

interface Seen {
  partition: number
  offset: number
  value: string
}

/**
 * A fresh group of `members` kafkajs consumers reading `topic` from the beginning; resolves once
 * every member has its assignment in one generation, so records produced from then on are read
 * without a rebalance in between (which could hand a partition over before its offsets were
 * committed, and have it read again, as with any Kafka client).
 */
async function startGroup(kafka: Kafka, topic: string, members: number, partitions: number) {
  const groupId = uniqueName('cluster-reader')
  const seen: Seen[] = []
  const joined = new Map<number, number>()
  let lastJoin = Date.now()
  const consumers = Array.from({ length: members }, () => kafka.consumer({ groupId, maxWaitTimeInMs: 100 }))
  for (const [i, consumer] of consumers.entries()) {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      joined.set(
        i,
        Object.values(payload.memberAssignment).reduce((n, ps) => n + ps.length, 0),
      )
      lastJoin = Date.now()
    })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, offset: Number(message.offset), value: String(message.value) })
      },
    })
  }
  // Settled: every member holds its share of the partitions and nobody joined again for a second.
  await waitUntil('every member assigned', () => {
    const sum = [...joined.values()].reduce((n, j) => n + j, 0)
    return joined.size === members && sum === partitions && Date.now() - lastJoin > 1000
  })
  return {
    seen,
    /** Waits for `count` records, then stops the group. */
    async readUntil(count: number): Promise<Seen[]> {
      try {
        await waitUntil(`${count} records of ${topic}`, () => seen.length >= count, { timeoutMs: 30_000 })
        await new Promise((resolve) => setTimeout(resolve, 300))
      } finally {
        await Promise.all(consumers.map((c) => c.disconnect()))
      }
      return seen
    },
  }
}

/** Reads `topic` (of `partitions` partitions) from the beginning with a fresh one-member group until `count` records came. */
async function readWithGroup(kafka: Kafka, topic: string, partitions: number, count: number): Promise<Seen[]> {
  return (await startGroup(kafka, topic, 1, partitions)).readUntil(count)
}

/** Each value once, and offsets rising within every partition. */
function assertOnceInOrder(seen: Seen[], expected: Set<string>): void {
  const values = seen.map((s) => s.value)
  const twice = seen.filter((s, i) => values.indexOf(s.value) !== i)
  assert.deepEqual(twice, [], 'no record read twice')
  assert.deepEqual(new Set(values), expected)
  const last = new Map<number, number>()
  for (const s of seen) {
    assert.ok(s.offset > (last.get(s.partition) ?? -1), `partition ${s.partition} read in order`)
    last.set(s.partition, s.offset)
  }
}

/** The brokers of NODES (broker n in rack-n) on a fresh database, with a kafkajs client and admin. */
async function openCluster(extra: string[] = []): Promise<{ cluster: TestCluster; kafka: Kafka; admin: Admin }> {
  const cluster = new TestCluster(await freshDatabase(), extra)
  for (const id of NODES) await cluster.start(id, { extra: rack(id) })
  const kafka = kafkajsClient(cluster.bootstrap[0] as string, { retry: { retries: 20, initialRetryTime: 100 } })
  const admin = kafka.admin()
  await admin.connect()
  await waitForMembers(cluster, NODES)
  return { cluster, kafka, admin }
}

/** Producers of the tests, disconnected at the end even when a test failed before it disconnected its own. */
const producers = new Set<Producer>()

function track(producer: Producer): Producer {
  producers.add(producer)
  return producer
}

async function closeCluster(cluster: TestCluster | undefined, admin: Admin | undefined): Promise<void> {
  for (const p of producers) await p.disconnect().catch(() => {})
  producers.clear()
  await admin?.disconnect()
  await cluster?.stopAll()
}

describe('three samsa brokers over one PostgreSQL', { skip }, () => {
  let cluster: TestCluster
  let kafka: Kafka
  let admin: Admin

  before(async () => {
    ;({ cluster, kafka, admin } = await openCluster([
      '--set',
      'group.min.session.timeout.ms=500',
      '--set',
      `replica.selector.class=${RACK_AWARE}`,
    ]))
  })

  after(() => closeCluster(cluster, admin))

  /** Starts the brokers of NODES a failed test left stopped, so the next test finds all three. */
  const restoreNodes = async (): Promise<void> => {
    for (const id of NODES) if (!cluster.brokers.has(id)) await cluster.start(id, { extra: rack(id) })
    await waitForMembers(cluster, NODES)
  }

  test('spread partitions; kafkajs, @platformatic/kafka and kcat produce to all; a group reads each record once', async () => {
    const topic = uniqueName('spread')
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 2 }] })
    // Every broker sees the others within a heartbeat; then each leads its share.
    const partitions = await waitUntil(
      'two partitions led by each broker',
      async () => {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] })
        const found = meta.topics[0]?.partitions ?? []
        const leaders = found.map((p) => p.leader)
        return NODES.every((id) => leaders.filter((l) => l === id).length === 2) && found
      },
      { timeoutMs: 10_000 },
    )
    for (const p of partitions) {
      assert.equal(p.replicas.length, 2)
      assert.equal(p.replicas[0], p.leader)
    }

    // Members on different brokers' partitions; the coordinator is on one of them.
    const group = await startGroup(kafka, topic, 3, 6)
    const expected = new Set<string>()
    const producer = track(kafka.producer({ idempotent: true }))
    await producer.connect()
    const kafkajsValues = Array.from({ length: 300 }, (_, i) => `kafkajs-${i}`)
    for (let i = 0; i < kafkajsValues.length; i += 50) {
      await producer.send({
        topic,
        acks: -1,
        messages: kafkajsValues.slice(i, i + 50).map((value, j) => ({ key: `k${i + j}`, value })),
      })
    }
    await producer.disconnect()
    for (const v of kafkajsValues) expected.add(v)

    const { Producer, stringSerializers } = await platformatic()
    const pProducer = new Producer({
      clientId: 'cluster-test',
      bootstrapBrokers: cluster.bootstrap,
      serializers: stringSerializers,
      idempotent: true,
    })
    const platformaticValues = Array.from({ length: 120 }, (_, i) => `platformatic-${i}`)
    await pProducer.send({ messages: platformaticValues.map((value, i) => ({ topic, key: `p${i}`, value })) })
    await pProducer.close()
    for (const v of platformaticValues) expected.add(v)

    if (hasKcat) {
      const kcatValues = Array.from({ length: 60 }, (_, i) => `kcat-${i}`)
      await kcat(
        ['-b', cluster.bootstrap.join(','), '-P', '-t', topic, '-K', ':'],
        kcatValues.map((v, i) => `c${i}:${v}`).join('\n'),
      )
      for (const v of kcatValues) expected.add(v)
    }

    const seen = await group.readUntil(expected.size)
    assertOnceInOrder(seen, expected)
    assert.equal(new Set(seen.map((s) => s.partition)).size, 6, 'every partition has records')
  })

  test('SIGKILL of a broker during acks=all idempotent production: nothing acknowledged lost or doubled, writing again within seconds', async () => {
    await restoreNodes()
    const topic = uniqueName('failover')
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] })
    await waitForMembers(cluster, [...cluster.brokers.keys()], topic)
    const producer = track(
      kafka.producer({
        idempotent: true,
        retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
      }),
    )
    await producer.connect()
    const acked: string[] = []
    const ackTimes: number[] = []
    let stop = false
    let killedAt = 0
    const produce = (async () => {
      for (let i = 0; !stop; i++) {
        const value = `v-${i}`
        await producer.send({ topic, acks: -1, messages: [{ key: `k${i % 24}`, value }] })
        acked.push(value)
        ackTimes.push(Date.now())
      }
    })()
    // Reported where the test awaits it, not as an unhandled rejection meanwhile.
    produce.catch(() => {})
    const victim = NODES[NODES.length - 1] as number
    try {
      await waitUntil('records acknowledged before the kill', () => acked.length >= 200, { timeoutMs: 20_000 })
      killedAt = Date.now()
      await cluster.stop(victim, 'SIGKILL')
      const ackedAtKill = acked.length
      await waitUntil('records acknowledged after the kill', () => acked.length >= ackedAtKill + 200, {
        timeoutMs: 30_000,
      })
    } finally {
      // Also when a wait failed: a producer left sending would keep the test file from ending.
      stop = true
    }
    await produce
    await producer.disconnect()
    let gap = 0
    for (let i = 1; i < ackTimes.length; i++) {
      if ((ackTimes[i] as number) >= killedAt)
        gap = Math.max(gap, (ackTimes[i] as number) - (ackTimes[i - 1] as number))
    }
    console.log(`# producer gap after SIGKILL of broker ${victim}: ${(gap / 1000).toFixed(2)} s (lease 3 s)`)
    assert.ok(gap < 10_000, `producing again within 10 s (gap ${gap} ms)`)

    const survivors = NODES.filter((id) => id !== victim)
    await waitForMembers(cluster, survivors, topic)
    // `samsa cluster info` shows the dead broker still registered, its lease lapsed.
    const info = await runCli(['cluster', 'info', '--json', '--no-apis', '--bootstrap', cluster.bootstrap[0] as string])
    assert.equal(info.code, 0, info.stderr)
    const leases = (JSON.parse(info.stdout) as { brokers: { nodeId: number; lease: string }[] }).brokers.map(
      (b) => `${b.nodeId}:${b.lease}`,
    )
    assert.deepEqual(leases, [...survivors.map((id) => `${id}:held`), `${victim}:lapsed`])
    const seen = await readWithGroup(kafka, topic, 6, acked.length)
    assertOnceInOrder(seen, new Set(acked))
    // Per key (one partition each), the log holds the values in the order they were acknowledged.
    const ackIndex = new Map(acked.map((v, i) => [v, i]))
    const byPartition = new Map<number, number[]>()
    for (const s of seen)
      byPartition.set(s.partition, [...(byPartition.get(s.partition) ?? []), ackIndex.get(s.value) as number])
    for (const [partition, order] of byPartition) {
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `partition ${partition} in acknowledgement order`,
      )
    }
    await cluster.start(victim, { extra: rack(victim) })
    await waitForMembers(cluster, NODES, topic)
  })

  test("a group keeps its committed offsets and goes on when its coordinator's broker is killed", async () => {
    await restoreNodes()
    const topic = uniqueName('group-failover')
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    await waitForMembers(cluster, NODES, topic)
    const producer = track(kafka.producer({ idempotent: true }))
    await producer.connect()
    const send = async (from: number, count: number): Promise<void> => {
      const messages = Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `g-${from + i}` }))
      await producer.send({ topic, acks: -1, messages })
    }
    await send(0, 150)
    const groupId = uniqueName('failover-group')
    const seen = new Set<string>()
    // kafkajs looks for the coordinator only when it joins: after the kill its heartbeats and
    // commits fail until its retries run out, and the consumer then restarts itself and joins the
    // group at the new coordinator. Short retries make that a few seconds, not kafkajs' default
    // ten (or the thirty this test once waited, which outlasted its own wait on a busy machine).
    const consumers = [0, 1].map(() =>
      kafka.consumer({
        groupId,
        maxWaitTimeInMs: 100,
        sessionTimeout: 6000,
        retry: { retries: 6, initialRetryTime: 100, maxRetryTime: 1000 },
      }),
    )
    for (const c of consumers) {
      await c.connect()
      await c.subscribe({ topic, fromBeginning: true })
      await c.run({ eachMessage: async ({ message }) => void seen.add(String(message.value)) })
    }
    await waitUntil('the first 150 records consumed', () => seen.size >= 150, { timeoutMs: 30_000 })
    const samsa = new SamsaAdmin({ bootstrap: cluster.bootstrap.join(',') })
    const coordinator = await samsa.cluster.coordinator(groupId)
    await samsa.close()
    // Commits of kafkajs land after each batch: wait until the group's offsets cover everything.
    await waitUntil('offsets committed', async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
      return offsets?.partitions.reduce((n, p) => n + Number(p.offset), 0) === 150
    })
    try {
      await cluster.stop(coordinator, 'SIGKILL')
      await send(150, 150)
      await waitUntil('records produced after the kill consumed', () => seen.size >= 300, { timeoutMs: 60_000 })
    } finally {
      // Also when a wait failed: consumers left running would keep the test file from ending.
      await Promise.all(consumers.map((c) => c.disconnect()))
    }
    await producer.disconnect()
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.equal(
      offsets?.partitions.reduce((n, p) => n + Number(p.offset), 0),
      300,
      'committed offsets reach the end',
    )
    await cluster.start(coordinator, { extra: rack(coordinator) })
    await waitForMembers(cluster, NODES)
  })

  test('KIP-392: the leader sends a consumer of another rack to the replica in its rack, which serves it', async () => {
    await restoreNodes()
    const topic = uniqueName('racks')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] })
    await waitForMembers(cluster, NODES, topic)
    const producer = track(kafka.producer())
    await producer.connect()
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `r-${i}` })) })
    await producer.disconnect()
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    const leader = meta?.partitions[0]?.leader as number
    const other = NODES.find((id) => id !== leader) as number
    const portOf = (id: number): number => Number(cluster.brokers.get(id)?.bootstrap.split(':').pop())
    const fetchFrom = async (nodeId: number, rackId: string): Promise<FetchResponse> => {
      const client = await RawClient.connect(portOf(nodeId))
      try {
        const request = createFetchRequest({
          maxWaitMs: 0,
          maxBytes: 1 << 20,
          rackId,
          topics: [
            createFetchTopic({
              topic,
              partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 1 << 20 })],
            }),
          ],
        })
        return await client.send<FetchResponse>(ApiKey.Fetch, 11, request)
      } finally {
        await client.close()
      }
    }
    const redirected = (await fetchFrom(leader, `rack-${other}`)).responses[0]?.partitions[0]
    assert.equal(redirected?.errorCode, 0)
    assert.equal(redirected?.preferredReadReplica, other)
    assert.equal(redirected?.records?.length ?? 0, 0, 'no records with a redirection')
    const stays = (await fetchFrom(leader, `rack-${leader}`)).responses[0]?.partitions[0]
    assert.equal(stays?.preferredReadReplica, -1)
    assert.ok((stays?.records?.length ?? 0) > 0)
    // The replica hears of the leader's commits a moment later (its notice, as a Kafka follower
    // fetches them): it serves the consumer meanwhile, and reaches the leader's high watermark.
    const follower = await waitUntil('the replica at the high watermark', async () => {
      const p = (await fetchFrom(other, `rack-${other}`)).responses[0]?.partitions[0]
      assert.equal(p?.errorCode, 0, 'the replica serves the consumer')
      return p?.highWatermark === 20n && p
    })
    assert.ok((follower.records?.length ?? 0) > 0)

    // Real clients follow the redirection and read everything.
    const rackConsumer = kafka.consumer({
      groupId: uniqueName('rack-reader'),
      rackId: `rack-${other}`,
      maxWaitTimeInMs: 100,
    })
    const values: string[] = []
    await rackConsumer.connect()
    await rackConsumer.subscribe({ topic, fromBeginning: true })
    await rackConsumer.run({ eachMessage: async ({ message }) => void values.push(String(message.value)) })
    await waitUntil('kafkajs with a rack read the topic', () => values.length >= 20, { timeoutMs: 20_000 })
    await rackConsumer.disconnect()
    assert.deepEqual(
      values,
      Array.from({ length: 20 }, (_, i) => `r-${i}`),
    )
    if (hasKcat) {
      const out = await kcat([
        '-b',
        cluster.bootstrap.join(','),
        '-C',
        '-t',
        topic,
        '-e',
        '-X',
        `client.rack=rack-${other}`,
        '-f',
        '%s\\n',
      ])
      assert.deepEqual(out.trim().split('\n'), values)
    }
  })

  test('rolling restart of every broker under load: no error reaches the application', async () => {
    await restoreNodes()
    const topic = uniqueName('rolling')
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] })
    await waitForMembers(cluster, NODES, topic)
    const producer = track(kafka.producer({ idempotent: true }))
    await producer.connect()
    const acked: string[] = []
    let stop = false
    const produce = (async () => {
      for (let i = 0; !stop; i++) {
        await producer.send({ topic, acks: -1, messages: [{ key: `k${i % 12}`, value: `roll-${i}` }] })
        acked.push(`roll-${i}`)
      }
    })()
    // Reported where the test awaits it, not as an unhandled rejection meanwhile.
    let failed: unknown
    produce.catch((err: unknown) => {
      failed = err
    })
    try {
      for (const id of NODES) {
        const before = acked.length
        await cluster.stop(id, 'SIGTERM')
        await waitUntil(`records acknowledged without broker ${id}`, () => acked.length >= before + 50, {
          timeoutMs: 20_000,
          describe: () =>
            `${acked.length - before} acknowledged; the producer ${failed ? `failed: ${failed}` : 'waits'}`,
        })
        await cluster.start(id, { extra: rack(id) })
        await waitForMembers(cluster, NODES, topic)
      }
    } finally {
      stop = true
      await restoreNodes()
    }
    await produce
    await producer.disconnect()
    const seen = await readWithGroup(kafka, topic, 6, acked.length)
    assertOnceInOrder(seen, new Set(acked))
  })
})

describe('a samsa broker cut off from its PostgreSQL', { skip }, () => {
  let cluster: TestCluster
  let kafka: Kafka
  let admin: Admin

  before(async () => {
    ;({ cluster, kafka, admin } = await openCluster())
  })

  after(() => closeCluster(cluster, admin))

  test('a broker added under load takes a share and serves it; cut off from the database, it stops leading before another takes over, and nothing is acknowledged twice', async () => {
    const topic = uniqueName('cut-off')
    const proxy = await startTcpProxy(databaseAddress(cluster.url))
    const extra = 4
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 8 }] })
      await waitForMembers(cluster, NODES, topic)
      const producer = track(
        kafka.producer({
          idempotent: true,
          retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
        }),
      )
      await producer.connect()
      /** Values by "partition@offset", in the order acknowledged. */
      const acked = new Map<string, string>()
      const partitionsAcked: number[] = []
      let stop = false
      const produce = (async () => {
        for (let i = 0; !stop; i++) {
          const value = `cut-${i}`
          // Every partition in turn (keys k0-k15 hash to only six of the eight): the new broker's share gets records.
          const [result] = await producer.send({ topic, acks: -1, messages: [{ partition: i % 8, value }] })
          const where = `${result?.partition}@${result?.baseOffset}`
          assert.equal(acked.has(where), false, `offset ${where} acknowledged twice`)
          acked.set(where, value)
          partitionsAcked.push(result?.partition ?? -1)
        }
      })()
      // Reported where the test awaits it, not as an unhandled rejection meanwhile.
      let failed: unknown
      produce.catch((err: unknown) => {
        failed = err
      })
      const describe = (since: number) => () =>
        `${acked.size - since} acknowledged since; the producer ${failed ? `failed: ${failed}` : 'waits'}`
      try {
        await waitUntil('records acknowledged by three brokers', () => acked.size >= 100, {
          timeoutMs: 20_000,
          describe: describe(0),
        })
        await cluster.start(extra, { extra: rack(extra), url: viaProxy(cluster.url, proxy.port) })
        await waitForMembers(cluster, [...NODES, extra], topic)
        const meta = await admin.fetchTopicMetadata({ topics: [topic] })
        const ledByExtra = new Set(
          meta.topics[0]?.partitions.filter((p) => p.leader === extra).map((p) => p.partitionId),
        )
        assert.ok(ledByExtra.size >= 1, 'the new broker leads a share')
        const atJoin = partitionsAcked.length
        await waitUntil(
          'records acknowledged by the new broker',
          () => partitionsAcked.slice(atJoin).filter((p) => ledByExtra.has(p)).length >= 20,
          { timeoutMs: 20_000, describe: describe(atJoin) },
        )

        proxy.cut()
        const atCut = acked.size
        await waitUntil('records acknowledged after the cut', () => acked.size >= atCut + 150, {
          timeoutMs: 30_000,
          describe: describe(atCut),
        })
      } finally {
        // Also when a wait failed: a producer left sending would keep the test file from ending.
        stop = true
      }
      await produce
      await producer.disconnect()
      await waitForMembers(cluster, NODES, topic)
      const seen = await readWithGroup(kafka, topic, 8, acked.size)
      assertOnceInOrder(seen, new Set(acked.values()))
      for (const s of seen) {
        const expected = acked.get(`${s.partition}@${s.offset}`)
        if (expected !== undefined)
          assert.equal(s.value, expected, `the record acknowledged at ${s.partition}@${s.offset}`)
      }
    } finally {
      await cluster.stop(extra, 'SIGKILL')
      await proxy.close()
    }
  })
})

/** Host and port of a postgres:// URL. */
function databaseAddress(url: string): { host: string; port: number } {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port) }
}

/** The same database through a proxy on 127.0.0.1:port. */
function viaProxy(url: string, port: number): string {
  const u = new URL(url)
  u.hostname = '127.0.0.1'
  u.port = String(port)
  return u.toString()
}

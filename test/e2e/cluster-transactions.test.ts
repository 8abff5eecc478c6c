/**
 * Transactions in a samsa cluster: three `samsa broker` processes over one PostgreSQL, where a
 * transaction's partitions are led by other brokers than its coordinator, so its markers travel
 * in WriteTxnMarkers requests between brokers. kafkajs, @platformatic/kafka and
 * @confluentinc/kafka-javascript (when installed) commit and abort transactions over partitions
 * of every broker, and read_committed consumers see exactly the committed records, in order. In
 * consume-transform-produce the group's coordinator is another broker than the transaction's:
 * offsets sent with the transaction stay unstable until it ends and are committed only with it,
 * also when the group's coordinator is killed in between. A transaction coordinator killed with
 * an open transaction, or just after EndTxn was sent, is replaced by another broker that aborts
 * or completes the transaction, and read_committed consumers read on past it. WriteTxnMarkers
 * itself answers per partition as Kafka does. Skipped where embedded PostgreSQL cannot start.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Admin, Kafka, Producer } from 'kafkajs'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createFindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../src/protocol/generated/find-coordinator.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts'
import {
  createWritableTxnMarker,
  createWriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
} from '../../src/protocol/generated/write-txn-markers.ts'
import { uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { CONFLUENT_MISSING, confluentKafkaJS, kafkajsClient, platformatic } from '../helpers/clients.ts'
import { TestCluster, waitForMembers } from '../helpers/cluster-process.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING
const NODES = [1, 2, 3]
const PARTITIONS = 6
const GROUP_KEY = 0
const TRANSACTION_KEY = 1
/** Open transactions of the failover tests time out quickly; the coordinator checks often. */
const TXN_TIMEOUT_MS = 4000

interface Seen {
  partition: number
  offset: number
  value: string
}

/** One transaction of a test: records by partition, and how it ends. */
interface Txn {
  records: { partition: number; value: string }[]
  commit: boolean
}

describe('transactions across the brokers of a cluster', { skip }, () => {
  let cluster: TestCluster
  let kafka: Kafka
  let admin: Admin
  const producers = new Set<Producer>()

  /** A kafkajs client whose seed brokers are the running ones (a test kills one). */
  const liveClient = (): Kafka =>
    kafkajsClient(cluster.bootstrap[0] as string, {
      brokers: cluster.bootstrap,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
    })

  before(async () => {
    cluster = new TestCluster(await freshDatabase(), [
      '--set',
      'group.min.session.timeout.ms=500',
      '--set',
      'transaction.abort.timed.out.transaction.cleanup.interval.ms=500',
    ])
    for (const id of NODES) await cluster.start(id)
    // Every broker as a seed: a test kills one, and a new client must still find the cluster.
    kafka = liveClient()
    admin = kafka.admin()
    await admin.connect()
    await waitForMembers(cluster, NODES)
  })

  after(async () => {
    for (const p of producers) await p.disconnect().catch(() => {})
    await admin?.disconnect()
    await cluster?.stopAll()
  })

  const track = (p: Producer): Producer => {
    producers.add(p)
    return p
  }

  /** Starts the brokers a test stopped (or a failed test left stopped), and waits for every view to hold all. */
  const restoreNodes = async (): Promise<void> => {
    let started = false
    for (const id of NODES) {
      if (cluster.brokers.has(id)) continue
      await cluster.start(id)
      started = true
    }
    if (started) await waitForMembers(cluster, NODES)
  }

  const port = (nodeId: number): number => Number(cluster.brokers.get(nodeId)?.bootstrap.split(':').pop())

  /** Sends one request to broker `nodeId`. */
  async function ask<Res>(nodeId: number, apiKey: number, version: number, request: unknown): Promise<Res> {
    const client = await RawClient.connect(port(nodeId))
    try {
      return await client.send<Res>(apiKey, version, request)
    } finally {
      await client.close()
    }
  }

  /** The coordinator of a group (key type 0) or transactional id (1), as the first running broker says. */
  async function coordinatorOf(key: string, keyType: number): Promise<number> {
    const [any] = [...cluster.brokers.keys()]
    const res = await ask<FindCoordinatorResponse>(
      any as number,
      ApiKey.FindCoordinator,
      4,
      createFindCoordinatorRequest({ keyType, coordinatorKeys: [key] }),
    )
    return res.coordinators[0]?.nodeId ?? -1
  }

  /** A fresh id whose coordinator satisfies `wanted`. */
  async function idWith(prefix: string, keyType: number, wanted: (nodeId: number) => boolean) {
    for (;;) {
      const id = uniqueName(prefix)
      const coordinator = await coordinatorOf(id, keyType)
      if (wanted(coordinator)) return { id, coordinator }
    }
  }

  /** A new topic whose partitions every broker leads a share of; returns each partition's leader. */
  async function spreadTopic(prefix: string, partitions = PARTITIONS): Promise<{ topic: string; leaders: number[] }> {
    const topic = uniqueName(prefix)
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 2 }] })
    const leaders = await waitUntil(
      `${topic} led by every broker`,
      async () => {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] })
        const found = [...(meta.topics[0]?.partitions ?? [])].sort((a, b) => a.partitionId - b.partitionId)
        const ids = found.map((p) => p.leader)
        return found.length === partitions && NODES.every((n) => ids.includes(n)) && ids
      },
      { timeoutMs: 30_000 },
    )
    return { topic, leaders }
  }

  /** Three transactions over every partition: committed, aborted, committed. */
  function threeTransactions(tag: string): Txn[] {
    return (['c1', 'a1', 'c2'] as const).map((name) => ({
      commit: name.startsWith('c'),
      records: Array.from({ length: PARTITIONS * 2 }, (_, i) => ({
        partition: i % PARTITIONS,
        value: `${tag}-${name}-${i}`,
      })),
    }))
  }

  /**
   * Reads `topic` read_committed with a fresh kafkajs group of `client` until `done` holds, then
   * `settleMs` longer (anything read beyond what was awaited shows up then).
   */
  async function readCommittedUntil(
    client: Kafka,
    topic: string,
    what: string,
    done: (seen: Seen[]) => boolean,
    settleMs = 0,
  ): Promise<Seen[]> {
    const consumer = client.consumer({ groupId: uniqueName('rc-reader'), maxWaitTimeInMs: 100 })
    const seen: Seen[] = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.push({ partition, offset: Number(message.offset), value: String(message.value) })
        },
      })
      await waitUntil(what, () => done(seen), { timeoutMs: 60_000 })
      await new Promise((resolve) => setTimeout(resolve, settleMs))
    } finally {
      await consumer.disconnect()
    }
    return seen
  }

  /** Reads `topic` read_committed until `count` records came, then a moment longer. */
  function readCommitted(topic: string, count: number): Promise<Seen[]> {
    return readCommittedUntil(kafka, topic, `${count} committed records of ${topic}`, (s) => s.length >= count, 500)
  }

  /** read_committed sees exactly the committed transactions' records, each partition in produce order. */
  async function assertCommittedOnly(topic: string, txns: Txn[]): Promise<void> {
    const committed = txns.filter((t) => t.commit).flatMap((t) => t.records)
    const seen = await readCommitted(topic, committed.length)
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(
        seen.filter((s) => s.partition === p).map((s) => s.value),
        committed.filter((r) => r.partition === p).map((r) => r.value),
        `partition ${p}: the committed records, in order`,
      )
    }
    assert.equal(seen.length, committed.length)
  }

  /** A transactional id coordinated by one broker, and a topic of which it leads a share only. */
  async function setup(tag: string) {
    const { topic, leaders } = await spreadTopic(tag)
    const { id, coordinator } = await idWith(`${tag}-tx`, TRANSACTION_KEY, () => true)
    assert.ok(
      leaders.some((l) => l !== coordinator),
      'partitions led by other brokers than the coordinator',
    )
    return { topic, transactionalId: id }
  }

  test('kafkajs: commit and abort over partitions of every broker; read_committed sees the committed records in order', async () => {
    await restoreNodes()
    const { topic, transactionalId } = await setup('kjs-txn')
    const producer = track(kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }))
    await producer.connect()
    const txns = threeTransactions('kjs')
    for (const t of txns) {
      const txn = await producer.transaction()
      await txn.send({ topic, acks: -1, messages: t.records.map((r) => ({ partition: r.partition, value: r.value })) })
      if (t.commit) await txn.commit()
      else await txn.abort()
    }
    await producer.disconnect()
    await assertCommittedOnly(topic, txns)
  })

  test('@platformatic/kafka: commit and abort over partitions of every broker', async () => {
    await restoreNodes()
    const { topic, transactionalId } = await setup('plt-txn')
    const pk = await platformatic()
    const producer = new pk.Producer({
      clientId: 'cluster-txn',
      bootstrapBrokers: cluster.bootstrap,
      idempotent: true,
      transactionalId,
      serializers: pk.stringSerializers,
    })
    try {
      const txns = threeTransactions('plt')
      for (const t of txns) {
        const txn = await producer.beginTransaction()
        await txn.send({ messages: t.records.map((r) => ({ topic, partition: r.partition, value: r.value })) })
        if (t.commit) await txn.commit()
        else await txn.abort()
      }
      await assertCommittedOnly(topic, txns)
    } finally {
      await producer.close()
    }
  })

  const confluent = confluentKafkaJS()
  test('@confluentinc/kafka-javascript: commit and abort over partitions of every broker', {
    skip: confluent ? false : CONFLUENT_MISSING,
  }, async () => {
    await restoreNodes()
    const { topic, transactionalId } = await setup('ckjs-txn')
    const { Kafka: ConfluentKafka, logLevel } = confluent!
    const client = new ConfluentKafka({
      kafkaJS: { brokers: cluster.bootstrap, clientId: 'cluster-txn', logLevel: logLevel.NOTHING },
    })
    const producer = client.producer({ kafkaJS: { transactionalId, idempotent: true, maxInFlightRequests: 1 } })
    await producer.connect()
    try {
      const txns = threeTransactions('ckjs')
      for (const t of txns) {
        const txn = await producer.transaction()
        await txn.send({ topic, messages: t.records.map((r) => ({ partition: r.partition, value: r.value })) })
        if (t.commit) await txn.commit()
        else await txn.abort()
      }
      await assertCommittedOnly(topic, txns)
    } finally {
      await producer.disconnect()
    }
  })

  /** OffsetFetch with require_stable at the group's coordinator: [error code, offset] of one partition. */
  async function stableOffset(groupId: string, topic: string, partition: number): Promise<[number, bigint]> {
    const coordinator = await coordinatorOf(groupId, GROUP_KEY)
    const res = await ask<OffsetFetchResponse>(
      coordinator,
      ApiKey.OffsetFetch,
      7,
      createOffsetFetchRequest({
        groupId,
        topics: [{ name: topic, partitionIndexes: [partition] }],
        requireStable: true,
      }),
    )
    const p = res.topics[0]?.partitions[0]
    return [p?.errorCode ?? -1, p?.committedOffset ?? -2n]
  }

  async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((fetched?.partitions ?? []).map((p) => [p.partition, p.offset]))
  }

  test('consume-transform-produce: offsets sent with a transaction to another broker than its coordinator commit only with it, across a group coordinator failover', async () => {
    await restoreNodes()
    const { topic: input } = await spreadTopic('ctp-in', 3)
    const { topic: output } = await spreadTopic('ctp-out', 3)
    const { id: transactionalId, coordinator: txnCoordinator } = await idWith('ctp-tx', TRANSACTION_KEY, () => true)
    const { id: groupId, coordinator: groupCoordinator } = await idWith(
      'ctp-group',
      GROUP_KEY,
      (n) => n !== txnCoordinator,
    )
    const producer = track(kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }))
    await producer.connect()
    const step = async (offset: number, commit: boolean, before?: () => Promise<void>): Promise<void> => {
      const txn = await producer.transaction()
      await txn.send({
        topic: output,
        acks: -1,
        messages: [0, 1, 2].map((p) => ({ partition: p, value: `out-${offset}` })),
      })
      await txn.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: input, partitions: [0, 1, 2].map((partition) => ({ partition, offset: String(offset) })) }],
      })
      // Pending at the group's coordinator until the transaction ends.
      assert.deepEqual(await stableOffset(groupId, input, 1), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n])
      await before?.()
      if (commit) await txn.commit()
      else await txn.abort()
    }

    await step(5, false)
    assert.deepEqual(await stableOffset(groupId, input, 1), [ErrorCode.NONE, -1n], 'aborted: nothing committed')
    await step(7, true)
    assert.deepEqual(await stableOffset(groupId, input, 1), [ErrorCode.NONE, 7n])
    assert.deepEqual(
      await committedOffsets(groupId, input),
      new Map([
        [0, '7'],
        [1, '7'],
        [2, '7'],
      ]),
    )

    // The group's coordinator dies between TxnOffsetCommit and EndTxn: the next one holds the
    // pending offsets (from the database) and commits them when the transaction coordinator says.
    await step(9, true, async () => {
      await cluster.stop(groupCoordinator, 'SIGKILL')
    })
    const after = await waitUntil(
      'the offsets committed by the group coordinator that took over',
      async () => {
        const [code, offset] = await stableOffset(groupId, input, 1).catch(() => [-1, -1n] as [number, bigint])
        return code === ErrorCode.NONE && offset === 9n && offset
      },
      { timeoutMs: 30_000 },
    )
    assert.equal(after, 9n)
    assert.notEqual(await coordinatorOf(groupId, GROUP_KEY), groupCoordinator)
    await producer.disconnect()
    const seen = await readCommitted(output, 6)
    assert.deepEqual(seen.map((s) => s.value).sort(), ['out-7', 'out-7', 'out-7', 'out-9', 'out-9', 'out-9'])
  })

  /**
   * A transaction over partitions led by other brokers than its coordinator; `end` ends it (or
   * leaves it open) and kills the coordinator. Afterwards plain records go to every partition:
   * read_committed consumers must reach them (the transaction no longer holds the last stable
   * offset back) and see the transaction's records all or not at all.
   */
  async function killCoordinator(
    tag: string,
    end: (txn: { commit(): Promise<void> }, kill: () => Promise<void>) => Promise<void>,
  ) {
    await restoreNodes()
    const { topic, leaders } = await spreadTopic(tag, 3)
    const { id: transactionalId, coordinator } = await idWith(`${tag}-tx`, TRANSACTION_KEY, (n) =>
      leaders.some((l) => l !== n),
    )
    const elsewhere = [0, 1, 2].filter((p) => leaders[p] !== coordinator)
    const producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TXN_TIMEOUT_MS,
      retry: { retries: 2, initialRetryTime: 100 },
    })
    await producer.connect()
    const txn = await producer.transaction()
    const inTxn = elsewhere.map((partition) => ({ partition, value: `${tag}-txn-${partition}` }))
    await txn.send({ topic, acks: -1, messages: inTxn })
    await end(txn, () => cluster.stop(coordinator, 'SIGKILL'))
    await producer.disconnect().catch(() => {})

    // New clients start once the others count the dead broker out: kafkajs' connect sometimes
    // fails at once (ECONNREFUSED) on a broker that Metadata still lists.
    await waitForMembers(
      cluster,
      NODES.filter((n) => n !== coordinator),
    )
    const survivors = liveClient()
    const plain = track(survivors.producer({ idempotent: true }))
    await plain.connect()
    const after = [0, 1, 2].map((partition) => ({ partition, value: `${tag}-after-${partition}` }))
    await plain.send({ topic, acks: -1, messages: after })
    await plain.disconnect()
    const wanted = after.map((a) => a.value)
    const seen = await readCommittedUntil(survivors, topic, 'read_committed consumers past the transaction', (read) =>
      wanted.every((w) => read.some((s) => s.value === w)),
    )
    const fromTxn = seen.filter((s) => s.value.includes('-txn-'))
    assert.ok(
      fromTxn.length === 0 || fromTxn.length === inTxn.length,
      `the transaction's records all or none (saw ${fromTxn.map((s) => s.value).join(', ')})`,
    )
    for (const p of [0, 1, 2]) {
      const values = seen.filter((s) => s.partition === p).map((s) => s.value)
      assert.equal(values.at(-1), `${tag}-after-${p}`, `partition ${p}: the plain record last`)
    }
    return { fromTxn, coordinator, transactionalId }
  }

  test('SIGKILL of the transaction coordinator with a transaction open: the next coordinator aborts it at its timeout', async () => {
    const started = Date.now()
    const { fromTxn, transactionalId } = await killCoordinator('kill-open', async (_txn, kill) => {
      await kill()
    })
    assert.deepEqual(fromTxn, [], 'aborted')
    console.log(`# read_committed past the open transaction ${Date.now() - started} ms after it began`)
    const coordinator = await coordinatorOf(transactionalId, TRANSACTION_KEY)
    const res = await ask<{ transactionStates: { transactionState: string }[] }>(
      coordinator,
      ApiKey.DescribeTransactions,
      0,
      { transactionalIds: [transactionalId] },
    )
    assert.equal(res.transactionStates[0]?.transactionState, 'CompleteAbort')
  })

  test('SIGKILL of the transaction coordinator just after EndTxn was sent: the next coordinator completes or aborts it', async () => {
    await killCoordinator('kill-end', async (txn, kill) => {
      const committing = txn.commit().catch(() => {})
      // EndTxn is on its way (or just answered) when the coordinator dies.
      await new Promise((resolve) => setTimeout(resolve, 20))
      await kill()
      await committing
    })
  })

  test('WriteTxnMarkers: per-partition errors as Kafka answers them, markers written by the leader', async () => {
    await restoreNodes()
    const { topic, leaders } = await spreadTopic('wtm', 3)
    const leader = leaders[0] as number
    const other = NODES.find((n) => n !== leader) as number
    // A transactional producer whose second instance (epoch 1) opens a transaction in partition 0.
    const transactionalId = uniqueName('wtm-tx')
    const first = track(kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }))
    await first.connect()
    const done = await first.transaction()
    await done.send({ topic, acks: -1, messages: [{ partition: 1, value: 'committed' }] })
    await done.commit()
    await first.disconnect()
    const second = track(kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }))
    await second.connect()
    const txn = await second.transaction()
    await txn.send({ topic, acks: -1, messages: [{ partition: 0, value: 'open' }] })
    const describe = await ask<{
      topics: { partitions: { activeProducers: { producerId: bigint; producerEpoch: number }[] }[] }[]
    }>(leader, ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0] }] })
    const active = describe.topics[0]?.partitions[0]?.activeProducers[0]
    assert.ok(active !== undefined)
    const { producerId, producerEpoch } = active
    assert.equal(producerEpoch, 1)

    const marker = async (
      nodeId: number,
      version: number,
      m: { epoch: number; coordinatorEpoch: number; topics: [string, number[]][] },
    ) => {
      const res = await ask<WriteTxnMarkersResponse>(
        nodeId,
        ApiKey.WriteTxnMarkers,
        version,
        createWriteTxnMarkersRequest({
          markers: [
            createWritableTxnMarker({
              producerId,
              producerEpoch: m.epoch,
              transactionResult: false,
              coordinatorEpoch: m.coordinatorEpoch,
              topics: m.topics.map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            }),
          ],
        }),
      )
      return res.markers.flatMap((r) =>
        r.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode])),
      )
    }
    const unknown = uniqueName('no-such-topic')
    assert.deepEqual(
      await marker(other, 0, {
        epoch: 1,
        coordinatorEpoch: 0,
        topics: [
          [topic, [0]],
          [unknown, [0]],
          [topic, [7]],
        ],
      }),
      [
        [topic, 0, ErrorCode.NOT_LEADER_OR_FOLLOWER],
        [unknown, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        [topic, 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    )
    assert.deepEqual(
      await marker(leader, 1, {
        epoch: 0,
        coordinatorEpoch: 0,
        topics: [
          [topic, [0]],
          ['__consumer_offsets', [50]],
        ],
      }),
      [
        [topic, 0, ErrorCode.INVALID_PRODUCER_EPOCH],
        ['__consumer_offsets', 50, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    )
    // The leader aborts the open transaction, as kafka-transactions.sh abort has it do.
    assert.deepEqual(await marker(leader, 1, { epoch: 1, coordinatorEpoch: 3, topics: [[topic, [0]]] }), [
      [topic, 0, ErrorCode.NONE],
    ])
    assert.deepEqual(await marker(leader, 0, { epoch: 1, coordinatorEpoch: 2, topics: [[topic, [0]]] }), [
      [topic, 0, ErrorCode.TRANSACTION_COORDINATOR_FENCED],
    ])
    const after = await ask<{
      topics: { partitions: { activeProducers: { currentTxnStartOffset: bigint; coordinatorEpoch: number }[] }[] }[]
    }>(leader, ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0] }] })
    const state = after.topics[0]?.partitions[0]?.activeProducers[0]
    assert.equal(state?.currentTxnStartOffset, -1n, 'no transaction open any more')
    assert.equal(state?.coordinatorEpoch, 3)
    // The producer's own abort completes (its coordinator's marker is older and not needed any more).
    await txn.abort()
    await second.disconnect()
  })
})

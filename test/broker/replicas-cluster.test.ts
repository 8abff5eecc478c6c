/**
 * Replica administration in a cluster over PostgreSQL: three brokers of this process on one
 * database (short leases). A reassignment made through one broker moves the partition's leader to
 * the new first replica on every broker, which claims it and takes kafkajs' records; ElectLeaders
 * finds the preferred replica leading, and not available once that broker stopped; a crashed
 * broker's lapsed registration is unregistered (`samsa cluster unregister`; it leaves
 * DescribeCluster's fenced brokers on every broker) while live brokers are refused; DescribeQuorum tells every broker the same
 * controller and high watermark. Skipped where embedded PostgreSQL cannot start.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createDescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../src/protocol/generated/describe-cluster.ts'
import {
  createDescribeQuorumRequest,
  type DescribeQuorumResponse,
} from '../../src/protocol/generated/describe-quorum.ts'
import { createElectLeadersRequest, type ElectLeadersResponse } from '../../src/protocol/generated/elect-leaders.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createUnregisterBrokerRequest,
  type UnregisterBrokerResponse,
} from '../../src/protocol/generated/unregister-broker.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { runCli } from '../cli/helpers.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING
const NODES = [1, 2, 3]

describe('replica administration in a cluster over PostgreSQL', { skip }, () => {
  const brokers = new Map<number, Broker>()
  const clients: RawClient[] = []
  let url: `postgres://${string}`

  async function start(nodeId: number): Promise<Broker> {
    const broker = await startBroker({
      storage: url,
      config: {
        'node.id': String(nodeId),
        'broker.heartbeat.interval.ms': '200',
        'broker.session.timeout.ms': '1000',
        'default.replication.factor': '2',
      },
    })
    brokers.set(nodeId, broker)
    return broker
  }

  async function raw(nodeId: number): Promise<RawClient> {
    const client = await RawClient.connect((brokers.get(nodeId) as Broker).port)
    clients.push(client)
    return client
  }

  const broker = (nodeId: number): Broker => brokers.get(nodeId) as Broker

  before(async () => {
    url = (await freshDatabase()) as `postgres://${string}`
    for (const id of NODES) await start(id)
    await waitUntil('every broker sees the three', () =>
      [...brokers.values()].every((b) => b.core.cluster.liveNodes.length === NODES.length),
    )
  })
  after(async () => {
    await Promise.all(clients.map((c) => c.close()))
    for (const b of brokers.values()) await b.close()
  })

  test('a reassignment through one broker moves the leader to the new first replica on all; ElectLeaders follows it', async () => {
    await broker(1).core.topics.create('moved', 2, {})
    await waitUntil('every broker knows the topic', () =>
      [...brokers.values()].every((b) => b.core.topics.get('moved')),
    )
    const { leaderId: before } = broker(1).core.cluster.placement('moved', 0)
    const target = NODES.find((id) => id !== before) as number

    const kafka = kafkajsClient(broker(1).bootstrap, { retry: { retries: 20, initialRetryTime: 100 } })
    const admin = kafka.admin()
    const producer = kafka.producer()
    await admin.connect()
    try {
      await admin.alterPartitionReassignments({
        topics: [{ topic: 'moved', partitionAssignment: [{ partition: 0, replicas: [target, before] }] }],
      })
      await waitUntil(
        'every broker sees the new leader, and it claimed the partition',
        () =>
          [...brokers.values()].every((b) => b.core.cluster.leaderOf('moved', 0) === target) &&
          broker(target).core.leadership.leads('moved', 0),
      )
      assert.deepEqual(broker(before).core.cluster.placement('moved', 0).replicas, [target, before])
      await waitUntil('the old leader let it go', () => !broker(before).core.leadership.leads('moved', 0))
      const metadata = await admin.fetchTopicMetadata({ topics: ['moved'] })
      assert.equal(metadata.topics[0]?.partitions.find((p) => p.partitionId === 0)?.leader, target)
      await producer.connect()
      const [sent] = await producer.send({ topic: 'moved', messages: [{ partition: 0, value: 'after the move' }] })
      assert.equal(sent?.errorCode, 0)
      assert.equal(Number((await broker(target).core.storage.offsets('moved', 0)).highWatermark), 1)
    } finally {
      await producer.disconnect()
      await admin.disconnect()
    }

    const client = await raw(before)
    const elect = () =>
      client.send<ElectLeadersResponse>(
        ApiKey.ElectLeaders,
        2,
        createElectLeadersRequest({ electionType: 0, topicPartitions: [{ topic: 'moved', partitions: [0] }] }),
      )
    assert.equal(
      (await elect()).replicaElectionResults[0]?.partitionResult[0]?.errorCode,
      ErrorCode.ELECTION_NOT_NEEDED,
    )
    await broker(target).close()
    brokers.delete(target)
    await waitUntil('the next replica leads', () => broker(before).core.cluster.leaderOf('moved', 0) === before)
    assert.equal(
      (await elect()).replicaElectionResults[0]?.partitionResult[0]?.errorCode,
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    )
    await start(target)
    await waitUntil('the preferred replica leads again', () =>
      [...brokers.values()].every((b) => b.core.cluster.leaderOf('moved', 0) === target),
    )
  })

  test("a crashed broker's lapsed registration is unregistered on every broker; live ones are refused", async () => {
    const crashed = { instance: 'crashed', host: '127.0.0.1', port: 1, rack: null, hostname: 'another-machine' }
    await broker(1).core.storage.kv.put(
      'brokers',
      new Map([['9', Buffer.from(JSON.stringify({ ...crashed, pid: 1, beat: 1, startedAt: 0 }))]]),
    )
    const fenced = async (nodeId: number): Promise<number[]> => {
      const r = await (await raw(nodeId)).send<DescribeClusterResponse>(
        ApiKey.DescribeCluster,
        2,
        createDescribeClusterRequest({ includeFencedBrokers: true }),
      )
      return r.brokers.filter((b) => b.isFenced).map((b) => b.brokerId)
    }
    await waitUntil('every broker shows broker 9 fenced', async () =>
      (await Promise.all(NODES.map(fenced))).every((ids) => ids.includes(9)),
    )
    const client = await raw(1)
    const unregister = (brokerId: number) =>
      client.send<UnregisterBrokerResponse>(ApiKey.UnregisterBroker, 0, createUnregisterBrokerRequest({ brokerId }))
    const live = await unregister(2)
    assert.equal(live.errorCode, ErrorCode.INVALID_REQUEST)
    assert.match(live.errorMessage ?? '', /Broker 2 is live/)
    assert.equal((await unregister(1)).errorCode, ErrorCode.INVALID_REQUEST)
    const removed = await runCli(['cluster', 'unregister', '9', '--bootstrap', broker(1).bootstrap])
    assert.equal(removed.code, 0, removed.stderr)
    assert.match(removed.stderr, /unregistered broker 9/)
    assert.equal((await unregister(9)).errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED)
    await waitUntil('no broker shows broker 9 any more', async () =>
      (await Promise.all(NODES.map(fenced))).every((ids) => !ids.includes(9)),
    )
    assert.equal(broker(2).core.cluster.isLive(2), true)
  })

  test('DescribeQuorum: every broker names the same controller, voter and high watermark', async () => {
    const answers = await Promise.all(
      NODES.map(async (id) => {
        const r = await (await raw(id)).send<DescribeQuorumResponse>(
          ApiKey.DescribeQuorum,
          2,
          createDescribeQuorumRequest({
            topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }],
          }),
        )
        return r.topics[0]?.partitions[0]
      }),
    )
    for (const p of answers) {
      assert.equal(p?.errorCode, ErrorCode.NONE)
      assert.equal(p?.leaderId, 1)
      assert.deepEqual(
        p?.currentVoters.map((v) => v.replicaId),
        [1],
      )
      assert.deepEqual(
        p?.observers.map((o) => o.replicaId),
        [2, 3],
      )
      assert.equal(p?.highWatermark, answers[0]?.highWatermark)
      assert.equal(p?.leaderEpoch, answers[0]?.leaderEpoch)
      for (const o of p?.observers ?? []) assert.ok(Date.now() - Number(o.lastFetchTimestamp) < 30_000)
    }
    assert.ok((answers[0]?.highWatermark ?? 0n) >= 5n, 'registrations, the topic and its reassignment were counted')
  })
})

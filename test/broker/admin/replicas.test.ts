/**
 * Replica and quorum administration on three brokers of one process: ElectLeaders finds the
 * preferred replica leading (or not live), a reassignment takes effect at once and moves the
 * leader to the new first replica (seen by kafkajs and in Metadata), ListPartitionReassignments
 * shows none in progress, AlterReplicaLogDirs accepts the one log dir only, DescribeQuorum
 * describes the metadata store with the controller as voter, and UnregisterBroker refuses what it
 * cannot remove. Every version through raw requests, with kafkajs' and @platformatic/kafka's
 * encodings where they have them and Apache Kafka's Java admin client for all six, and each API
 * refused without its cluster permission.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../../src/broker/broker.ts'
import { ErrorCode } from '../../../src/protocol/error-codes.ts'
import {
  type AlterPartitionReassignmentsResponse,
  createAlterPartitionReassignmentsRequest,
} from '../../../src/protocol/generated/alter-partition-reassignments.ts'
import {
  type AlterReplicaLogDirsResponse,
  createAlterReplicaLogDirsRequest,
} from '../../../src/protocol/generated/alter-replica-log-dirs.ts'
import {
  createDescribeQuorumRequest,
  type DescribeQuorumResponse,
} from '../../../src/protocol/generated/describe-quorum.ts'
import { createElectLeadersRequest, type ElectLeadersResponse } from '../../../src/protocol/generated/elect-leaders.ts'
import { ApiKey } from '../../../src/protocol/generated/index.ts'
import {
  createListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
} from '../../../src/protocol/generated/list-partition-reassignments.ts'
import { createMetadataRequest, type MetadataResponse } from '../../../src/protocol/generated/metadata.ts'
import type { SaslAuthenticateResponse } from '../../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslAuthenticateRequest } from '../../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslHandshakeRequest } from '../../../src/protocol/generated/sasl-handshake.ts'
import {
  createUnregisterBrokerRequest,
  type UnregisterBrokerResponse,
} from '../../../src/protocol/generated/unregister-broker.ts'
import { kafkajsClient } from '../../helpers/clients.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaProgram } from '../../helpers/java-client.ts'
import { RawClient } from '../../helpers/raw-client.ts'
import { AUTHORIZER, PLAIN_JAAS, portOf } from '../../security/acl-helpers.ts'
import { rejectedCodes, withPltConnection } from './helpers.ts'

const PREFERRED = 0
const UNCLEAN = 1
const METADATA = { topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }

function elect(raw: RawClient, version: number, init: Parameters<typeof createElectLeadersRequest>[0]) {
  return raw.send<ElectLeadersResponse>(ApiKey.ElectLeaders, version, createElectLeadersRequest(init))
}

function reassign(
  raw: RawClient,
  version: number,
  topic: string,
  partitions: [number, number[] | null][],
  allow = true,
) {
  return raw.send<AlterPartitionReassignmentsResponse>(
    ApiKey.AlterPartitionReassignments,
    version,
    createAlterPartitionReassignmentsRequest({
      allowReplicationFactorChange: allow,
      topics: [
        { name: topic, partitions: partitions.map(([partitionIndex, replicas]) => ({ partitionIndex, replicas })) },
      ],
    }),
  )
}

function describeQuorum(raw: RawClient, version: number, topics = [METADATA]) {
  return raw.send<DescribeQuorumResponse>(ApiKey.DescribeQuorum, version, createDescribeQuorumRequest({ topics }))
}

async function metadata(raw: RawClient, topic: string) {
  const r = await raw.send<MetadataResponse>(
    ApiKey.Metadata,
    12,
    createMetadataRequest({ topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }] }),
  )
  return r.topics[0]?.partitions ?? []
}

describe('replica and quorum administration on three brokers of one process', () => {
  let broker: Broker
  let raw: RawClient
  before(async () => {
    broker = await startBroker({ brokers: 3, config: { 'default.replication.factor': '3' } })
    raw = await RawClient.connect(broker.port)
    await broker.core.topics.create('orders', 3, {})
    await broker.core.topics.create('moved', 2, {})
  })
  after(async () => {
    await raw?.close()
    await broker?.close()
  })

  test('ElectLeaders v0-v2: the preferred replica leads while live; unclean elections find a leader; errors per partition', async () => {
    const { replicas } = broker.core.cluster.placement('orders', 0)
    for (const version of [0, 1, 2]) {
      const r = await elect(raw, version, {
        electionType: PREFERRED,
        topicPartitions: [
          { topic: 'orders', partitions: [0, 7] },
          { topic: 'missing', partitions: [0] },
        ],
      })
      assert.equal(r.errorCode, ErrorCode.NONE)
      assert.deepEqual(
        r.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => [p.partitionId, p.errorCode])]),
        [
          [
            'orders',
            [
              [0, ErrorCode.ELECTION_NOT_NEEDED],
              [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
            ],
          ],
          ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ],
      )
      assert.equal(r.replicaElectionResults[0]?.partitionResult[1]?.errorMessage, 'No such partition as orders-7')
    }
    const preferred = replicas[0] as number
    broker.core.cluster.setLive(preferred, false)
    try {
      const all = await elect(raw, 2, { electionType: PREFERRED, topicPartitions: null })
      const orders = all.replicaElectionResults.find((t) => t.topic === 'orders')
      assert.ok(
        orders?.partitionResult.some(
          (p) => p.partitionId === 0 && p.errorCode === ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        ),
        'the partition whose preferred replica is down is listed',
      )
      assert.ok(
        all.replicaElectionResults.every((t) =>
          t.partitionResult.every((p) => p.errorCode !== ErrorCode.ELECTION_NOT_NEEDED),
        ),
        'partitions needing no election are left out when all are asked for',
      )
      const unclean = await elect(raw, 1, {
        electionType: UNCLEAN,
        topicPartitions: [{ topic: 'orders', partitions: [0] }],
      })
      assert.equal(unclean.replicaElectionResults[0]?.partitionResult[0]?.errorCode, ErrorCode.ELECTION_NOT_NEEDED)
    } finally {
      broker.core.cluster.setLive(preferred, true)
    }
    const bad = await elect(raw, 1, { electionType: 5, topicPartitions: [{ topic: 'orders', partitions: [0] }] })
    assert.equal(bad.errorCode, ErrorCode.INVALID_REQUEST)
    assert.equal(bad.replicaElectionResults[0]?.partitionResult[0]?.errorCode, ErrorCode.INVALID_REQUEST)
  })

  test('AlterPartitionReassignments v0 and v1: the new replica list is kept and its first live replica leads at once; kafkajs sees it', async () => {
    const v0 = await reassign(raw, 0, 'moved', [[0, [3, 1, 2]]])
    assert.deepEqual(v0.responses[0]?.partitions[0], { partitionIndex: 0, errorCode: 0, errorMessage: null })
    let [p0] = await metadata(raw, 'moved')
    assert.equal(p0?.leaderId, 3)
    assert.deepEqual(p0?.replicaNodes, [3, 1, 2])
    const v1 = await reassign(raw, 1, 'moved', [[1, [2, 3]]], false)
    assert.equal(v1.responses[0]?.partitions[0]?.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR)
    assert.equal(v1.responses[0]?.partitions[0]?.errorMessage, 'The replication factor is changed from 3 to 2')
    assert.equal(v1.allowReplicationFactorChange, false)

    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.alterPartitionReassignments({
        topics: [{ topic: 'moved', partitionAssignment: [{ partition: 1, replicas: [2] }] }],
      })
      const described = await admin.fetchTopicMetadata({ topics: ['moved'] })
      const p1 = described.topics[0]?.partitions.find((p) => p.partitionId === 1)
      assert.equal(p1?.leader, 2)
      assert.deepEqual(p1?.replicas, [2])
      const listed = await admin.listPartitionReassignments({ topics: [{ topic: 'moved', partitions: [0, 1] }] })
      assert.deepEqual(listed.topics, [], 'a reassignment completes as it is made')
    } finally {
      await admin.disconnect()
    }
    broker.core.cluster.setLive(3, false)
    try {
      ;[p0] = await metadata(raw, 'moved')
      assert.equal(p0?.leaderId, 1, 'the next live replica of the list leads')
      assert.deepEqual(p0?.offlineReplicas, [3])
    } finally {
      broker.core.cluster.setLive(3, true)
    }
  })

  test('AlterPartitionReassignments refusals are per partition, as Kafka gives them', async () => {
    const r = await reassign(raw, 1, 'moved', [
      [0, [1, 9]],
      [1, [2, 2]],
      [0, []],
      [1, null],
      [5, [1]],
    ])
    assert.deepEqual(
      r.responses[0]?.partitions.map((p) => [p.partitionIndex, p.errorCode, p.errorMessage]),
      [
        [
          0,
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          'The manual partition assignment includes broker 9, but no such broker is registered.',
        ],
        [
          1,
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          'The manual partition assignment includes the broker 2 more than once.',
        ],
        [0, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.'],
        [1, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No partition reassignment is in progress.'],
        [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Unable to find partition moved:5.'],
      ],
    )
    const unknown = await reassign(raw, 0, 'missing', [[0, [1]]])
    assert.equal(unknown.responses[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert.deepEqual(broker.core.cluster.placement('moved', 0).replicas, [3, 1, 2], 'nothing refused was applied')
  })

  test('ListPartitionReassignments v0: none in progress, for named topics and all; @platformatic/kafka agrees', async () => {
    for (const topics of [null, [{ name: 'moved', partitionIndexes: [0, 1] }]]) {
      const r = await raw.send<ListPartitionReassignmentsResponse>(
        ApiKey.ListPartitionReassignments,
        0,
        createListPartitionReassignmentsRequest({ topics }),
      )
      assert.equal(r.errorCode, ErrorCode.NONE)
      assert.deepEqual(r.topics, [])
    }
    const plt = await withPltConnection(broker, (c, pk) =>
      pk.listPartitionReassignmentsV0.api.async(c, 1000, [{ name: 'moved', partitionIndexes: [0] }]),
    )
    assert.deepEqual(plt.topics, [])
    // v0: its v1 reads no allow_replication_factor_change in the response, which v1 carries.
    const altered = await withPltConnection(broker, (c, pk) =>
      pk.alterPartitionReassignmentsV0.api.async(c, 1000, true, [
        { name: 'moved', partitions: [{ partitionIndex: 1, replicas: [1, 2] }] },
      ]),
    )
    assert.equal(altered.responses[0]?.partitions[0]?.errorCode, ErrorCode.NONE)
    assert.deepEqual(broker.core.cluster.placement('moved', 1).replicas, [1, 2])
  })

  test('AlterReplicaLogDirs v0-v2: the one log dir succeeds, any other is LOG_DIR_NOT_FOUND; @platformatic/kafka agrees', async () => {
    const logDir = broker.core.storage.location
    for (const version of [0, 1, 2]) {
      const r = await raw.send<AlterReplicaLogDirsResponse>(
        ApiKey.AlterReplicaLogDirs,
        version,
        createAlterReplicaLogDirsRequest({
          dirs: [
            { path: logDir, topics: [{ name: 'orders', partitions: [0, 9] }] },
            { path: '/elsewhere', topics: [{ name: 'moved', partitions: [0] }] },
            { path: logDir, topics: [{ name: 'missing', partitions: [0] }] },
          ],
        }),
      )
      assert.deepEqual(
        r.results.map((t) => [t.topicName, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
        [
          [
            'orders',
            [
              [0, ErrorCode.NONE],
              [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
            ],
          ],
          ['moved', [[0, ErrorCode.LOG_DIR_NOT_FOUND]]],
          ['missing', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ],
      )
    }
    const plt = await withPltConnection(broker, (c, pk) =>
      pk.alterReplicaLogDirsV2.api.async(c, [{ path: logDir, topics: [{ name: 'orders', partitions: [1, 2] }] }]),
    )
    assert.deepEqual(
      plt.results[0]?.partitions.map((p) => p.errorCode),
      [0, 0],
    )
  })

  test('DescribeQuorum v0-v2: the controller is the voter and leader, the other brokers observe with no lag; changes raise the high watermark', async () => {
    await waitForEpoch(raw, 1)
    const before = await describeQuorum(raw, 2)
    const p = before.topics[0]?.partitions[0]
    assert.equal(before.errorCode, ErrorCode.NONE)
    assert.equal(before.topics[0]?.topicName, '__cluster_metadata')
    assert.equal(p?.errorCode, ErrorCode.NONE)
    assert.equal(p?.leaderId, 1)
    assert.ok((p?.leaderEpoch ?? 0) >= 1)
    assert.deepEqual(
      p?.currentVoters.map((v) => v.replicaId),
      [1],
    )
    assert.deepEqual(
      p?.observers.map((o) => o.replicaId),
      [2, 3],
    )
    assert.ok(p?.observers.every((o) => o.logEndOffset === p.highWatermark))
    assert.ok(Math.abs(Number(p?.currentVoters[0]?.lastFetchTimestamp) - Date.now()) < 60_000)
    assert.deepEqual(before.nodes, [
      { nodeId: 1, listeners: [{ name: 'PLAINTEXT', host: broker.host, port: broker.port }] },
    ])

    await broker.core.topics.create('quorum-change', 1, {})
    for (const version of [0, 1]) {
      const after = await describeQuorum(raw, version)
      assert.equal(
        after.topics[0]?.partitions[0]?.highWatermark,
        (p?.highWatermark ?? 0n) + 1n,
        'a topic creation is one change',
      )
    }
    broker.core.cluster.setLive(1, false)
    try {
      const moved = await describeQuorum(raw, 2)
      const m = moved.topics[0]?.partitions[0]
      assert.equal(m?.leaderId, 2)
      // The epoch is recorded by the node that became controller, after the view changed.
      await waitForEpoch(raw, (p?.leaderEpoch ?? 0) + 1)
    } finally {
      broker.core.cluster.setLive(1, true)
    }

    const wrong = await describeQuorum(raw, 2, [{ topicName: 'orders', partitions: [{ partitionIndex: 0 }] }])
    assert.equal(wrong.topics[0]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    const plt = await withPltConnection(broker, (c, pk) => pk.describeQuorumV2.api.async(c, [METADATA]))
    assert.equal(plt.topics[0]?.partitions[0]?.leaderId, 1)
  })

  test('UnregisterBroker v0: an unknown id is BROKER_ID_NOT_REGISTERED; a broker of this process is refused', async () => {
    const unknown = await raw.send<UnregisterBrokerResponse>(
      ApiKey.UnregisterBroker,
      0,
      createUnregisterBrokerRequest({ brokerId: 42 }),
    )
    assert.equal(unknown.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED)
    const local = await raw.send<UnregisterBrokerResponse>(
      ApiKey.UnregisterBroker,
      0,
      createUnregisterBrokerRequest({ brokerId: 2 }),
    )
    assert.equal(local.errorCode, ErrorCode.INVALID_REQUEST)
    assert.match(local.errorMessage ?? '', /served by this process/)
    const codes = await rejectedCodes(() =>
      withPltConnection(broker, (c, pk) => pk.unregisterBrokerV0.api.async(c, 42)),
    )
    assert.deepEqual(codes, [ErrorCode.BROKER_ID_NOT_REGISTERED])
  })
})

/** Waits until DescribeQuorum reports at least `epoch`. */
async function waitForEpoch(raw: RawClient, epoch: number): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const r = await describeQuorum(raw, 2)
    if ((r.topics[0]?.partitions[0]?.leaderEpoch ?? 0) >= epoch) return
    if (Date.now() > deadline) assert.fail(`leader epoch never reached ${epoch}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('replica and quorum administration needs its cluster permission', () => {
  let broker: Broker
  let alice: RawClient
  before(async () => {
    broker = await startBroker({
      config: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'PLAIN',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
        'authorizer.class.name': AUTHORIZER,
        'super.users': 'User:admin',
      },
    })
    await broker.core.topics.create('orders', 1, {})
    alice = await RawClient.connect(portOf((broker.listeners.SASL_PLAINTEXT as string[])[0] as string), '127.0.0.1')
    await alice.send(ApiKey.SaslHandshake, 1, createSaslHandshakeRequest({ mechanism: 'PLAIN' }))
    const auth = await alice.send<SaslAuthenticateResponse>(
      ApiKey.SaslAuthenticate,
      2,
      createSaslAuthenticateRequest({ authBytes: Buffer.from('\u0000alice\u0000alice-secret') }),
    )
    assert.equal(auth.errorCode, ErrorCode.NONE)
  })
  after(async () => {
    await alice?.close()
    await broker?.close()
  })

  test('each API is CLUSTER_AUTHORIZATION_FAILED without ALTER (or DESCRIBE) on the cluster', async () => {
    const denied = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    const e0 = await elect(alice, 0, { topicPartitions: [{ topic: 'orders', partitions: [0] }] })
    assert.equal(e0.replicaElectionResults[0]?.partitionResult[0]?.errorCode, denied)
    const e2 = await elect(alice, 2, { topicPartitions: [{ topic: 'orders', partitions: [0] }] })
    assert.equal(e2.errorCode, denied)
    const r = await reassign(alice, 1, 'orders', [[0, [1]]])
    assert.equal(r.errorCode, denied)
    assert.equal(r.responses[0]?.partitions[0]?.errorCode, denied)
    const l = await alice.send<ListPartitionReassignmentsResponse>(
      ApiKey.ListPartitionReassignments,
      0,
      createListPartitionReassignmentsRequest({ topics: null }),
    )
    assert.equal(l.errorCode, denied)
    const d = await alice.send<AlterReplicaLogDirsResponse>(
      ApiKey.AlterReplicaLogDirs,
      2,
      createAlterReplicaLogDirsRequest({ dirs: [{ path: 'memory', topics: [{ name: 'orders', partitions: [0] }] }] }),
    )
    assert.equal(d.results[0]?.partitions[0]?.errorCode, denied)
    const q = await describeQuorum(alice, 2)
    assert.equal(q.errorCode, denied)
    const u = await alice.send<UnregisterBrokerResponse>(
      ApiKey.UnregisterBroker,
      0,
      createUnregisterBrokerRequest({ brokerId: 9 }),
    )
    assert.equal(u.errorCode, denied)
  })
})

describe("Apache Kafka's Java admin client", { skip: hasJavaClient ? false : JAVA_CLIENT_MISSING }, () => {
  let broker: Broker
  before(async () => {
    broker = await startBroker({ brokers: 3, host: '127.0.0.1', config: { 'default.replication.factor': '3' } })
    await broker.core.topics.create('java-replicas', 3, {})
  })
  after(async () => {
    await broker?.close()
  })

  test('electLeaders, alterPartitionReassignments, listPartitionReassignments, alterReplicaLogDirs, describeMetadataQuorum and unregisterBroker', async () => {
    const out = await javaProgram<Record<string, unknown>>('ReplicaAdminClient', [
      broker.bootstrap,
      'java-replicas',
      broker.core.storage.location,
    ])
    assert.deepEqual(out, {
      elected: 'ElectionNotNeededException',
      reassigned: 'none',
      leader: 3,
      replicas: [3, 2],
      cancelled: 'NoReassignmentInProgressException',
      ongoing: 0,
      logDirOnBroker1: 'none',
      logDirOnBroker2: 'LogDirNotFoundException',
      quorumLeader: 1,
      quorumEpoch: out.quorumEpoch,
      highWatermark: out.highWatermark,
      voters: [1],
      observers: [2, 3],
      unregistered: 'BrokerIdNotRegisteredException',
    })
    assert.ok(Number(out.quorumEpoch) >= 1)
    assert.ok(Number(out.highWatermark) >= 2, 'the topic creation and the reassignment were counted')
  })
})

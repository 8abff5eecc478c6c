import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { CLUSTER_OPERATIONS, TOPIC_OPERATIONS } from '../../../src/broker/acl-operations.ts'
import { type Broker, startBroker } from '../../../src/broker/broker.ts'
import { ErrorCode } from '../../../src/protocol/error-codes.ts'
import {
  createDescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../../src/protocol/generated/describe-cluster.ts'
import {
  createDescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
} from '../../../src/protocol/generated/describe-topic-partitions.ts'
import { ApiKey } from '../../../src/protocol/generated/index.ts'
import { kafkajsClient } from '../../helpers/clients.ts'
import { RawClient } from '../../helpers/raw-client.ts'
import { withPltConnection } from './helpers.ts'

/** The shared protocol-coverage checker, when this machine has it. */
const API_COVERAGE = '/work/shared/tools/api-coverage.py'

describe('DescribeCluster and DescribeTopicPartitions', () => {
  let broker: Broker
  let raw: RawClient
  before(async () => {
    broker = await startBroker({ port: 0 })
    raw = await RawClient.connect(broker.port)
  })
  after(async () => {
    await raw.close()
    await broker.close()
  })

  test('@platformatic/kafka DescribeCluster v0 and v1 agree with kafkajs describeCluster', async () => {
    const v1 = await withPltConnection(broker, (c, plt) => plt.describeClusterV1.api.async(c, true, 1))
    assert.equal(v1.errorCode, 0)
    assert.equal(v1.clusterId, broker.core.clusterId)
    assert.equal(v1.controllerId, 1)
    assert.equal(v1.clusterAuthorizedOperations, CLUSTER_OPERATIONS)
    assert.deepEqual(
      v1.brokers.map((b) => [b.brokerId, b.host, b.port]),
      [[1, broker.host, broker.port]],
    )
    const v0 = await withPltConnection(broker, (c, plt) => plt.describeClusterV0.api.async(c, false, 1))
    assert.equal(v0.clusterAuthorizedOperations, -2147483648)
    assert.equal(v0.clusterId, broker.core.clusterId)
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    try {
      const kjs = await admin.describeCluster()
      assert.equal(kjs.clusterId, v1.clusterId)
      assert.equal(kjs.controller, v1.controllerId)
      assert.deepEqual(kjs.brokers, [{ nodeId: 1, host: broker.host, port: broker.port }])
    } finally {
      await admin.disconnect()
    }
  })

  test('raw DescribeCluster: endpoint types', async () => {
    const ask = (version: number, endpointType: number) =>
      raw.send<DescribeClusterResponse>(ApiKey.DescribeCluster, version, createDescribeClusterRequest({ endpointType }))
    const controller = await ask(1, 2)
    assert.equal(controller.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE)
    assert.equal(
      controller.errorMessage,
      'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
    )
    assert.deepEqual(controller.brokers, [])
    const unknown = await ask(1, 7)
    assert.equal(unknown.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE)
    assert.equal(unknown.errorMessage, 'Unsupported endpoint type 7')
    const ok = await ask(1, 1)
    assert.equal(ok.errorCode, 0)
    assert.equal(ok.endpointType, 1)
    const v0 = await ask(0, 1)
    assert.equal(v0.brokers.length, 1)
  })

  test('raw DescribeCluster v2: fenced brokers (here, a node taken offline) only when asked for', async () => {
    const two = await startBroker({ port: 0, brokers: 2 })
    const client = await RawClient.connect(two.port)
    try {
      two.core.cluster.setLive(2, false)
      const ask = (version: number, includeFencedBrokers: boolean) =>
        client.send<DescribeClusterResponse>(
          ApiKey.DescribeCluster,
          version,
          createDescribeClusterRequest({ includeFencedBrokers }),
        )
      const brokers = (res: DescribeClusterResponse) => res.brokers.map((b) => [b.brokerId, b.isFenced])
      assert.deepEqual(brokers(await ask(2, true)), [
        [1, false],
        [2, true],
      ])
      assert.deepEqual(brokers(await ask(2, false)), [[1, false]])
      // Before v2 there is no asking: live brokers only.
      assert.deepEqual(brokers(await ask(1, false)), [[1, false]])
    } finally {
      await client.close()
      await two.close()
    }
  })

  test('DescribeTopicPartitions through @platformatic/kafka: pagination with a cursor', async () => {
    await broker.core.topics.create('dtp-a', 3, {})
    await broker.core.topics.create('dtp-b', 2, {})
    await broker.core.topics.create('dtp-c', 1, {})
    const topics = [{ name: 'dtp-c' }, { name: 'dtp-a' }, { name: 'dtp-b' }, { name: 'dtp-missing' }]
    const first = await withPltConnection(broker, (c, plt) => plt.describeTopicPartitionsV0.api.async(c, topics, 2))
    assert.deepEqual(
      first.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [['dtp-a', [0, 1]]],
    )
    assert.deepEqual(first.nextCursor, { topicName: 'dtp-a', partitionIndex: 2 })
    const a = first.topics[0]
    assert.equal(a?.topicId, broker.core.topics.get('dtp-a')?.topicId)
    assert.equal(a?.topicAuthorizedOperations, TOPIC_OPERATIONS)
    assert.deepEqual(a?.partitions[0]?.replicaNodes, [1])
    const second = await withPltConnection(broker, (c, plt) =>
      plt.describeTopicPartitionsV0.api.async(c, topics, 3, first.nextCursor),
    )
    assert.deepEqual(
      second.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [
        ['dtp-a', [2]],
        ['dtp-b', [0, 1]],
      ],
    )
    // The limit was reached exactly: the cursor points at the start of the next topic.
    assert.deepEqual(second.nextCursor, { topicName: 'dtp-c', partitionIndex: 0 })
  })

  test('raw DescribeTopicPartitions v0: unknown topics, all topics, invalid cursors', async () => {
    const send = (req: Parameters<typeof createDescribeTopicPartitionsRequest>[0]) =>
      raw.send<DescribeTopicPartitionsResponse>(
        ApiKey.DescribeTopicPartitions,
        0,
        createDescribeTopicPartitionsRequest(req),
      )
    await broker.core.topics.create('dtp-z', 2, {})
    const res = await send({
      topics: [{ name: 'dtp-z' }, { name: 'dtp-missing' }, { name: 'bad/name' }],
      responsePartitionLimit: 2000,
      cursor: { topicName: 'dtp-missing', partitionIndex: 0 },
    })
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.errorCode, t.partitions.length]),
      [
        ['dtp-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
        ['dtp-z', 0, 2],
      ],
      'topics before the cursor are skipped; unknown ones use none of the limit',
    )
    assert.equal(res.nextCursor, null)
    const all = await send({ topics: [], responsePartitionLimit: 2000, cursor: null })
    assert.deepEqual(
      all.topics.map((t) => t.name),
      broker.core.topics
        .list()
        .map((t) => t.name)
        .sort(),
    )
    const badCursor = await send({
      topics: [{ name: 'dtp-z' }],
      responsePartitionLimit: 10,
      cursor: { topicName: 'dtp-a', partitionIndex: 0 },
    })
    assert.deepEqual(
      badCursor.topics.map((t) => [t.name, t.errorCode]),
      [['dtp-z', ErrorCode.INVALID_REQUEST]],
    )
    const negative = await send({
      topics: [],
      responsePartitionLimit: 0,
      cursor: { topicName: 'dtp-a', partitionIndex: -1 },
    })
    assert.deepEqual(negative.topics, [])
    const one = await send({ topics: [], responsePartitionLimit: 0, cursor: null })
    assert.equal(
      one.topics.reduce((n, t) => n + t.partitions.length, 0),
      1,
      'a limit below 1 means 1',
    )
    const invalidName = await send({ topics: [{ name: 'bad/name' }], responsePartitionLimit: 5, cursor: null })
    assert.equal(invalidName.topics[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
  })

  test('api-coverage reports no problems', async (t) => {
    if (spawnSync('python3', ['--version']).status !== 0 || !existsSync(API_COVERAGE)) {
      t.skip('python3 or the api-coverage tool is not available')
      return
    }
    // Asynchronously: the broker runs in this process and must keep answering.
    const stdout = await new Promise<string>((resolve) => {
      execFile('python3', [API_COVERAGE, `127.0.0.1:${broker.port}`], { timeout: 60_000 }, (_err, out) => resolve(out))
    })
    assert.match(stdout.trim().split('\n').at(-1) ?? '', /\b0 problems\b/, stdout)
  })
})

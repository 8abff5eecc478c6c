/**
 * The ACL matrix: for each API family, a SASL PLAIN principal without the operation Kafka checks
 * is refused with Kafka's error, and allowed once an ACL grants it (on the same connection: the
 * decision cache is dropped when ACLs change); DENY beats ALLOW; prefixed patterns; host filters;
 * super users; topics hidden from Metadata and never auto-created; authorized operations filled
 * from the decisions; allow.everyone.if.no.acl.found.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type AclCreation,
  type CreateAclsResponse,
  createCreateAclsRequest,
} from '../../src/protocol/generated/create-acls.ts'
import {
  type CreatePartitionsResponse,
  createCreatePartitionsRequest,
} from '../../src/protocol/generated/create-partitions.ts'
import { type CreateTopicsResponse, createCreateTopicsRequest } from '../../src/protocol/generated/create-topics.ts'
import { createDeleteAclsRequest, type DeleteAclsResponse } from '../../src/protocol/generated/delete-acls.ts'
import { createDeleteRecordsRequest, type DeleteRecordsResponse } from '../../src/protocol/generated/delete-records.ts'
import { createDeleteTopicsRequest, type DeleteTopicsResponse } from '../../src/protocol/generated/delete-topics.ts'
import {
  createDescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../src/protocol/generated/describe-cluster.ts'
import {
  createDescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../src/protocol/generated/describe-configs.ts'
import {
  createDescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../src/protocol/generated/describe-groups.ts'
import {
  createDescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from '../../src/protocol/generated/describe-log-dirs.ts'
import {
  createDescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../../src/protocol/generated/describe-user-scram-credentials.ts'
import { createFetchPartition, createFetchRequest, type FetchResponse } from '../../src/protocol/generated/fetch.ts'
import {
  createFindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../src/protocol/generated/find-coordinator.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createInitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../src/protocol/generated/init-producer-id.ts'
import { createListGroupsRequest, type ListGroupsResponse } from '../../src/protocol/generated/list-groups.ts'
import { createListOffsetsRequest, type ListOffsetsResponse } from '../../src/protocol/generated/list-offsets.ts'
import {
  createListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../src/protocol/generated/list-transactions.ts'
import { createMetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import { createOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts'
import type { SaslAuthenticateResponse } from '../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslAuthenticateRequest } from '../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslHandshakeRequest, type SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { AUTHORIZER, carriesKafkaError, PLAIN_JAAS, portOf, sasl } from './acl-helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const TOPIC = 2
const GROUP = 3
const CLUSTER = 4
const TXN = 5
const LITERAL = 3
const PREFIXED = 4
const Op = { ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, DESCRIBE_CONFIGS: 10 } as const
const ALLOW = 3
const DENY = 2

let broker: Broker
let address: string
const clients: RawClient[] = []

/** A raw connection authenticated with SASL PLAIN as `user` (from 127.0.0.1). */
async function as(user: string): Promise<RawClient> {
  const raw = await RawClient.connect(portOf(address), '127.0.0.1')
  clients.push(raw)
  const hs = await raw.send<SaslHandshakeResponse>(
    ApiKey.SaslHandshake,
    1,
    createSaslHandshakeRequest({ mechanism: 'PLAIN' }),
  )
  assert.equal(hs.errorCode, ErrorCode.NONE)
  const authBytes = Buffer.from(`\u0000${user}\u0000${user}-secret`)
  const auth = await raw.send<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    createSaslAuthenticateRequest({ authBytes }),
  )
  assert.equal(auth.errorCode, ErrorCode.NONE)
  return raw
}

let admin: RawClient

/** Creates ACLs as the super user. */
async function grant(...acls: Partial<AclCreation>[]): Promise<void> {
  const creations = acls.map((a) => ({
    resourceType: TOPIC,
    resourceName: '',
    resourcePatternType: LITERAL,
    principal: '',
    host: '*',
    operation: Op.ALL,
    permissionType: ALLOW,
    ...a,
  }))
  const r = await admin.send<CreateAclsResponse>(ApiKey.CreateAcls, 3, createCreateAclsRequest({ creations }))
  assert.deepEqual(
    r.results.map((x) => x.errorCode),
    creations.map(() => ErrorCode.NONE),
  )
}

function metadata(raw: RawClient, topics: string[] | null, autoCreate = false): Promise<MetadataResponse> {
  return raw.send<MetadataResponse>(
    ApiKey.Metadata,
    12,
    createMetadataRequest({
      topics:
        topics === null ? null : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      allowAutoTopicCreation: autoCreate,
      includeTopicAuthorizedOperations: true,
    }),
  )
}

async function createTopic(raw: RawClient, name: string): Promise<number> {
  const r = await raw.send<CreateTopicsResponse>(
    ApiKey.CreateTopics,
    7,
    createCreateTopicsRequest({
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    }),
  )
  return r.topics[0]?.errorCode ?? -1
}

before(async () => {
  broker = await startBroker({
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
      'authorizer.class.name': AUTHORIZER,
      'super.users': 'User:admin',
      'auto.create.topics.enable': 'true',
    },
  })
  address = (broker.listeners.SASL_PLAINTEXT as string[])[0] as string
  admin = await as('admin')
  for (const name of ['orders', 'orders-eu', 'secret', 'payments']) assert.equal(await createTopic(admin, name), 0)
})
after(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await broker?.close()
})

describe('ACL matrix', () => {
  test('a super user may do anything without an ACL', async () => {
    const topics = (await metadata(admin, null)).topics.map((t) => t.name).sort()
    assert.deepEqual(topics, ['orders', 'orders-eu', 'payments', 'secret'])
  })

  test('Metadata hides topics without DESCRIBE, refuses them by name, and allows them once granted (cache dropped)', async () => {
    const bob = await as('bob')
    assert.deepEqual((await metadata(bob, null)).topics, [])
    const named = await metadata(bob, ['secret', 'no-such-topic'])
    assert.deepEqual(
      named.topics.map((t) => [t.name, t.errorCode]),
      [
        ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
        ['no-such-topic', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      ],
    )
    // READ implies DESCRIBE; the operations told are exactly READ and DESCRIBE.
    await grant({ resourceName: 'secret', principal: 'User:bob', operation: Op.READ })
    const after = await metadata(bob, null)
    assert.deepEqual(
      after.topics.map((t) => [t.name, t.errorCode, t.topicAuthorizedOperations]),
      [['secret', ErrorCode.NONE, (1 << Op.READ) | (1 << Op.DESCRIBE)]],
    )
  })

  test('auto-creation needs CREATE on the cluster or the topic: without it nothing is created', async () => {
    const carol = await as('carol')
    await grant({
      resourceName: 'auto-',
      resourcePatternType: PREFIXED,
      principal: 'User:carol',
      operation: Op.DESCRIBE,
    })
    const refused = await metadata(carol, ['auto-one'], true)
    assert.equal(refused.topics[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    assert.equal((await metadata(admin, ['auto-one'])).topics[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    await grant({ resourceName: 'auto-', resourcePatternType: PREFIXED, principal: 'User:carol', operation: Op.CREATE })
    const created = await metadata(carol, ['auto-one'], true)
    assert.deepEqual(
      created.topics.map((t) => [t.name, t.errorCode, t.partitions.length]),
      [['auto-one', ErrorCode.NONE, 1]],
    )
  })

  test('CreateTopics needs CREATE on the cluster or the topic', async () => {
    const dave = await as('dave')
    assert.equal(await createTopic(dave, 'dave-topic'), ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    await grant({ resourceType: CLUSTER, resourceName: 'kafka-cluster', principal: 'User:dave', operation: Op.CREATE })
    assert.equal(await createTopic(dave, 'dave-topic'), ErrorCode.NONE)
  })

  test('Fetch needs READ on the topic; prefixed ALLOW and literal DENY: DENY wins', async () => {
    const erin = await as('erin')
    const fetch = async (topic: string): Promise<number | undefined> => {
      const r = await erin.send<FetchResponse>(
        ApiKey.Fetch,
        12,
        createFetchRequest({
          topics: [
            {
              topic,
              topicId: '00000000-0000-0000-0000-000000000000',
              partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 1024 })],
            },
          ],
        }),
      )
      return r.responses[0]?.partitions[0]?.errorCode
    }
    assert.equal(await fetch('orders'), ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    await grant({ resourceName: 'orders', resourcePatternType: PREFIXED, principal: 'User:erin', operation: Op.READ })
    assert.equal(await fetch('orders'), ErrorCode.NONE)
    assert.equal(await fetch('orders-eu'), ErrorCode.NONE)
    await grant({ resourceName: 'orders-eu', principal: 'User:erin', operation: Op.READ, permissionType: DENY })
    assert.equal(await fetch('orders-eu'), ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    assert.equal(await fetch('orders'), ErrorCode.NONE)
    // A DENY of READ does not deny DESCRIBE, which the prefixed READ implies.
    assert.equal((await metadata(erin, ['orders-eu'])).topics[0]?.errorCode, ErrorCode.NONE)
  })

  test('a fetch session authorizes its partitions at every fetch: a revoked READ stops an incremental fetch', async () => {
    const liam = await as('liam')
    await grant({ resourceName: 'payments', principal: 'User:liam', operation: Op.READ })
    const full = await liam.send<FetchResponse>(
      ApiKey.Fetch,
      12,
      createFetchRequest({
        sessionId: 0,
        sessionEpoch: 0,
        topics: [
          {
            topic: 'payments',
            topicId: '00000000-0000-0000-0000-000000000000',
            partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 1024 })],
          },
        ],
      }),
    )
    assert.equal(full.responses[0]?.partitions[0]?.errorCode, ErrorCode.NONE)
    assert.notEqual(full.sessionId, 0)
    const r = await admin.send<DeleteAclsResponse>(
      ApiKey.DeleteAcls,
      3,
      createDeleteAclsRequest({
        filters: [
          {
            resourceTypeFilter: TOPIC,
            resourceNameFilter: 'payments',
            patternTypeFilter: LITERAL,
            principalFilter: 'User:liam',
            hostFilter: null,
            operation: 1,
            permissionType: 1,
          },
        ],
      }),
    )
    assert.equal(r.filterResults[0]?.matchingAcls.length, 1)
    // The incremental fetch names no partition: the session's are fetched, and refused now.
    const incremental = await liam.send<FetchResponse>(
      ApiKey.Fetch,
      12,
      createFetchRequest({ sessionId: full.sessionId, sessionEpoch: 1 }),
    )
    assert.deepEqual(
      incremental.responses.map((t) => [t.topic, t.partitions.map((p) => p.errorCode)]),
      [['payments', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]]],
    )
  })

  test('CreateTopics v5+ withholds the configs without DESCRIBE_CONFIGS', async () => {
    const liam = await as('liam')
    await grant({ resourceName: 'liam-', resourcePatternType: PREFIXED, principal: 'User:liam', operation: Op.CREATE })
    const create = async (name: string): Promise<[number, number, number] | undefined> => {
      const res = await liam.send<CreateTopicsResponse>(
        ApiKey.CreateTopics,
        7,
        createCreateTopicsRequest({
          topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 5000,
        }),
      )
      const t = res.topics[0]
      return t && [t.errorCode, t.topicConfigErrorCode, t.configs?.length ?? 0]
    }
    assert.deepEqual(await create('liam-one'), [ErrorCode.NONE, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 0])
    await grant({
      resourceName: 'liam-',
      resourcePatternType: PREFIXED,
      principal: 'User:liam',
      operation: Op.DESCRIBE_CONFIGS,
    })
    const [errorCode, configError, configs] = (await create('liam-two')) ?? []
    assert.deepEqual([errorCode, configError], [ErrorCode.NONE, ErrorCode.NONE])
    assert.ok((configs ?? 0) > 10)
  })

  test('an ACL for another host does not apply; one for the client address does', async () => {
    const frank = await as('frank')
    await grant({ resourceName: 'payments', principal: 'User:frank', host: '10.9.9.9', operation: Op.DESCRIBE })
    assert.equal((await metadata(frank, ['payments'])).topics[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    await grant({ resourceName: 'payments', principal: 'User:frank', host: '127.0.0.1', operation: Op.DESCRIBE })
    assert.equal((await metadata(frank, ['payments'])).topics[0]?.errorCode, ErrorCode.NONE)
  })

  test('groups: FindCoordinator and DescribeGroups need DESCRIBE, ListGroups shows only those, OffsetFetch too', async () => {
    const grace = await as('grace')
    const find = async (): Promise<number | undefined> =>
      (
        await grace.send<FindCoordinatorResponse>(
          ApiKey.FindCoordinator,
          4,
          createFindCoordinatorRequest({ keyType: 0, coordinatorKeys: ['g-grace'] }),
        )
      ).coordinators[0]?.errorCode
    assert.equal(await find(), ErrorCode.GROUP_AUTHORIZATION_FAILED)
    const describeGroup = async (): Promise<[number, number] | undefined> => {
      const r = await grace.send<DescribeGroupsResponse>(
        ApiKey.DescribeGroups,
        5,
        createDescribeGroupsRequest({ groups: ['g-grace'], includeAuthorizedOperations: true }),
      )
      const g = r.groups[0]
      return g && [g.errorCode, g.authorizedOperations]
    }
    assert.deepEqual((await describeGroup())?.[0], ErrorCode.GROUP_AUTHORIZATION_FAILED)
    const offsets = async (): Promise<number | undefined> =>
      (
        await grace.send<OffsetFetchResponse>(
          ApiKey.OffsetFetch,
          8,
          createOffsetFetchRequest({ groups: [{ groupId: 'g-grace', memberId: null, memberEpoch: -1, topics: null }] }),
        )
      ).groups[0]?.errorCode
    assert.equal(await offsets(), ErrorCode.GROUP_AUTHORIZATION_FAILED)
    await grant({ resourceType: GROUP, resourceName: 'g-grace', principal: 'User:grace', operation: Op.READ })
    assert.equal(await find(), ErrorCode.NONE)
    assert.equal(await offsets(), ErrorCode.NONE)
    assert.deepEqual(await describeGroup(), [ErrorCode.NONE, (1 << Op.READ) | (1 << Op.DESCRIBE)])
    const listed = await grace.send<ListGroupsResponse>(ApiKey.ListGroups, 5, createListGroupsRequest())
    assert.ok(listed.groups.every((g) => g.groupId === 'g-grace'))
  })

  test('transactions and idempotence: InitProducerId needs WRITE on the transactional id, or on some topic', async () => {
    const heidi = await as('heidi')
    const init = async (transactionalId: string | null): Promise<number> =>
      (
        await heidi.send<InitProducerIdResponse>(
          ApiKey.InitProducerId,
          4,
          createInitProducerIdRequest({
            transactionalId,
            transactionTimeoutMs: 10000,
            producerId: -1n,
            producerEpoch: -1,
          }),
        )
      ).errorCode
    assert.equal(await init('tx-heidi'), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    assert.equal(await init(null), ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    await grant(
      {
        resourceType: TXN,
        resourceName: 'tx-',
        resourcePatternType: PREFIXED,
        principal: 'User:heidi',
        operation: Op.WRITE,
      },
      { resourceName: 'heidi-', resourcePatternType: PREFIXED, principal: 'User:heidi', operation: Op.WRITE },
    )
    assert.equal(await init('tx-heidi'), ErrorCode.NONE)
    assert.equal(await init(null), ErrorCode.NONE)
  })

  test('configs and cluster: DescribeConfigs per resource type, DescribeCluster operations', async () => {
    const ivan = await as('ivan')
    const describeConfigs = async (): Promise<number[]> =>
      (
        await ivan.send<DescribeConfigsResponse>(
          ApiKey.DescribeConfigs,
          4,
          createDescribeConfigsRequest({
            resources: [
              { resourceType: 2, resourceName: 'orders', configurationKeys: null },
              { resourceType: 4, resourceName: '', configurationKeys: null },
            ],
          }),
        )
      ).results.map((r) => r.errorCode)
    assert.deepEqual(await describeConfigs(), [
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    ])
    const cluster = async (): Promise<number> =>
      (
        await ivan.send<DescribeClusterResponse>(
          ApiKey.DescribeCluster,
          1,
          createDescribeClusterRequest({ includeClusterAuthorizedOperations: true }),
        )
      ).clusterAuthorizedOperations
    assert.equal(await cluster(), 0)
    await grant(
      { resourceName: 'orders', principal: 'User:ivan', operation: Op.DESCRIBE_CONFIGS },
      { resourceType: CLUSTER, resourceName: 'kafka-cluster', principal: 'User:ivan', operation: Op.ALTER },
      { resourceType: CLUSTER, resourceName: 'kafka-cluster', principal: 'User:ivan', operation: 11 },
    )
    assert.deepEqual(await describeConfigs(), [ErrorCode.NONE, ErrorCode.NONE])
    // ALTER implies DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    assert.equal(await cluster(), (1 << Op.ALTER) | (1 << Op.DESCRIBE) | (1 << 10) | (1 << 11))
  })

  test('topic administration: each API refused without its operation, allowed with it', async () => {
    const kim = await as('kim')
    const topic = 'kim-topic'
    assert.equal(await createTopic(admin, topic), ErrorCode.NONE)
    const listOffsets = async (): Promise<number | undefined> =>
      (
        await kim.send<ListOffsetsResponse>(
          ApiKey.ListOffsets,
          7,
          createListOffsetsRequest({
            topics: [
              {
                name: topic,
                partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
              },
            ],
          }),
        )
      ).topics[0]?.partitions[0]?.errorCode
    const alterConfigs = async (): Promise<number | undefined> =>
      (
        await kim.send<IncrementalAlterConfigsResponse>(
          ApiKey.IncrementalAlterConfigs,
          1,
          createIncrementalAlterConfigsRequest({
            resources: [
              {
                resourceType: 2,
                resourceName: topic,
                configs: [{ name: 'retention.ms', configOperation: 0, value: '60000' }],
              },
            ],
          }),
        )
      ).responses[0]?.errorCode
    const createPartitions = async (): Promise<number | undefined> =>
      (
        await kim.send<CreatePartitionsResponse>(
          ApiKey.CreatePartitions,
          3,
          createCreatePartitionsRequest({ topics: [{ name: topic, count: 2, assignments: null }], timeoutMs: 5000 }),
        )
      ).results[0]?.errorCode
    const deleteRecords = async (): Promise<number | undefined> =>
      (
        await kim.send<DeleteRecordsResponse>(
          ApiKey.DeleteRecords,
          2,
          createDeleteRecordsRequest({
            topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 0n }] }],
            timeoutMs: 5000,
          }),
        )
      ).topics[0]?.partitions[0]?.errorCode
    const deleteTopic = async (): Promise<number | undefined> =>
      (
        await kim.send<DeleteTopicsResponse>(
          ApiKey.DeleteTopics,
          6,
          createDeleteTopicsRequest({
            topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
            timeoutMs: 5000,
          }),
        )
      ).responses[0]?.errorCode
    const steps: [() => Promise<number | undefined>, number][] = [
      [listOffsets, Op.DESCRIBE],
      [alterConfigs, 11],
      [createPartitions, Op.ALTER],
      [deleteRecords, Op.DELETE],
    ]
    assert.equal(await deleteTopic(), ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    for (const [step, operation] of steps) {
      assert.equal(await step(), ErrorCode.TOPIC_AUTHORIZATION_FAILED, step.name)
      await grant({ resourceName: topic, principal: 'User:kim', operation })
      assert.equal(await step(), ErrorCode.NONE, step.name)
    }
    // DELETE, granted for DeleteRecords, lets DeleteTopics go too.
    assert.equal(await deleteTopic(), ErrorCode.NONE)
  })

  test('cluster administration: log dirs and SCRAM users need DESCRIBE or ALTER on the cluster', async () => {
    const kim = await as('kim')
    const logDirs = async (): Promise<number> =>
      (
        await kim.send<DescribeLogDirsResponse>(
          ApiKey.DescribeLogDirs,
          4,
          createDescribeLogDirsRequest({ topics: null }),
        )
      ).errorCode
    const scramUsers = async (): Promise<number> =>
      (
        await kim.send<DescribeUserScramCredentialsResponse>(
          ApiKey.DescribeUserScramCredentials,
          0,
          createDescribeUserScramCredentialsRequest({ users: null }),
        )
      ).errorCode
    assert.equal(await logDirs(), ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    assert.equal(await scramUsers(), ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    await grant({ resourceType: CLUSTER, resourceName: 'kafka-cluster', principal: 'User:kim', operation: Op.DESCRIBE })
    assert.equal(await logDirs(), ErrorCode.NONE)
    assert.equal(await scramUsers(), ErrorCode.NONE)
  })

  test('kafkajs: produce refused without WRITE, then produce and consume once granted', async (t) => {
    const kafka = kafkajsClient(address, { sasl: sasl('judy'), retry: { retries: 0 } })
    const producer = kafka.producer()
    await producer.connect()
    t.after(() => producer.disconnect())
    await assert.rejects(producer.send({ topic: 'orders', messages: [{ value: 'x' }] }), (err) =>
      carriesKafkaError(err, 'TOPIC_AUTHORIZATION_FAILED'),
    )
    await grant(
      { resourceName: 'orders', principal: 'User:judy', operation: Op.WRITE },
      { resourceName: 'orders', principal: 'User:judy', operation: Op.READ },
    )
    await producer.send({ topic: 'orders', messages: [{ value: 'judy-1' }] })
    const consumer = kafka.consumer({ groupId: 'g-judy', retry: { retries: 0, restartOnFailure: async () => false } })
    await consumer.connect()
    t.after(() => consumer.disconnect())
    // kafkajs reports a failed join through the crash event, not the run promise.
    const crashed = new Promise((_, reject) => consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error)))
    crashed.catch(() => {})
    await assert.rejects(
      (async () => {
        await consumer.subscribe({ topic: 'orders', fromBeginning: true })
        await consumer.run({ eachMessage: async () => {} })
        await crashed
      })(),
      // kafkajs turns FindCoordinator's GROUP_AUTHORIZATION_FAILED into its own error.
      (err: Error) =>
        carriesKafkaError(err, 'GROUP_AUTHORIZATION_FAILED') || err.name === 'KafkaJSGroupCoordinatorNotFound',
    )
    await consumer.disconnect()
    await grant({ resourceType: GROUP, resourceName: 'g-judy', principal: 'User:judy', operation: Op.READ })
    const reader = kafka.consumer({ groupId: 'g-judy' })
    await reader.connect()
    t.after(() => reader.disconnect())
    await reader.subscribe({ topic: 'orders', fromBeginning: true })
    const seen = await new Promise<string>((resolve, reject) => {
      reader.run({ eachMessage: async ({ message }) => resolve(String(message.value)) }).catch(reject)
    })
    assert.equal(seen, 'judy-1')
  })

  test('kafkajs transactions: WRITE on the transactional id and the topic, READ on the group for offsets', async (t) => {
    // An idempotent kafkajs producer needs retries; authorization errors are not retried.
    const kafka = kafkajsClient(address, { sasl: sasl('mia'), retry: { retries: 2 } })
    const txProducer = () => kafka.producer({ transactionalId: 'tx-mia', idempotent: true, maxInFlightRequests: 1 })
    // kafkajs asks for an idempotent producer id at connect: WRITE on some topic allows that.
    await grant({ resourceName: 'orders', principal: 'User:mia', operation: Op.WRITE })
    const refused = txProducer()
    await refused.connect()
    t.after(() => refused.disconnect())
    await assert.rejects(
      refused.transaction(),
      // FindCoordinator refuses the transactional id; kafkajs reports it as its own error.
      (err: Error) =>
        carriesKafkaError(err, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED') ||
        err.name === 'KafkaJSGroupCoordinatorNotFound',
    )
    await grant({ resourceType: TXN, resourceName: 'tx-mia', principal: 'User:mia', operation: Op.WRITE })
    const producer = txProducer()
    await producer.connect()
    t.after(() => producer.disconnect())
    const txn = await producer.transaction()
    await txn.send({ topic: 'orders', messages: [{ value: 'in a transaction' }] })
    // Offsets into the transaction need READ on the group (AddOffsetsToTxn).
    await assert.rejects(
      txn.sendOffsets({
        consumerGroupId: 'g-mia',
        topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '1' }] }],
      }),
      (err) => carriesKafkaError(err, 'GROUP_AUTHORIZATION_FAILED'),
    )
    await txn.commit()
    const committed = await as('admin')
    const res = await committed.send<ListTransactionsResponse>(
      ApiKey.ListTransactions,
      1,
      createListTransactionsRequest({ stateFilters: [], producerIdFilters: [] }),
    )
    assert.deepEqual(
      res.transactionStates.filter((s) => s.transactionalId === 'tx-mia').map((s) => s.transactionState),
      ['CompleteCommit'],
    )
  })

  test('@platformatic/kafka: produce refused without WRITE, allowed once granted', async (t) => {
    const pk = await platformatic()
    const producer = new pk.Producer({
      clientId: 'pk-acl',
      bootstrapBrokers: [address],
      sasl: { mechanism: 'PLAIN', username: 'mallory', password: 'mallory-secret' },
      serializers: pk.stringSerializers,
      retries: 0,
    })
    t.after(() => producer.close())
    await assert.rejects(producer.send({ messages: [{ topic: 'payments', partition: 0, value: 'm' }] }), (err) =>
      carriesKafkaError(err, 'TOPIC_AUTHORIZATION_FAILED'),
    )
    await grant({ resourceName: 'payments', principal: 'User:mallory', operation: Op.WRITE })
    const sent = await producer.send({ messages: [{ topic: 'payments', partition: 0, value: 'm' }] })
    assert.equal(sent.offsets?.[0]?.topic, 'payments')
  })

  test('@platformatic/kafka: consume refused without READ on the topic and the group, allowed once granted', async (t) => {
    const pk = await platformatic()
    const seed = new pk.Producer({
      clientId: 'pk-acl-seed',
      bootstrapBrokers: [address],
      sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' },
      serializers: pk.stringSerializers,
    })
    t.after(() => seed.close())
    await seed.send({ messages: [{ topic: 'secret', partition: 0, value: 'for nora' }] })
    const consumer = (groupId: string) =>
      new pk.Consumer({
        clientId: 'pk-acl-consumer',
        bootstrapBrokers: [address],
        groupId,
        sasl: { mechanism: 'PLAIN', username: 'nora', password: 'nora-secret' },
        deserializers: pk.stringDeserializers,
        maxWaitTime: 100,
        retries: 0,
      })
    const refused = consumer('g-nora')
    t.after(() => refused.close(true))
    await assert.rejects(
      refused.consume({ topics: ['secret'], mode: 'earliest' }),
      (err) =>
        carriesKafkaError(err, 'TOPIC_AUTHORIZATION_FAILED') || carriesKafkaError(err, 'GROUP_AUTHORIZATION_FAILED'),
    )
    await grant(
      { resourceName: 'secret', principal: 'User:nora', operation: Op.READ },
      { resourceType: GROUP, resourceName: 'g-nora', principal: 'User:nora', operation: Op.READ },
    )
    const allowed = consumer('g-nora')
    t.after(() => allowed.close(true))
    const stream = await allowed.consume({ topics: ['secret'], mode: 'earliest' })
    t.after(() => stream.close())
    const first = await new Promise<string>((resolve, reject) => {
      stream.once('data', (m: { value: unknown }) => resolve(String(m.value)))
      stream.once('error', reject)
    })
    assert.equal(first, 'for nora')
  })
})

describe('allow.everyone.if.no.acl.found', () => {
  test('opens resources no ACL covers, not those some ACL covers', async (t) => {
    const open = await startBroker({
      config: {
        'authorizer.class.name': AUTHORIZER,
        'allow.everyone.if.no.acl.found': 'true',
      },
    })
    t.after(() => open.close())
    const raw = await RawClient.connect(portOf((open.listeners.PLAINTEXT as string[])[0] as string), '127.0.0.1')
    t.after(() => raw.close())
    assert.equal(await createTopic(raw, 'free'), ErrorCode.NONE)
    assert.equal(await createTopic(raw, 'guarded'), ErrorCode.NONE)
    // User:ANONYMOUS grants itself ALTER on the cluster (no ACL covers it yet), then an ACL on 'guarded' for someone else.
    const r = await raw.send<CreateAclsResponse>(
      ApiKey.CreateAcls,
      3,
      createCreateAclsRequest({
        creations: [
          {
            resourceType: TOPIC,
            resourceName: 'guarded',
            resourcePatternType: LITERAL,
            principal: 'User:other',
            host: '*',
            operation: Op.READ,
            permissionType: ALLOW,
          },
        ],
      }),
    )
    assert.equal(r.results[0]?.errorCode, ErrorCode.NONE)
    const topics = (await metadata(raw, null)).topics.map((t) => t.name)
    assert.deepEqual(topics, ['free'])
  })
})

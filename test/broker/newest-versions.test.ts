/**
 * What the newest versions of existing APIs add (the Kafka 4.4 specs), each sent as a raw
 * request next to the version before it: ApiVersions v5 checks the cluster and node the client
 * means (KIP-1242), DescribeGroups v6 reports an unknown group as GROUP_ID_NOT_FOUND (KIP-1043),
 * DeleteGroups v3 a message with an error, ListTransactions v2 filters by a transactional id
 * pattern (KIP-1152), ListOffsets v11 answers -6 (earliest pending upload, KIP-1023) as a broker
 * without tiered storage does, Metadata v13 has a top-level error code and DescribeLogDirs v5 a
 * cordoned flag. Produce v13, OffsetCommit and OffsetFetch v10 name topics by id (an unknown id is
 * UNKNOWN_TOPIC_ID). The Java client (kafka-clients 4.4) uses these versions in test/e2e/java-client.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import type { DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.ts'
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.ts'
import type { DescribeLogDirsResponse } from '../../src/protocol/generated/describe-log-dirs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createListOffsetsPartition,
  createListOffsetsRequest,
  createListOffsetsTopic,
  type ListOffsetsResponse,
} from '../../src/protocol/generated/list-offsets.ts'
import {
  createListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../src/protocol/generated/list-transactions.ts'
import { createMetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
  type OffsetCommitResponse,
} from '../../src/protocol/generated/offset-commit.ts'
import {
  createOffsetFetchRequest,
  createOffsetFetchRequestGroup,
  createOffsetFetchRequestTopics,
  type OffsetFetchResponse,
} from '../../src/protocol/generated/offset-fetch.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

describe('the newest versions of existing APIs', () => {
  let broker: Broker
  let raw: RawClient
  let topicId: string
  const UNKNOWN_ID = '7f000000-0000-4000-8000-000000000001'
  before(async () => {
    broker = await startBroker()
    raw = await RawClient.connect(broker.port)
    topicId = (await broker.core.topics.create('newest', 1, {}))?.topicId as string
  })
  after(async () => {
    await raw.close()
    await broker.close()
  })

  test('ApiVersions v5: the cluster and node the client names must be this one, else REBOOTSTRAP_REQUIRED', async () => {
    const ask = (clusterId: string | null, nodeId: number) =>
      raw.send<ApiVersionsResponse>(ApiKey.ApiVersions, 5, createApiVersionsRequest({ clusterId, nodeId }))
    const own = broker.core.clusterId
    const nodeId = broker.core.cluster.localNodes[0]?.nodeId as number
    const right = await ask(own, nodeId)
    assert.equal(right.errorCode, ErrorCode.NONE)
    assert.ok(right.apiKeys.length > 0)
    assert.equal((await ask(null, -1)).errorCode, ErrorCode.NONE, 'a client that names nothing is served')
    assert.equal((await ask('another-cluster', nodeId)).errorCode, ErrorCode.REBOOTSTRAP_REQUIRED)
    assert.equal((await ask(own, nodeId + 7)).errorCode, ErrorCode.REBOOTSTRAP_REQUIRED)
  })

  test('DescribeGroups v6: an unknown group is GROUP_ID_NOT_FOUND with a message; v5 keeps Dead and no error', async () => {
    const describe = (version: number) =>
      raw.send<DescribeGroupsResponse>(ApiKey.DescribeGroups, version, { groups: ['no-such-group'] })
    const [v6] = (await describe(6)).groups
    assert.equal(v6?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
    assert.equal(v6?.groupState, 'Dead')
    assert.match(v6?.errorMessage ?? '', /no-such-group/)
    const [v5] = (await describe(5)).groups
    assert.equal(v5?.errorCode, ErrorCode.NONE)
    assert.equal(v5?.groupState, 'Dead')
  })

  test('DeleteGroups v3: an error comes with its message', async () => {
    const res = await raw.send<DeleteGroupsResponse>(ApiKey.DeleteGroups, 3, { groupsNames: ['no-such-group'] })
    assert.equal(res.results[0]?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
    assert.ok((res.results[0]?.errorMessage ?? '').length > 0)
  })

  test('ListTransactions v2: only transactional ids the whole pattern matches; an invalid one is INVALID_REGULAR_EXPRESSION', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    for (const transactionalId of ['billing-1', 'billing-2', 'shipping-1']) {
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      const txn = await producer.transaction()
      await txn.send({ topic: 'newest', messages: [{ value: transactionalId }] })
      await txn.commit()
      await producer.disconnect()
    }
    const list = async (transactionalIdPattern: string | null) =>
      raw.send<ListTransactionsResponse>(
        ApiKey.ListTransactions,
        2,
        createListTransactionsRequest({ transactionalIdPattern }),
      )
    const ids = (res: ListTransactionsResponse) => res.transactionStates.map((t) => t.transactionalId).sort()
    assert.deepEqual(ids(await list('billing-\\d+')), ['billing-1', 'billing-2'])
    assert.deepEqual(ids(await list('billing')), [], 'the whole id must match')
    assert.deepEqual(ids(await list(null)), ['billing-1', 'billing-2', 'shipping-1'])
    assert.deepEqual(ids(await list('')), ['billing-1', 'billing-2', 'shipping-1'], 'empty: no filter')
    assert.equal((await list('billing-(')).errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION)
  })

  test('ListOffsets v11: earliest pending upload (-6) is -1 without tiered storage; Metadata v13 has no top-level error', async () => {
    const res = await raw.send<ListOffsetsResponse>(
      ApiKey.ListOffsets,
      11,
      createListOffsetsRequest({
        replicaId: -1,
        topics: [
          createListOffsetsTopic({ name: 'newest', partitions: [createListOffsetsPartition({ timestamp: -6n })] }),
        ],
      }),
    )
    const p = res.topics[0]?.partitions[0]
    assert.equal(p?.errorCode, ErrorCode.NONE)
    assert.equal(p?.offset, -1n)
    const meta = await raw.send<MetadataResponse>(ApiKey.Metadata, 13, createMetadataRequest({ topics: null }))
    assert.equal(meta.errorCode, ErrorCode.NONE)
    assert.ok(meta.topics.some((t) => t.name === 'newest'))
  })

  test('DescribeLogDirs v5: the log dir is not cordoned', async () => {
    const res = await raw.send<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, 5, { topics: null })
    assert.equal(res.errorCode, ErrorCode.NONE)
    assert.equal(res.results[0]?.isCordoned, false)
    assert.ok(res.results[0]?.topics.some((t) => t.name === 'newest'))
  })

  test('Produce v13 writes to a topic named by id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
    const produce = (id: string) =>
      raw.send<ProduceResponse>(
        ApiKey.Produce,
        13,
        createProduceRequest({
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            createTopicProduceData({
              topicId: id,
              partitionData: [
                {
                  index: 0,
                  records: encodeBatchSync({
                    records: [{ value: Buffer.from('by-id'), timestamp: BigInt(Date.now()) }],
                  }),
                },
              ],
            }),
          ],
        }),
      )
    const before = (await broker.core.storage.offsets('newest', 0)).highWatermark
    const ok = await produce(topicId)
    assert.equal(ok.responses[0]?.topicId, topicId)
    assert.equal(ok.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.NONE)
    assert.equal(ok.responses[0]?.partitionResponses[0]?.baseOffset, BigInt(before))
    assert.equal((await broker.core.storage.offsets('newest', 0)).highWatermark, before + 1)
    const unknown = await produce(UNKNOWN_ID)
    assert.equal(unknown.responses[0]?.topicId, UNKNOWN_ID)
    assert.equal(unknown.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_ID)
  })

  test('OffsetCommit and OffsetFetch v10 name topics by id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
    const groupId = 'by-id-group'
    const partition = (committedMetadata: string | null) => [
      createOffsetCommitRequestPartition({ partitionIndex: 0, committedOffset: 1n, committedMetadata }),
    ]
    const committed = await raw.send<OffsetCommitResponse>(
      ApiKey.OffsetCommit,
      10,
      createOffsetCommitRequest({
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: [
          createOffsetCommitRequestTopic({ topicId, partitions: partition('m') }),
          createOffsetCommitRequestTopic({ topicId: UNKNOWN_ID, partitions: partition(null) }),
        ],
      }),
    )
    assert.deepEqual(
      committed.topics.map((t) => [t.topicId, t.partitions[0]?.errorCode]),
      [
        [topicId, ErrorCode.NONE],
        [UNKNOWN_ID, ErrorCode.UNKNOWN_TOPIC_ID],
      ],
    )
    const fetch = (topics: { topicId: string; partitionIndexes: number[] }[] | null) =>
      raw.send<OffsetFetchResponse>(
        ApiKey.OffsetFetch,
        10,
        createOffsetFetchRequest({
          groups: [
            createOffsetFetchRequestGroup({
              groupId,
              topics: topics === null ? null : topics.map((t) => createOffsetFetchRequestTopics(t)),
            }),
          ],
        }),
      )
    const asked = (
      await fetch([
        { topicId, partitionIndexes: [0] },
        { topicId: UNKNOWN_ID, partitionIndexes: [0] },
      ])
    ).groups[0]
    assert.deepEqual(
      asked?.topics.map((t) => [t.topicId, t.partitions[0]?.committedOffset, t.partitions[0]?.errorCode]),
      [
        [topicId, 1n, ErrorCode.NONE],
        [UNKNOWN_ID, -1n, ErrorCode.UNKNOWN_TOPIC_ID],
      ],
    )
    const all = (await fetch(null)).groups[0]
    assert.deepEqual(
      all?.topics.map((t) => [t.topicId, t.partitions[0]?.committedOffset]),
      [[topicId, 1n]],
    )
  })
})

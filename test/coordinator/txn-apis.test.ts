/**
 * Transaction coordinator and producer state through raw protocol requests: InitProducerId
 * rules (timeouts, KIP-360, fencing codes per version), AddPartitionsToTxn (v3 and the v4+
 * batched form with verify_only), EndTxn state rules, KIP-890 verification of transactional
 * produce, read_committed fetch with aborted transactions, require_stable offsets, and the
 * Describe/List APIs.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type AddPartitionsToTxnResponse,
  createAddPartitionsToTxnRequest,
} from '../../src/protocol/generated/add-partitions-to-txn.ts'
import type { DescribeProducersResponse } from '../../src/protocol/generated/describe-producers.ts'
import type { DescribeTransactionsResponse } from '../../src/protocol/generated/describe-transactions.ts'
import type { EndTxnResponse } from '../../src/protocol/generated/end-txn.ts'
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchResponse,
} from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createInitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../src/protocol/generated/init-producer-id.ts'
import {
  createListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../src/protocol/generated/list-transactions.ts'
import { createOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import type { TxnOffsetCommitResponse } from '../../src/protocol/generated/txn-offset-commit.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { RawClient } from '../helpers/raw-client.ts'

let broker: Broker
let c: RawClient

before(async () => {
  broker = await startBroker({ config: { 'transaction.max.timeout.ms': '60000' } })
  await broker.core.topics.create('t', 2, {})
  c = await RawClient.connect(broker.port)
})
after(async () => {
  await c.close()
  await broker.close()
})

interface P {
  pid: bigint
  epoch: number
}

async function init(id: string | null, version = 4, expected: P = { pid: -1n, epoch: -1 }, timeoutMs = 30_000) {
  return c.send<InitProducerIdResponse>(
    ApiKey.InitProducerId,
    version,
    createInitProducerIdRequest({
      transactionalId: id,
      transactionTimeoutMs: timeoutMs,
      producerId: expected.pid,
      producerEpoch: expected.epoch,
    }),
  )
}

async function initOk(id: string): Promise<P> {
  const r = await init(id)
  assert.equal(r.errorCode, 0)
  return { pid: r.producerId, epoch: r.producerEpoch }
}

async function add(id: string, p: P, partitions: number[], topic = 't', version = 3): Promise<number[]> {
  const r = await c.send<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, version, {
    transactions: [],
    v3AndBelowTransactionalId: id,
    v3AndBelowProducerId: p.pid,
    v3AndBelowProducerEpoch: p.epoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
  })
  return r.resultsByTopicV3AndBelow[0]?.resultsByPartition.map((x) => x.partitionErrorCode) ?? []
}

async function end(id: string, p: P, committed: boolean, version = 3): Promise<EndTxnResponse> {
  return c.send<EndTxnResponse>(ApiKey.EndTxn, version, {
    transactionalId: id,
    producerId: p.pid,
    producerEpoch: p.epoch,
    committed,
  })
}

async function produce(id: string | null, p: P, partition: number, seq: number, values: string[]): Promise<number> {
  const records = encodeBatchSync({
    producerId: p.pid,
    producerEpoch: p.epoch,
    baseSequence: seq,
    isTransactional: id !== null,
    records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
  })
  const res = await c.send<ProduceResponse>(
    ApiKey.Produce,
    9,
    createProduceRequest({
      transactionalId: id,
      acks: -1,
      timeoutMs: 1000,
      topicData: [createTopicProduceData({ name: 't', partitionData: [{ index: partition, records }] })],
    }),
  )
  return res.responses[0]?.partitionResponses[0]?.errorCode ?? -1
}

test('InitProducerId: timeouts, epoch bumps, KIP-360 recovery and fencing codes per version', async () => {
  assert.equal((await init('x', 4, undefined, 0)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT)
  assert.equal((await init('x', 4, undefined, 60_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT)
  assert.equal((await init('')).errorCode, ErrorCode.INVALID_REQUEST)
  const a = await init(null)
  const b = await init(null)
  assert.equal(a.errorCode, 0)
  assert.notEqual(a.producerId, b.producerId, 'idempotent producers get fresh ids')
  const first = await initOk('x')
  assert.equal(first.epoch, 0)
  const second = await initOk('x')
  assert.deepEqual(second, { pid: first.pid, epoch: 1 })
  // KIP-360: the current pair bumps; the previous pair is a retry answered with the current one.
  const recovered = await init('x', 4, second)
  assert.deepEqual([recovered.errorCode, recovered.producerEpoch], [0, 2])
  const retried = await init('x', 4, second)
  assert.deepEqual([retried.errorCode, retried.producerEpoch], [0, 2])
  assert.equal((await init('x', 4, first)).errorCode, ErrorCode.PRODUCER_FENCED)
  assert.equal((await init('x', 3, first)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH)
})

test('AddPartitionsToTxn and EndTxn: errors, retries and state rules', async () => {
  const p = await initOk('ap')
  assert.deepEqual(await add('ap', p, [0, 9]), [
    ErrorCode.OPERATION_NOT_ATTEMPTED,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ])
  assert.deepEqual(await add('ap', { ...p, epoch: p.epoch + 1 }, [0]), [ErrorCode.PRODUCER_FENCED])
  assert.deepEqual(await add('ap', { ...p, epoch: p.epoch + 1 }, [0], 't', 1), [ErrorCode.INVALID_PRODUCER_EPOCH])
  assert.deepEqual(await add('ap', { ...p, pid: p.pid + 1000n }, [0]), [ErrorCode.INVALID_PRODUCER_ID_MAPPING])
  assert.equal((await end('ap', p, true)).errorCode, ErrorCode.INVALID_TXN_STATE, 'nothing to end')
  assert.deepEqual(await add('ap', p, [0]), [0])
  // KIP-890: a transactional batch for a partition not in the transaction is refused.
  assert.equal(await produce('ap', p, 1, 0, ['nope']), ErrorCode.INVALID_TXN_STATE)
  assert.equal(await produce('ap', p, 0, 0, ['yes']), ErrorCode.NONE)
  // v4+ batched form with verify_only.
  const v4 = await c.send<AddPartitionsToTxnResponse>(
    ApiKey.AddPartitionsToTxn,
    4,
    createAddPartitionsToTxnRequest({
      transactions: [
        {
          transactionalId: 'ap',
          producerId: p.pid,
          producerEpoch: p.epoch,
          verifyOnly: true,
          topics: [{ name: 't', partitions: [0, 1] }],
        },
      ],
    }),
  )
  assert.deepEqual(
    v4.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition.map((r) => r.partitionErrorCode),
    [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE],
  )
  assert.equal((await end('ap', p, true)).errorCode, 0)
  assert.equal((await end('ap', p, true)).errorCode, 0, 'a retried commit succeeds')
  assert.equal((await end('ap', p, false)).errorCode, ErrorCode.INVALID_TXN_STATE)
  // EndTxn v5 bumps the epoch.
  assert.deepEqual(await add('ap', p, [1]), [0])
  const bumped = await end('ap', p, false, 5)
  assert.deepEqual([bumped.errorCode, bumped.producerEpoch], [0, p.epoch + 1])
})

test('read_committed fetch: stops at the LSO and lists aborted transactions', async () => {
  await broker.core.topics.create('rc', 1, {})
  const fetch = async (isolationLevel: number): Promise<FetchResponse> =>
    c.send<FetchResponse>(
      ApiKey.Fetch,
      11,
      createFetchRequest({
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel,
        sessionEpoch: -1,
        topics: [
          createFetchTopic({
            topic: 'rc',
            partitions: [createFetchPartition({ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 })],
          }),
        ],
      }),
    )
  const p = await initOk('rc')
  const write = async (seq: number, values: string[]): Promise<void> => {
    const records = encodeBatchSync({
      producerId: p.pid,
      producerEpoch: p.epoch,
      baseSequence: seq,
      isTransactional: true,
      records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
    })
    const res = await c.send<ProduceResponse>(
      ApiKey.Produce,
      9,
      createProduceRequest({
        transactionalId: 'rc',
        acks: 1,
        timeoutMs: 1000,
        topicData: [createTopicProduceData({ name: 'rc', partitionData: [{ index: 0, records }] })],
      }),
    )
    assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, 0)
  }
  assert.deepEqual(await add('ap-rc', p, [0], 'rc').catch(() => []), [ErrorCode.INVALID_PRODUCER_ID_MAPPING])
  await c.send(ApiKey.AddPartitionsToTxn, 3, {
    transactions: [],
    v3AndBelowTransactionalId: 'rc',
    v3AndBelowProducerId: p.pid,
    v3AndBelowProducerEpoch: p.epoch,
    v3AndBelowTopics: [{ name: 'rc', partitions: [0] }],
  })
  await write(0, ['a', 'b'])
  let part = (await fetch(1)).responses[0]?.partitions[0]
  assert.equal(part?.lastStableOffset, 0n)
  assert.equal(part?.highWatermark, 2n)
  assert.equal(part?.records?.length ?? 0, 0, 'nothing below the LSO yet')
  assert.ok(((await fetch(0)).responses[0]?.partitions[0]?.records?.length ?? 0) > 0, 'read_uncommitted sees it')
  assert.equal((await end('rc', p, false)).errorCode, 0)
  part = (await fetch(1)).responses[0]?.partitions[0]
  assert.equal(part?.lastStableOffset, 3n)
  assert.deepEqual(part?.abortedTransactions, [{ producerId: p.pid, firstOffset: 0n }])
  assert.equal((await fetch(0)).responses[0]?.partitions[0]?.abortedTransactions, null)

  const producers = await c.send<DescribeProducersResponse>(ApiKey.DescribeProducers, 0, {
    topics: [{ name: 'rc', partitionIndexes: [0, 5] }],
  })
  const [p0, p5] = producers.topics[0]?.partitions ?? []
  assert.deepEqual(
    p0?.activeProducers.map((a) => [a.producerId, a.lastSequence, a.currentTxnStartOffset]),
    [[p.pid, 1, -1n]],
  )
  assert.equal(p5?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
})

test('TxnOffsetCommit: pending until commit, require_stable answers UNSTABLE_OFFSET_COMMIT', async () => {
  const p = await initOk('oc')
  const commitOffset = (groupId: string) =>
    c.send<TxnOffsetCommitResponse>(ApiKey.TxnOffsetCommit, 3, {
      transactionalId: 'oc',
      groupId,
      producerId: p.pid,
      producerEpoch: p.epoch,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 't',
          partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: '' }],
        },
      ],
    })
  const code = (r: TxnOffsetCommitResponse) => r.topics[0]?.partitions[0]?.errorCode
  assert.equal(code(await commitOffset('g-oc')), ErrorCode.INVALID_TXN_STATE, 'group not added')
  assert.equal(
    (
      await c.send<{ errorCode: number }>(ApiKey.AddOffsetsToTxn, 3, {
        transactionalId: 'oc',
        producerId: p.pid,
        producerEpoch: p.epoch,
        groupId: 'g-oc',
      })
    ).errorCode,
    0,
  )
  assert.equal(code(await commitOffset('g-oc')), 0)
  const fetchOffset = async (requireStable: boolean) => {
    const r = await c.send<OffsetFetchResponse>(
      ApiKey.OffsetFetch,
      7,
      createOffsetFetchRequest({ groupId: 'g-oc', topics: [{ name: 't', partitionIndexes: [0] }], requireStable }),
    )
    const part = r.topics[0]?.partitions[0]
    return [part?.errorCode, part?.committedOffset]
  }
  assert.deepEqual(await fetchOffset(true), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n])
  assert.deepEqual(await fetchOffset(false), [0, -1n])
  const described = await c.send<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, {
    transactionalIds: ['oc', 'nope'],
  })
  assert.equal(described.transactionStates[0]?.transactionState, 'Ongoing')
  assert.equal(described.transactionStates[1]?.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
  const list = async (stateFilters: string[], producerIdFilters: bigint[], durationFilter = -1n) =>
    c.send<ListTransactionsResponse>(
      ApiKey.ListTransactions,
      1,
      createListTransactionsRequest({ stateFilters, producerIdFilters, durationFilter }),
    )
  const ongoing = await list(['Ongoing', 'Bogus'], [])
  assert.deepEqual(ongoing.unknownStateFilters, ['Bogus'])
  assert.deepEqual(
    ongoing.transactionStates.map((t) => t.transactionalId),
    ['oc'],
  )
  assert.deepEqual(
    (await list([], [p.pid])).transactionStates.map((t) => t.transactionalId),
    ['oc'],
  )
  assert.deepEqual((await list(['Ongoing'], [], 3_600_000n)).transactionStates, [])
  assert.equal((await end('oc', p, true)).errorCode, 0)
  assert.deepEqual(await fetchOffset(true), [0, 42n])
})

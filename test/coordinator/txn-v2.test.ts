/**
 * Transaction version 2 (KIP-890 part 2) through raw protocol requests, as a Kafka 4.x client
 * speaks it: Produce v12 adds its partition to the transaction (no AddPartitionsToTxn), TxnOffsetCommit
 * v5 its group (no AddOffsetsToTxn), EndTxn v5 bumps the epoch with every end (the markers carry
 * the bumped one, DescribeProducers shows it) and returns the pair to continue with, a retried
 * EndTxn is answered with it again, a zombie of the previous epoch is fenced, and an exhausted
 * epoch moves the transactional id to a new producer id. The same requests one version lower
 * keep transaction version 1's rules. The coordinator's own abort of a timed-out transaction runs
 * at the finalized transaction.version (UpdateFeatures).
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { encodeTxn } from '../../src/coordinator/txn/txn-metadata.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
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
import { createOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import type { TxnOffsetCommitResponse } from '../../src/protocol/generated/txn-offset-commit.ts'
import {
  createFeatureUpdateKey,
  createUpdateFeaturesRequest,
  type UpdateFeaturesResponse,
} from '../../src/protocol/generated/update-features.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { RawClient } from '../helpers/raw-client.ts'

let broker: Broker
let c: RawClient

before(async () => {
  broker = await startBroker({ config: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '50' } })
  await broker.core.topics.create('v2', 3, {})
  c = await RawClient.connect(broker.port)
})
after(async () => {
  await c?.close()
  await broker?.close()
})

interface P {
  pid: bigint
  epoch: number
}

async function initOk(id: string, transactionTimeoutMs = 30_000): Promise<P> {
  const r = await c.send<InitProducerIdResponse>(
    ApiKey.InitProducerId,
    5,
    createInitProducerIdRequest({
      transactionalId: id,
      transactionTimeoutMs,
      producerId: -1n,
      producerEpoch: -1,
    }),
  )
  assert.equal(r.errorCode, 0)
  return { pid: r.producerId, epoch: r.producerEpoch }
}

async function produce(id: string, p: P, partition: number, seq: number, values: string[], version = 12) {
  const records = encodeBatchSync({
    producerId: p.pid,
    producerEpoch: p.epoch,
    baseSequence: seq,
    isTransactional: true,
    records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
  })
  const res = await c.send<ProduceResponse>(
    ApiKey.Produce,
    version,
    createProduceRequest({
      transactionalId: id,
      acks: -1,
      timeoutMs: 1000,
      topicData: [createTopicProduceData({ name: 'v2', partitionData: [{ index: partition, records }] })],
    }),
  )
  return res.responses[0]?.partitionResponses[0]?.errorCode
}

async function end(id: string, p: P, committed: boolean, version = 5): Promise<EndTxnResponse> {
  return c.send<EndTxnResponse>(ApiKey.EndTxn, version, {
    transactionalId: id,
    producerId: p.pid,
    producerEpoch: p.epoch,
    committed,
  })
}

/** The pair an EndTxn v5 answered, after checking it succeeded. */
function next(r: EndTxnResponse): P {
  assert.equal(r.errorCode, 0)
  return { pid: r.producerId, epoch: r.producerEpoch }
}

async function commitOffset(id: string, p: P, groupId: string, offset: bigint, version = 5) {
  const r = await c.send<TxnOffsetCommitResponse>(ApiKey.TxnOffsetCommit, version, {
    transactionalId: id,
    groupId,
    producerId: p.pid,
    producerEpoch: p.epoch,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: 'v2',
        partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }],
      },
    ],
  })
  return r.topics[0]?.partitions[0]?.errorCode
}

async function committedOffset(groupId: string): Promise<[number | undefined, bigint | undefined]> {
  const r = await c.send<OffsetFetchResponse>(
    ApiKey.OffsetFetch,
    7,
    createOffsetFetchRequest({ groupId, topics: [{ name: 'v2', partitionIndexes: [0] }], requireStable: true }),
  )
  const part = r.topics[0]?.partitions[0]
  return [part?.errorCode, part?.committedOffset]
}

async function describe(id: string) {
  const r = await c.send<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] })
  const s = r.transactionStates[0]
  return { state: s?.transactionState, pid: s?.producerId, epoch: s?.producerEpoch, topics: s?.topics }
}

/** The epoch a partition's producer state holds for a producer id (DescribeProducers). */
async function partitionEpoch(partition: number, pid: bigint): Promise<number | undefined> {
  const r = await c.send<DescribeProducersResponse>(ApiKey.DescribeProducers, 0, {
    topics: [{ name: 'v2', partitionIndexes: [partition] }],
  })
  return r.topics[0]?.partitions[0]?.activeProducers.find((a) => a.producerId === pid)?.producerEpoch
}

/** The values a read_committed fetch returns from a partition, and the partition's last stable offset. */
async function readCommitted(partition: number): Promise<{ lso: bigint | undefined; aborted: number }> {
  const r = await c.send<FetchResponse>(
    ApiKey.Fetch,
    11,
    createFetchRequest({
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 1,
      sessionEpoch: -1,
      topics: [
        createFetchTopic({
          topic: 'v2',
          partitions: [createFetchPartition({ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20 })],
        }),
      ],
    }),
  )
  const part = r.responses[0]?.partitions[0]
  return { lso: part?.lastStableOffset, aborted: part?.abortedTransactions?.length ?? 0 }
}

test('Produce v12 adds its partition, EndTxn v5 bumps the epoch per end, markers carry it, retries are answered again', async () => {
  const p0 = await initOk('v2-a')
  assert.equal(await produce('v2-a', p0, 0, 0, ['a', 'b']), ErrorCode.NONE, 'no AddPartitionsToTxn needed')
  assert.equal(await produce('v2-a', p0, 0, 2, ['c']), ErrorCode.NONE)
  assert.equal(await produce('v2-a', p0, 1, 0, ['d']), ErrorCode.NONE)
  let d = await describe('v2-a')
  assert.equal(d.state, 'Ongoing')
  assert.deepEqual(
    d.topics?.map((t) => [t.topic, [...t.partitions].sort()]),
    [['v2', [0, 1]]],
  )
  assert.equal((await readCommitted(0)).lso, 0n, 'the open transaction holds the last stable offset')

  const p1 = next(await end('v2-a', p0, true))
  assert.deepEqual(p1, { pid: p0.pid, epoch: p0.epoch + 1 })
  d = await describe('v2-a')
  assert.deepEqual([d.state, d.epoch], ['CompleteCommit', p1.epoch])
  assert.equal(await partitionEpoch(0, p0.pid), p1.epoch, 'the marker carries the bumped epoch')
  assert.equal(await partitionEpoch(1, p0.pid), p1.epoch)
  assert.deepEqual(await readCommitted(0), { lso: 4n, aborted: 0 }, 'three records and the marker')

  // A retry of that end (the epoch before the bump) gets the same pair; the opposite end is refused.
  assert.deepEqual(next(await end('v2-a', p0, true)), p1)
  assert.equal((await end('v2-a', p0, false)).errorCode, ErrorCode.INVALID_TXN_STATE)
  // With the current epoch a commit of nothing is refused; an older one is fenced; an unknown id too.
  assert.equal((await end('v2-a', p1, true)).errorCode, ErrorCode.INVALID_TXN_STATE)
  assert.equal((await end('v2-a', { ...p0, epoch: p0.epoch - 1 }, true)).errorCode, ErrorCode.PRODUCER_FENCED)
  assert.equal(
    (await end('v2-a', { ...p1, pid: p1.pid + 1000n }, true)).errorCode,
    ErrorCode.INVALID_PRODUCER_ID_MAPPING,
  )

  // The next transaction at the new epoch starts its sequences again; a straggler of the old
  // epoch is fenced in a partition it wrote (the marker's epoch) and in one it did not (the coordinator).
  assert.equal(await produce('v2-a', p1, 0, 0, ['e']), ErrorCode.NONE)
  assert.equal(await produce('v2-a', p0, 0, 3, ['zombie']), ErrorCode.INVALID_PRODUCER_EPOCH)
  assert.equal(await produce('v2-a', p0, 2, 0, ['zombie']), ErrorCode.INVALID_PRODUCER_EPOCH)
  const p2 = next(await end('v2-a', p1, false))
  assert.deepEqual(p2, { pid: p0.pid, epoch: p0.epoch + 2 })
  assert.deepEqual(await readCommitted(0), { lso: 6n, aborted: 1 })
  assert.equal(await partitionEpoch(0, p0.pid), p2.epoch)
  // An abort with nothing open is a bump alone.
  const p3 = next(await end('v2-a', p2, false))
  assert.deepEqual(p3, { pid: p0.pid, epoch: p0.epoch + 3 })
  assert.deepEqual(next(await end('v2-a', p2, false)), p3, 'and its retry is answered with the same pair')
  assert.equal(await produce('v2-a', p2, 2, 0, ['zombie']), ErrorCode.INVALID_PRODUCER_EPOCH)
})

test('TxnOffsetCommit v5 adds the group; the offsets wait for the commit', async () => {
  const p0 = await initOk('v2-offsets')
  assert.equal(
    await commitOffset('v2-offsets', p0, 'g-v2', 7n, 4),
    ErrorCode.INVALID_TXN_STATE,
    'v4 needs AddOffsetsToTxn',
  )
  assert.equal(await commitOffset('v2-offsets', p0, 'g-v2', 7n), ErrorCode.NONE, 'v5 adds the group')
  assert.equal((await describe('v2-offsets')).state, 'Ongoing')
  assert.deepEqual(await committedOffset('g-v2'), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n])
  assert.equal(
    await commitOffset('v2-offsets', { ...p0, epoch: p0.epoch + 1 }, 'g-v2', 8n),
    ErrorCode.PRODUCER_FENCED,
    'an epoch the coordinator does not hold',
  )
  const p1 = next(await end('v2-offsets', p0, true))
  assert.deepEqual(await committedOffset('g-v2'), [ErrorCode.NONE, 7n])
  // The previous epoch is fenced, in the next transaction too.
  assert.equal(await commitOffset('v2-offsets', p0, 'g-v2', 9n), ErrorCode.PRODUCER_FENCED)
  assert.equal(await commitOffset('v2-offsets', p1, 'g-v2', 9n), ErrorCode.NONE)
  next(await end('v2-offsets', p1, false))
  assert.deepEqual(await committedOffset('g-v2'), [ErrorCode.NONE, 7n], 'aborted offsets are dropped')
})

test('transaction version 1 requests keep their rules: Produce v11 needs AddPartitionsToTxn, EndTxn v4 keeps the epoch', async () => {
  const p = await initOk('v1-kept')
  assert.equal(await produce('v1-kept', p, 0, 0, ['x'], 11), ErrorCode.INVALID_TXN_STATE)
  assert.equal(await produce('v1-kept', p, 0, 0, ['x']), ErrorCode.NONE)
  const ended = await end('v1-kept', p, true, 4)
  assert.equal(ended.errorCode, 0)
  assert.deepEqual((await describe('v1-kept')).epoch, p.epoch, 'no bump below v5')
  assert.equal((await end('v1-kept', p, true, 4)).errorCode, 0, 'a retried commit')
  assert.equal(await partitionEpoch(0, p.pid), p.epoch)
})

test('an end that exhausts the epoch moves the transactional id to a new producer id', async () => {
  // A transactional id whose producer is one transaction away from the last usable epoch.
  const pid = 900_000
  const txn = {
    transactionalId: 'v2-overflow',
    producerId: pid,
    lastProducerId: -1,
    producerEpoch: 32765,
    lastProducerEpoch: -1,
    nextProducerId: -1,
    clientTxnVersion: 0,
    timeoutMs: 30_000,
    state: 'Empty' as const,
    partitions: new Map(),
    groups: new Set<string>(),
    startTimeMs: -1,
    updateTimeMs: Date.now(),
  }
  await broker.core.storage.kv.put('txn-state', new Map([['v2-overflow', encodeTxn(txn)]]))
  // As when another coordinator handed the id over: its state is read from storage.
  await broker.core.txns.coordinatorsChanged()
  const p0 = { pid: BigInt(pid), epoch: 32765 }
  assert.equal(await produce('v2-overflow', p0, 1, 0, ['x']), ErrorCode.NONE)
  const p1 = next(await end('v2-overflow', p0, true))
  assert.deepEqual(p1, { pid: p0.pid, epoch: 32766 })
  assert.equal(await produce('v2-overflow', p1, 1, 0, ['y']), ErrorCode.NONE)
  const p2 = next(await end('v2-overflow', p1, true))
  assert.notEqual(p2.pid, p0.pid)
  assert.equal(p2.epoch, 0)
  assert.equal(await partitionEpoch(1, p0.pid), 32767, "the old producer id's markers carry the last epoch")
  assert.deepEqual(
    next(await end('v2-overflow', p1, true)),
    p2,
    'a retry with the old pair is answered with the new one',
  )
  assert.equal(await produce('v2-overflow', p1, 2, 0, ['zombie']), ErrorCode.INVALID_PRODUCER_ID_MAPPING)
  assert.equal(await produce('v2-overflow', p2, 1, 0, ['z']), ErrorCode.NONE)
  assert.deepEqual(next(await end('v2-overflow', p2, true)), { pid: p2.pid, epoch: 1 })
})

test('a timed-out transaction is aborted at the finalized level: two bumps at 2 (fence and end), one at 1', async (t) => {
  const setLevel = async (maxVersionLevel: number, upgradeType: number): Promise<void> => {
    const r = await c.send<UpdateFeaturesResponse>(
      ApiKey.UpdateFeatures,
      2,
      createUpdateFeaturesRequest({
        featureUpdates: [createFeatureUpdateKey({ feature: 'transaction.version', maxVersionLevel, upgradeType })],
      }),
    )
    assert.equal(r.errorCode, 0)
  }
  const timedOut = async (id: string): Promise<{ p: P; epoch: number | undefined }> => {
    const p = await initOk(id, 200)
    assert.equal(await produce(id, p, 2, 0, ['late']), ErrorCode.NONE)
    await waitUntil(`${id} aborted at its timeout`, async () => (await describe(id)).state === 'CompleteAbort')
    return { p, epoch: (await describe(id)).epoch }
  }
  const at2 = await timedOut('v2-timeout')
  assert.equal(at2.epoch, at2.p.epoch + 2)
  assert.equal(await partitionEpoch(2, at2.p.pid), at2.p.epoch + 2, 'the abort marker carries the last bump')
  assert.equal((await end('v2-timeout', at2.p, false)).errorCode, ErrorCode.PRODUCER_FENCED)
  await setLevel(1, 2)
  t.after(() => setLevel(2, 1))
  const at1 = await timedOut('v1-timeout')
  assert.equal(at1.epoch, at1.p.epoch + 1)
})

/**
 * Durability of producer and transaction state on the local engine: a broker killed with
 * SIGKILL (no snapshot written) rebuilds sequences, epochs and open transactions from the batch
 * headers in the log; a cleanly stopped one loads its snapshot; a transaction caught between
 * PrepareCommit and its markers is completed on start.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { encodeTxn, type TxnMetadata } from '../../src/coordinator/txn/txn-metadata.ts'
import type { AddPartitionsToTxnResponse } from '../../src/protocol/generated/add-partitions-to-txn.ts'
import type { DescribeTransactionsResponse } from '../../src/protocol/generated/describe-transactions.ts'
import type { EndTxnResponse } from '../../src/protocol/generated/end-txn.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createInitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../src/protocol/generated/init-producer-id.ts'
import { createListOffsetsRequest, type ListOffsetsResponse } from '../../src/protocol/generated/list-offsets.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { spawnBroker } from '../helpers/broker-process.ts'
import { RawClient } from '../helpers/raw-client.ts'

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-txn-'))
  dirs.push(dir)
  return dir
}

function portOf(bootstrap: string): number {
  return Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))
}

interface Producer {
  pid: bigint
  epoch: number
}

async function init(c: RawClient, transactionalId: string | null): Promise<Producer> {
  const r = await c.send<InitProducerIdResponse>(
    ApiKey.InitProducerId,
    4,
    createInitProducerIdRequest({
      transactionalId,
      transactionTimeoutMs: 600_000,
      producerId: -1n,
      producerEpoch: -1,
    }),
  )
  assert.equal(r.errorCode, 0)
  return { pid: r.producerId, epoch: r.producerEpoch }
}

async function produce(
  c: RawClient,
  topic: string,
  p: Producer,
  seq: number,
  count: number,
  transactionalId: string | null = null,
): Promise<[number, bigint]> {
  const records = encodeBatchSync({
    producerId: p.pid,
    producerEpoch: p.epoch,
    baseSequence: seq,
    isTransactional: transactionalId !== null,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${seq + i}`) })),
  })
  const res = await c.send<ProduceResponse>(
    ApiKey.Produce,
    9,
    createProduceRequest({
      transactionalId,
      acks: -1,
      timeoutMs: 1000,
      topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 0, records }] })],
    }),
  )
  const r = res.responses[0]?.partitionResponses[0]
  return [r?.errorCode ?? -1, r?.baseOffset ?? -1n]
}

async function addPartition(c: RawClient, id: string, p: Producer, topic: string): Promise<void> {
  const r = await c.send<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, 3, {
    transactions: [],
    v3AndBelowTransactionalId: id,
    v3AndBelowProducerId: p.pid,
    v3AndBelowProducerEpoch: p.epoch,
    v3AndBelowTopics: [{ name: topic, partitions: [0] }],
  })
  assert.equal(r.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode, 0)
}

async function endTxn(c: RawClient, id: string, p: Producer, committed: boolean): Promise<number> {
  const r = await c.send<EndTxnResponse>(ApiKey.EndTxn, 3, {
    transactionalId: id,
    producerId: p.pid,
    producerEpoch: p.epoch,
    committed,
  })
  return r.errorCode
}

async function latest(c: RawClient, topic: string, isolationLevel: number): Promise<bigint> {
  const r = await c.send<ListOffsetsResponse>(
    ApiKey.ListOffsets,
    5,
    createListOffsetsRequest({
      replicaId: -1,
      isolationLevel,
      topics: [
        { name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1, maxNumOffsets: 1 }] },
      ],
    }),
  )
  return r.topics[0]?.partitions[0]?.offset ?? -99n
}

async function describeState(c: RawClient, id: string): Promise<string | undefined> {
  const r = await c.send<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] })
  return r.transactionStates[0]?.transactionState
}

test('kill -9 and clean restarts keep sequences, epochs and open transactions', async () => {
  const dir = await tempDir()
  let broker = await spawnBroker(dir)
  let c = await RawClient.connect(portOf(broker.bootstrap))
  const topic = 'dur'
  await c.send(ApiKey.CreateTopics, 5, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })
  const idem = await init(c, null)
  assert.deepEqual(await produce(c, topic, idem, 0, 3), [0, 0n])
  const txnId = 'dur-txn'
  const txp = await init(c, txnId)
  await addPartition(c, txnId, txp, topic)
  assert.deepEqual(await produce(c, topic, txp, 0, 2, txnId), [0, 3n])
  assert.equal(await latest(c, topic, 1), 3n, 'the open transaction holds the LSO')
  await c.close()

  // SIGKILL: no snapshot; the state comes back from the log.
  await broker.stop('SIGKILL')
  broker = await spawnBroker(dir)
  c = await RawClient.connect(portOf(broker.bootstrap))
  assert.equal(await latest(c, topic, 1), 3n, 'LSO rebuilt from the log')
  assert.equal(await latest(c, topic, 0), 5n)
  assert.equal(await describeState(c, txnId), 'Ongoing')
  assert.deepEqual(await produce(c, topic, idem, 0, 3), [0, 0n], 'duplicate recognized after kill -9')
  assert.deepEqual((await produce(c, topic, idem, 5, 1))[0], 45, 'OUT_OF_ORDER_SEQUENCE_NUMBER')
  assert.deepEqual(await produce(c, topic, idem, 3, 1), [0, 5n])
  assert.deepEqual(await produce(c, topic, txp, 2, 1, txnId), [0, 6n], 'the transaction continues')
  assert.equal(await endTxn(c, txnId, txp, true), 0)
  assert.equal(await latest(c, topic, 1), 8n, 'commit marker at 7, LSO = HW')
  await c.close()

  // Clean stop: the snapshot is loaded.
  await broker.stop('SIGTERM')
  broker = await spawnBroker(dir)
  c = await RawClient.connect(portOf(broker.bootstrap))
  assert.deepEqual(await produce(c, topic, idem, 3, 1), [0, 5n], 'duplicate recognized from the snapshot')
  assert.equal(await describeState(c, txnId), 'CompleteCommit')
  const fenced = await produce(c, topic, { pid: txp.pid, epoch: txp.epoch - 1 }, 0, 1, txnId)
  assert.equal(fenced[0], 47, 'an older epoch is INVALID_PRODUCER_EPOCH')
  await c.close()
  await broker.stop('SIGTERM')
})

test('a transaction left in PrepareCommit is completed on start', async () => {
  const dir = await tempDir()
  let broker = await startBroker({ storage: 'local', dataDir: dir })
  const topic = 'prep'
  await broker.core.topics.create(topic, 1, {})
  let c = await RawClient.connect(broker.port)
  const txnId = 'prep-txn'
  const p = await init(c, txnId)
  await addPartition(c, txnId, p, topic)
  assert.deepEqual(await produce(c, topic, p, 0, 4, txnId), [0, 0n])
  await c.close()
  // As if the coordinator crashed after persisting PrepareCommit, before any marker.
  const txn = broker.core.txns.get(txnId) as TxnMetadata
  await broker.core.storage.kv.put('txn-state', new Map([[txnId, encodeTxn({ ...txn, state: 'PrepareCommit' })]]))
  await broker.close()

  broker = await startBroker({ storage: 'local', dataDir: dir })
  c = await RawClient.connect(broker.port)
  assert.equal(await describeState(c, txnId), 'CompleteCommit')
  assert.equal(await latest(c, topic, 1), 5n, 'the commit marker was written on start')
  await c.close()
  await broker.close()
})

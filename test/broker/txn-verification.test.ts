/**
 * Transaction verification across brokers (KIP-890 part 1): two brokers over one PostgreSQL, the
 * transactional id coordinated by one, the partition led by the other. A transactional batch
 * for a partition the transaction does not hold (never added, or added to a transaction that was
 * aborted since: a late retry) is refused with INVALID_TXN_STATE after the leader asked the
 * coordinator, instead of opening a transaction there that nobody would end; once the partition
 * is added, the batch is written.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import type { AddPartitionsToTxnResponse } from '../../src/protocol/generated/add-partitions-to-txn.ts'
import type { EndTxnResponse } from '../../src/protocol/generated/end-txn.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createInitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../src/protocol/generated/init-producer-id.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type PartitionProduceResponse,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING
const LEASE = { 'broker.heartbeat.interval.ms': '200', 'broker.session.timeout.ms': '1000' }

describe('transactional batches checked with a coordinator on another broker', { skip }, () => {
  let leader: Broker
  let coordinator: Broker
  let toLeader: RawClient
  let toCoordinator: RawClient
  let transactionalId: string
  let partition: number

  before(async () => {
    const url = (await freshDatabase()) as `postgres://${string}`
    const brokers = [
      await startBroker({ storage: url, config: LEASE }),
      await startBroker({ storage: url, config: LEASE }),
    ]
    await brokers[0]?.core.topics.create('t', 4, {})
    await waitUntil('both brokers see each other and the topic', () =>
      brokers.every((b) => b.core.cluster.liveNodes.length === 2 && b.core.topics.get('t') !== undefined),
    )
    const [a, b] = brokers as [Broker, Broker]
    // A partition led by one broker, and a transactional id the other coordinates.
    const view = a.core.cluster
    partition = [0, 1, 2, 3].find((p) => view.leaderOf('t', p) === a.core.nodeId) ?? -1
    ;[leader, coordinator] = partition >= 0 ? [a, b] : [b, a]
    if (partition < 0) partition = [0, 1, 2, 3].find((p) => view.leaderOf('t', p) === b.core.nodeId) ?? -1
    transactionalId = Array.from({ length: 100 }, (_, i) => `verify-${i}`).find(
      (id) => view.coordinatorOf(id) === coordinator.core.nodeId,
    ) as string
    await waitUntil('the leader holds its claim', () => leader.core.leadership.leads('t', partition))
    toLeader = await RawClient.connect(leader.port)
    toCoordinator = await RawClient.connect(coordinator.port)
  })
  after(async () => {
    await toLeader?.close()
    await toCoordinator?.close()
    await leader?.close()
    await coordinator?.close()
  })

  async function produce(
    producerId: bigint,
    producerEpoch: number,
    baseSequence: number,
  ): Promise<PartitionProduceResponse> {
    const records = encodeBatchSync({
      records: [{ value: Buffer.from(`txn-${baseSequence}`) }],
      producerId: Number(producerId),
      producerEpoch,
      baseSequence,
      isTransactional: true,
    })
    const res = await toLeader.send<ProduceResponse>(
      ApiKey.Produce,
      9,
      createProduceRequest({
        transactionalId,
        acks: -1,
        timeoutMs: 5000,
        topicData: [createTopicProduceData({ name: 't', partitionData: [{ index: partition, records }] })],
      }),
    )
    return res.responses[0]?.partitionResponses[0] as PartitionProduceResponse
  }

  test('refused until the partition is added, written after, refused again once the transaction was aborted', async () => {
    const init = await toCoordinator.send<InitProducerIdResponse>(
      ApiKey.InitProducerId,
      1,
      createInitProducerIdRequest({ transactionalId, transactionTimeoutMs: 60_000 }),
    )
    assert.equal(init.errorCode, ErrorCode.NONE)
    const { producerId, producerEpoch } = init

    const unadded = await produce(producerId, producerEpoch, 0)
    assert.equal(unadded.errorCode, ErrorCode.INVALID_TXN_STATE, `answered ${unadded.errorCode}`)

    const added = await toCoordinator.send<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: transactionalId,
      v3AndBelowProducerId: producerId,
      v3AndBelowProducerEpoch: producerEpoch,
      v3AndBelowTopics: [{ name: 't', partitions: [partition] }],
    })
    assert.equal(added.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode, ErrorCode.NONE)
    const written = await produce(producerId, producerEpoch, 0)
    assert.equal(written.errorCode, ErrorCode.NONE)

    const ended = await toCoordinator.send<EndTxnResponse>(ApiKey.EndTxn, 3, {
      transactionalId,
      producerId,
      producerEpoch,
      committed: false,
    })
    assert.equal(ended.errorCode, ErrorCode.NONE)
    // The abort's marker reaches the leader; a late batch of that transaction must not open another.
    await waitUntil(
      'the abort marker written',
      () => !leader.core.producers.inTransaction('t', partition, Number(producerId)),
    )
    const late = await produce(producerId, producerEpoch, 1)
    assert.equal(late.errorCode, ErrorCode.INVALID_TXN_STATE, `answered ${late.errorCode}`)
    assert.equal(leader.core.producers.inTransaction('t', partition, Number(producerId)), false)
  })
})

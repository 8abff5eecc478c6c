/**
 * Partition leadership over shared storage, when another broker claims a partition behind this
 * one's back (its view has not caught up yet, as when a broker has just joined). The producer
 * state this broker holds may then be behind the new leader's: a batch it would refuse as out of
 * order is answered NOT_LEADER_OR_FOLLOWER instead (clients retry that, after looking the leader
 * up), and the broker claims the partition back only after a pause, with the state rebuilt from
 * storage, so the producer carries on where the other leader left it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type PartitionProduceResponse,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import type { PostgresStorage } from '../../src/storage/postgres/postgres-storage.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING
const PRODUCER = 7

function idempotent(baseSequence: number): Buffer {
  return encodeBatchSync({
    records: [{ value: Buffer.from(`seq-${baseSequence}`) }],
    producerId: PRODUCER,
    producerEpoch: 0,
    baseSequence,
  })
}

describe('a partition claimed by another broker', { skip }, () => {
  const opener = postgresOpener({})
  let broker: Broker
  let other: PostgresStorage
  let client: RawClient

  before(async () => {
    const url = (await freshDatabase()) as `postgres://${string}`
    broker = await startBroker({
      storage: url,
      config: { 'broker.heartbeat.interval.ms': '200', 'broker.session.timeout.ms': '1000' },
    })
    await broker.core.topics.create('t', 1, {})
    await waitUntil('the broker leads t-0', () => broker.core.leadership.leads('t', 0))
    other = await opener.open(url)
    client = await RawClient.connect(broker.port)
  })
  after(async () => {
    await client?.close()
    await broker?.close()
  })

  async function produce(batch: Buffer): Promise<PartitionProduceResponse> {
    const res = await client.send<ProduceResponse>(
      ApiKey.Produce,
      9,
      createProduceRequest({
        acks: -1,
        timeoutMs: 5000,
        topicData: [createTopicProduceData({ name: 't', partitionData: [{ index: 0, records: batch }] })],
      }),
    )
    return res.responses[0]?.partitionResponses[0] as PartitionProduceResponse
  }

  test('the next batch is sent to the new leader, not refused as out of order; the partition comes back with its producer state', async () => {
    assert.equal((await produce(idempotent(0))).baseOffset, 0n)

    // Another broker claims the partition and stores the producer's next batch.
    const epoch = await other.claimLeadership('t', 0, (await other.leaderEpoch('t', 0)) + 1)
    const data = idempotent(1)
    await other.append(
      't',
      0,
      { data, batches: [readBatchHeader(data) as BatchInfo] },
      { durable: true, leaderEpoch: epoch },
    )

    // This broker's producer state ends at sequence 0: only the claim tells it that 2 is in order.
    const moved = await produce(idempotent(2))
    assert.equal(moved.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `answered ${moved.errorCode}`)
    assert.equal(broker.core.leadership.leads('t', 0), false)

    // Its view still makes it the leader (it is the only live broker): it claims the partition
    // again after the pause and accepts the batch after the one the other leader stored.
    let accepted: PartitionProduceResponse | undefined
    await waitUntil('the batch accepted again', async () => {
      const res = await produce(idempotent(2))
      if (res.errorCode === ErrorCode.NONE) accepted = res
      else assert.equal(res.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `answered ${res.errorCode}`)
      return accepted !== undefined
    })
    assert.equal(accepted?.baseOffset, 2n)
    assert.equal(await broker.core.storage.leaderEpoch('t', 0), epoch + 1)
  })
})

/**
 * A failing disk seen from clients: while writes or fsyncs of the local engine fail, produce
 * answers KAFKA_STORAGE_ERROR (56) for the partition, the broker stays up and serves the rest,
 * and produce succeeds again once the fault clears (kafkajs retries through it).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { systemError } from '../../src/storage/local/faults.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { tempDir } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const fault: { write: string | null; sync: string | null } = { write: null, sync: null }
let broker: Broker
let raw: RawClient
let removeDir: () => Promise<void>

before(async () => {
  const dir = await tempDir('samsa-e2e-disk-')
  removeDir = dir.remove
  broker = await startBroker({
    storage: 'local',
    dataDir: dir.path,
    storageFaults: {
      beforeWrite: () => {
        if (fault.write !== null) throw systemError(fault.write)
      },
      beforeSync: () => {
        if (fault.sync !== null) throw systemError(fault.sync)
      },
    },
  })
  const admin = kafkajsClient(broker.bootstrap).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'disk', numPartitions: 2 }] })
  await admin.disconnect()
  raw = await RawClient.connect(broker.port)
})

after(async () => {
  await raw?.close()
  await broker?.close()
  await removeDir?.()
})

async function produce(
  partition: number,
  acks: number,
  value: string,
): Promise<{ errorCode: number; baseOffset: bigint }> {
  const records = encodeBatchSync({
    records: [{ key: null, value: Buffer.from(value), timestamp: BigInt(Date.now()) }],
  })
  const res = await raw.send<ProduceResponse>(
    ApiKey.Produce,
    7,
    createProduceRequest({
      acks,
      timeoutMs: 5000,
      topicData: [createTopicProduceData({ name: 'disk', partitionData: [{ index: partition, records }] })],
    }),
  )
  const p = res.responses[0]?.partitionResponses[0]
  assert.ok(p)
  return { errorCode: p.errorCode, baseOffset: p.baseOffset }
}

describe('disk errors end to end', () => {
  it('answers KAFKA_STORAGE_ERROR while writes fail, then resumes', async () => {
    assert.deepEqual(await produce(0, -1, 'first'), { errorCode: 0, baseOffset: 0n })
    fault.write = 'ENOSPC'
    assert.equal((await produce(0, -1, 'lost')).errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
    assert.equal((await produce(0, 1, 'lost')).errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
    fault.write = null
    assert.deepEqual(await produce(0, -1, 'second'), { errorCode: 0, baseOffset: 1n })
  })

  it('answers KAFKA_STORAGE_ERROR to acks=all while fsync fails', async () => {
    fault.sync = 'EIO'
    assert.equal((await produce(1, -1, 'unsynced')).errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
    fault.sync = null
    const ok = await produce(1, -1, 'synced')
    assert.equal(ok.errorCode, 0)
  })

  it('lets kafkajs retry through a passing fault and keeps serving other requests', async () => {
    const kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 200 } })
    const producer = kafka.producer()
    await producer.connect()
    fault.write = 'EIO'
    setTimeout(() => {
      fault.write = null
    }, 400)
    const started = Date.now()
    const [meta] = await producer.send({ topic: 'disk', acks: -1, messages: [{ partition: 0, value: 'retried' }] })
    assert.ok(Date.now() - started >= 300, 'the send waited for the fault to clear')
    assert.equal(meta?.errorCode, 0)
    assert.equal(meta?.baseOffset, '2')
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: 'disk-readers' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'disk', fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve) => {
      consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (partition === 0) seen.push(message.value?.toString() ?? '')
          if (seen.length === 3) resolve()
        },
      })
    })
    await consumer.disconnect()
    assert.deepEqual(seen, ['first', 'second', 'retried'])
  })
})

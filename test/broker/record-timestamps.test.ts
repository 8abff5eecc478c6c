/**
 * A batch's max timestamp is the largest of its records' timestamps, whatever the producer wrote
 * in the header (sarama 1.22 and other older clients write -1): the stored header, the time index,
 * ListOffsets by timestamp and MAX_TIMESTAMP (through kafkajs and @platformatic/kafka too) and
 * time-based retention all go by the records. Hand-built batches, raw Produce, both engines,
 * compressed and not.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createListOffsetsPartition,
  createListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../src/protocol/generated/list-offsets.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import { COMPRESSION_NAMES, Compression } from '../../src/protocol/records/compression.ts'
import { RecordsError } from '../../src/protocol/records/errors.ts'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient, type Platformatic, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

for (const engine of ['memory', 'local'] as const) {
  describe(`${engine} engine: max timestamps come from the records`, () => {
    let broker: TestBroker
    let client: RawClient
    let pk: Platformatic
    let dir: string | undefined

    before(async () => {
      dir = engine === 'local' ? await mkdtemp(join(tmpdir(), 'samsa-maxts-')) : undefined
      broker = await startBroker(dir === undefined ? {} : { storage: 'local', dataDir: dir })
      client = await RawClient.connect(broker.port)
      pk = await platformatic()
    })
    after(async () => {
      await client.close()
      await broker.close()
      if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    })

    async function produce(topic: string, records: Buffer): Promise<void> {
      const res = await client.send<ProduceResponse>(
        ApiKey.Produce,
        9,
        createProduceRequest({
          acks: -1,
          timeoutMs: 1000,
          topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 0, records }] })],
        }),
      )
      assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.NONE)
    }

    async function listOffset(topic: string, timestamp: number): Promise<{ offset: number; timestamp: number }> {
      const res = await client.send<ListOffsetsResponse>(
        ApiKey.ListOffsets,
        7,
        createListOffsetsRequest({
          replicaId: -1,
          topics: [
            {
              name: topic,
              partitions: [createListOffsetsPartition({ partitionIndex: 0, timestamp: BigInt(timestamp) })],
            },
          ],
        }),
      )
      const p = res.topics[0]?.partitions[0]
      assert.equal(p?.errorCode, ErrorCode.NONE)
      return { offset: Number(p?.offset), timestamp: Number(p?.timestamp) }
    }

    for (const codec of [Compression.NONE, Compression.LZ4]) {
      test(`${COMPRESSION_NAMES[codec]}: a header max timestamp of -1 or below a record's is replaced by the records' max`, async () => {
        const topic = uniqueName(`maxts-${COMPRESSION_NAMES[codec]}`)
        // A segment per batch on the local engine, as retention deletes whole segments.
        await broker.createTopic({ name: topic, configs: { 'retention.ms': String(HOUR), 'segment.bytes': '150' } })
        const now = broker.clock.now()
        const old = [now - 3 * HOUR, now - 150 * MINUTE] // offsets 0-1, past retention
        const recent = [now - 10 * MINUTE, now - 5 * MINUTE, now - 7 * MINUTE] // offsets 2-4
        const batch = (timestamps: number[], maxTimestamp: number) =>
          encodeBatchSync({
            compression: codec,
            maxTimestamp,
            records: timestamps.map((timestamp, i) => ({
              key: Buffer.from(`k${i}`),
              value: Buffer.from('v'),
              timestamp,
            })),
          })
        await produce(topic, batch(old, -1))
        await produce(topic, batch(recent, now - 10 * MINUTE))

        const header = async (offset: number) => {
          const read = await broker.core.storage.read(topic, 0, offset, 1, { minOneBatch: true })
          const info = readBatchHeader(read.records, 0)
          if (info instanceof RecordsError) throw info
          return info
        }
        const [first, second] = [await header(0), await header(2)]
        assert.deepEqual([first.maxTimestamp, second.maxTimestamp], [now - 150 * MINUTE, now - 5 * MINUTE])

        // The first record at or after the time asked, and the record with the largest timestamp.
        assert.equal((await listOffset(topic, now - 6 * MINUTE)).offset, 3)
        assert.equal((await listOffset(topic, now - 160 * MINUTE)).offset, 1)
        assert.deepEqual(await listOffset(topic, -3), { offset: 3, timestamp: now - 5 * MINUTE })

        const admin = kafkajsClient(broker.bootstrap).admin()
        await admin.connect()
        try {
          const [kjs] = await admin.fetchTopicOffsetsByTimestamp(topic, now - 6 * MINUTE)
          assert.equal(Number(kjs?.offset), 3, 'kafkajs')
        } finally {
          await admin.disconnect()
        }
        const pkAdmin = new pk.Admin({ clientId: 'pk-maxts', bootstrapBrokers: broker.brokers })
        try {
          const [listed] = await pkAdmin.listOffsets({
            topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: BigInt(now - 6 * MINUTE) }] }],
          })
          assert.equal(Number(listed?.partitions[0]?.offset), 3, '@platformatic/kafka')
        } finally {
          await pkAdmin.close()
        }

        // Retention goes by the records' time: the first batch is past retention.ms already.
        await broker.advanceTime(1)
        assert.equal((await broker.offsets(topic)).logStartOffset, 2)
      })
    }
  })
}

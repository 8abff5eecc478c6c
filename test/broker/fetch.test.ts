import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchRequest,
  type FetchResponse,
} from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { RawClient } from '../helpers/raw-client.ts'

const MiB = 1 << 20

async function produce(client: RawClient, topic: string, partition: number, values: string[]): Promise<void> {
  const records = encodeBatchSync({
    baseOffset: 0,
    records: values.map((v, i) => ({
      key: null,
      value: Buffer.from(v),
      timestamp: BigInt(Date.now()),
      offsetDelta: i,
    })),
  })
  const res = await client.send<ProduceResponse>(
    ApiKey.Produce,
    9,
    createProduceRequest({
      acks: 1,
      timeoutMs: 1000,
      topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: partition, records }] })],
    }),
  )
  assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, 0)
}

function fetchRequest(topic: string, partitions: [number, bigint][], fields: Partial<FetchRequest> = {}): FetchRequest {
  return createFetchRequest({
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: MiB,
    sessionEpoch: -1,
    topics: [
      createFetchTopic({
        topic,
        partitions: partitions.map(([partition, fetchOffset]) =>
          createFetchPartition({ partition, fetchOffset, partitionMaxBytes: MiB }),
        ),
      }),
    ],
    ...fields,
  })
}

/** Partition index → records byte length, for the partitions a response carries. */
function carried(res: FetchResponse): Map<number, number> {
  return new Map(
    res.responses.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.records?.length ?? 0] as const)),
  )
}

describe('Fetch', () => {
  let broker: Broker
  let client: RawClient

  before(async () => {
    broker = await startBroker()
    await broker.core.topics.create('f', 3, {})
    client = await RawClient.connect(broker.port)
    for (const p of [0, 1, 2]) await produce(client, 'f', p, ['a', 'b'])
  })
  after(async () => {
    await client.close()
    await broker.close()
  })

  test('a long poll is woken by an append, long before max_wait_ms', async () => {
    await broker.core.topics.create('wake', 1, {})
    const started = Date.now()
    const pending = client.send<FetchResponse>(
      ApiKey.Fetch,
      11,
      fetchRequest('wake', [[0, 0n]], { maxWaitMs: 10_000, minBytes: 1 }),
    )
    const producer = await RawClient.connect(broker.port)
    await new Promise((r) => setTimeout(r, 100))
    await produce(producer, 'wake', 0, ['hello'])
    const res = await pending
    const elapsed = Date.now() - started
    assert.ok(elapsed < 3000, `answered after ${elapsed} ms`)
    assert.ok((res.responses[0]?.partitions[0]?.records?.length ?? 0) > 0)
    await producer.close()
  })

  test('an empty long poll answers after max_wait_ms with no records', async () => {
    const started = Date.now()
    const res = await client.send<FetchResponse>(
      ApiKey.Fetch,
      11,
      fetchRequest('f', [[0, 2n]], { maxWaitMs: 200, minBytes: 1 }),
    )
    assert.ok(Date.now() - started >= 190)
    assert.equal(res.responses[0]?.partitions[0]?.records?.length ?? 0, 0)
    assert.equal(res.responses[0]?.partitions[0]?.highWatermark, 2n)
  })

  test('the first batch is returned whole even above the byte limits (KIP-74), later partitions only if they fit', async () => {
    const res = await client.send<FetchResponse>(
      ApiKey.Fetch,
      11,
      fetchRequest(
        'f',
        [
          [0, 0n],
          [1, 0n],
        ],
        { maxBytes: 10 },
      ),
    )
    const sizes = carried(res)
    assert.ok((sizes.get(0) ?? 0) > 10, 'first partition returns its whole batch')
    assert.equal(sizes.get(1), 0, 'the second partition does not fit')
  })

  test('OFFSET_OUT_OF_RANGE beyond the high watermark, UNKNOWN_TOPIC_OR_PARTITION for unknown partitions', async () => {
    // v12 is the first flexible version: librdkafka refuses a whole response with null records there.
    for (const version of [4, 11, 12]) {
      const res = await client.send<FetchResponse>(
        ApiKey.Fetch,
        version,
        fetchRequest('f', [
          [0, 99n],
          [7, 0n],
        ]),
      )
      const parts = res.responses[0]?.partitions.map((p) => [
        p.partitionIndex,
        p.errorCode,
        p.records?.length,
        [p.highWatermark, p.lastStableOffset, p.logStartOffset],
      ])
      // Offsets are -1 (unknown) on errors, as Kafka answers (test/differential compares them).
      assert.deepEqual(
        parts,
        [
          [0, ErrorCode.OFFSET_OUT_OF_RANGE, 0, [-1n, -1n, -1n]],
          [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0, [-1n, -1n, -1n]],
        ],
        `Fetch v${version}: errors with empty (not null) record sets`,
      )
      if (version >= 4) {
        assert.deepEqual(
          res.responses[0]?.partitions[1]?.abortedTransactions,
          [],
          'no aborted transactions on an error',
        )
      }
    }
  })

  test('v13+ names topics by id; an unknown id answers UNKNOWN_TOPIC_ID', async () => {
    const topicId = broker.core.topics.get('f')?.topicId as string
    const known = createFetchTopic({
      topicId,
      partitions: [createFetchPartition({ partition: 0, fetchOffset: 0n, partitionMaxBytes: MiB })],
    })
    const unknown = createFetchTopic({
      topicId: '0123456789abcdef0123456789abcdef'.replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5'),
      partitions: [createFetchPartition({ partition: 0, fetchOffset: 0n, partitionMaxBytes: MiB })],
    })
    const res = await client.send<FetchResponse>(
      ApiKey.Fetch,
      13,
      createFetchRequest({ maxBytes: MiB, sessionEpoch: -1, topics: [known, unknown] }),
    )
    assert.equal(res.responses[0]?.topicId, topicId)
    assert.ok((res.responses[0]?.partitions[0]?.records?.length ?? 0) > 0)
    assert.equal(res.responses[1]?.partitions[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_ID)
  })

  test('incremental fetch sessions (KIP-227): only partitions with news, epochs checked, sessions closed', async () => {
    const full = await client.send<FetchResponse>(
      ApiKey.Fetch,
      11,
      fetchRequest(
        'f',
        [
          [0, 2n],
          [1, 2n],
          [2, 2n],
        ],
        { sessionId: 0, sessionEpoch: 0 },
      ),
    )
    assert.ok(full.sessionId > 0)
    assert.equal(carried(full).size, 3, 'a full fetch answers every partition')
    const sessionId = full.sessionId
    const incremental = (epoch: number, fields: Partial<FetchRequest> = {}) =>
      client.send<FetchResponse>(
        ApiKey.Fetch,
        11,
        createFetchRequest({ maxBytes: MiB, sessionId, sessionEpoch: epoch, ...fields }),
      )
    const quiet = await incremental(1)
    assert.equal(quiet.errorCode, 0)
    assert.equal(carried(quiet).size, 0, 'nothing changed, nothing is sent')
    await produce(client, 'f', 1, ['c'])
    const news = await incremental(2)
    assert.deepEqual([...carried(news).keys()], [1])
    assert.equal(news.responses[0]?.partitions[0]?.highWatermark, 3n)
    assert.equal((await incremental(2)).errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH)
    const forget = await incremental(3, { forgottenTopicsData: [{ topic: 'f', topicId: '', partitions: [1] }] })
    assert.equal(forget.errorCode, 0)
    await produce(client, 'f', 1, ['d'])
    assert.equal(carried(await incremental(4)).size, 0, 'a forgotten partition is no longer fetched')
    const closed = await incremental(-1)
    assert.equal(closed.sessionId, 0)
    assert.equal((await incremental(5)).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  })

  test('v0-v3 clients get legacy message sets (down-conversion)', async () => {
    for (const [version, magic] of [
      [0, 0],
      [3, 1],
    ] as const) {
      const res = await client.send<FetchResponse>(ApiKey.Fetch, version, fetchRequest('f', [[0, 0n]]))
      const records = res.responses[0]?.partitions[0]?.records as Buffer
      assert.equal(records.readBigInt64BE(0), 0n, 'first message offset')
      assert.equal(records.readInt8(16), magic, 'magic byte')
    }
  })
})

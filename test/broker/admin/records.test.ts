import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Kafka } from 'kafkajs'
import { type Broker, startBroker } from '../../../src/broker/broker.ts'
import { ErrorCode } from '../../../src/protocol/error-codes.ts'
import {
  createDeleteRecordsRequest,
  type DeleteRecordsResponse,
} from '../../../src/protocol/generated/delete-records.ts'
import {
  createDescribeLogDirsRequest,
  type DescribeLogDirsResponse,
} from '../../../src/protocol/generated/describe-log-dirs.ts'
import { ApiKey } from '../../../src/protocol/generated/index.ts'
import {
  createOffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../../../src/protocol/generated/offset-for-leader-epoch.ts'
import { kafkajsClient } from '../../helpers/clients.ts'
import { RawClient } from '../../helpers/raw-client.ts'
import { kafkajsErrorTypes, pltAdmin, rejectedCodes, withPltConnection } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

describe('DeleteRecords, OffsetForLeaderEpoch, DescribeLogDirs', () => {
  let broker: Broker
  let kafka: Kafka
  let raw: RawClient
  before(async () => {
    broker = await startBroker({ port: 0 })
    kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } })
    raw = await RawClient.connect(broker.port)
  })
  after(async () => {
    await raw.close()
    await broker.close()
  })

  /** Creates a topic and writes `count` single-record batches to each partition. */
  async function topicWith(name: string, partitions: number, count: number, configs: Record<string, string> = {}) {
    await broker.core.topics.create(name, partitions, configs)
    const producer = kafka.producer()
    await producer.connect()
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < partitions; p++)
        await producer.send({ topic: name, messages: [{ partition: p, key: `k${i}`, value: `v${i}` }] })
    }
    await producer.disconnect()
  }

  test('kafkajs deleteTopicRecords moves the low watermark; -1 means the high watermark', async () => {
    await topicWith('kjs-records', 2, 5)
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.fetchTopicMetadata({ topics: ['kjs-records'] })
      await admin.deleteTopicRecords({
        topic: 'kjs-records',
        partitions: [
          { partition: 0, offset: '3' },
          { partition: 1, offset: '-1' },
        ],
      })
      const offsets = await admin.fetchTopicOffsets('kjs-records')
      assert.deepEqual(
        offsets.map((o) => [o.partition, o.low, o.high]),
        [
          [0, '3', '5'],
          [1, '5', '5'],
        ],
      )
      const beyond = await kafkajsErrorTypes(() =>
        admin.deleteTopicRecords({ topic: 'kjs-records', partitions: [{ partition: 0, offset: '6' }] }),
      )
      assert.ok(beyond.includes('OFFSET_OUT_OF_RANGE'), beyond.join())
    } finally {
      await admin.disconnect()
    }
  })

  test('@platformatic/kafka deleteRecords returns low watermarks and errors', async () => {
    await topicWith('plt-records', 1, 4)
    const { admin } = await pltAdmin(broker)
    try {
      const res = await admin.deleteRecords({
        topics: [{ name: 'plt-records', partitions: [{ partition: 0, offset: 2n }] }],
      })
      assert.deepEqual(res, [{ name: 'plt-records', partitions: [{ partition: 0, lowWatermark: 2n }] }])
      const again = await admin.deleteRecords({
        topics: [{ name: 'plt-records', partitions: [{ partition: 0, offset: 1n }] }],
      })
      assert.equal(again[0]?.partitions[0]?.lowWatermark, 2n, 'deleting below the log start changes nothing')
      // (An unknown partition crashes this client before it sends anything, so only the range is checked.)
      const beyond = await rejectedCodes(() =>
        admin.deleteRecords({ topics: [{ name: 'plt-records', partitions: [{ partition: 0, offset: 100n }] }] }),
      )
      assert.deepEqual(beyond, [ErrorCode.OFFSET_OUT_OF_RANGE])
    } finally {
      await admin.close()
    }
  })

  test('raw DeleteRecords v0 and v2: out of range, compacted topics, unknown topics', async () => {
    await topicWith('raw-records', 1, 3)
    await topicWith('raw-compacted', 1, 1, { 'cleanup.policy': 'compact' })
    const req = createDeleteRecordsRequest({
      topics: [
        { name: 'raw-records', partitions: [{ partitionIndex: 0, offset: 4n }] },
        { name: 'raw-compacted', partitions: [{ partitionIndex: 0, offset: 1n }] },
        { name: 'raw-nothing', partitions: [{ partitionIndex: 0, offset: 1n }] },
      ],
      timeoutMs: 1000,
    })
    for (const v of [0, 2]) {
      const res = await raw.send<DeleteRecordsResponse>(ApiKey.DeleteRecords, v, req)
      assert.deepEqual(
        res.topics.map((t) => [t.name, t.partitions[0]?.errorCode, t.partitions[0]?.lowWatermark]),
        [
          ['raw-records', ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
          ['raw-compacted', ErrorCode.POLICY_VIOLATION, -1n],
          ['raw-nothing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
        ],
      )
    }
    const ok = await raw.send<DeleteRecordsResponse>(
      ApiKey.DeleteRecords,
      2,
      createDeleteRecordsRequest({
        topics: [{ name: 'raw-records', partitions: [{ partitionIndex: 0, offset: 3n }] }],
      }),
    )
    assert.deepEqual(ok.topics[0]?.partitions[0], { partitionIndex: 0, lowWatermark: 3n, errorCode: ErrorCode.NONE })
  })

  test('OffsetForLeaderEpoch through @platformatic/kafka (v4) and raw v0-v4', async () => {
    await topicWith('epochs', 1, 7)
    const res = await withPltConnection(broker, (c, plt) =>
      plt.offsetForLeaderEpochV4.api.async(c, -1, [
        { name: 'epochs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] },
      ]),
    )
    assert.deepEqual(res.topics[0]?.partitions[0], { partition: 0, errorCode: 0, leaderEpoch: 0, endOffset: 7n })
    const ask = (partition: number, currentLeaderEpoch: number, leaderEpoch: number, topic = 'epochs') => ({
      topic,
      partitions: [{ partition, currentLeaderEpoch, leaderEpoch }],
    })
    const topics = [
      ask(0, -1, 0),
      ask(0, -1, 3),
      ask(0, -1, -1),
      ask(0, 1, 0),
      ask(0, -5, 0),
      ask(1, -1, 0),
      ask(0, -1, 0, 'ghost'),
    ]
    const expected = (v: number) => [
      [0, 0, 7n],
      [0, -1, -1n],
      [0, -1, -1n],
      v >= 2 ? [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n] : [0, 0, 7n],
      v >= 2 ? [ErrorCode.FENCED_LEADER_EPOCH, -1, -1n] : [0, 0, 7n],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
    ]
    for (const v of [0, 1, 2, 3, 4]) {
      const res = await raw.send<OffsetForLeaderEpochResponse>(
        ApiKey.OffsetForLeaderEpoch,
        v,
        createOffsetForLeaderEpochRequest({ replicaId: -1, topics }),
      )
      const got = res.topics.map((t) => {
        const p = t.partitions[0]
        // v0 has no leader epoch in the response: it decodes as the default, -1.
        return [
          p?.errorCode,
          v === 0 ? (p?.errorCode === 0 && p.endOffset >= 0n ? 0 : -1) : p?.leaderEpoch,
          p?.endOffset,
        ]
      })
      assert.deepEqual(got, expected(v), `v${v}`)
    }
  })

  test('DescribeLogDirs through @platformatic/kafka (v4) and raw v0 and v4', async () => {
    await topicWith('dirs', 2, 3)
    const { admin } = await pltAdmin(broker)
    try {
      const [desc] = await admin.describeLogDirs({ topics: [{ name: 'dirs', partitions: [0, 1, 9] }] })
      const dir = desc?.results[0]
      assert.equal(dir?.logDir, 'memory')
      assert.equal(dir?.totalBytes, -1n)
      const parts = dir?.topics.find((t) => t.name === 'dirs')?.partitions ?? []
      assert.deepEqual(
        parts.map((p) => p.partitionIndex),
        [0, 1],
      )
      for (const p of parts) {
        assert.equal(p.partitionSize, BigInt(await broker.core.storage.partitionSize('dirs', p.partitionIndex)))
        assert.ok(p.partitionSize > 0n)
      }
    } finally {
      await admin.close()
    }
    const all = await raw.send<DescribeLogDirsResponse>(
      ApiKey.DescribeLogDirs,
      0,
      createDescribeLogDirsRequest({ topics: null }),
    )
    const names = all.results[0]?.topics.map((t) => t.name) ?? []
    assert.ok(names.includes('dirs') && names.includes('epochs'), names.join())
    const none = await raw.send<DescribeLogDirsResponse>(
      ApiKey.DescribeLogDirs,
      4,
      createDescribeLogDirsRequest({ topics: [{ topic: 'ghost', partitions: [0] }] }),
    )
    assert.deepEqual(none.results[0]?.topics, [])
    assert.equal(none.errorCode, 0)
  })

  test('DescribeLogDirs on the local engine reports the directory and its file system', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-logdirs-'))
    const b = await startBroker({ port: 0, storage: 'local', dataDir: dir })
    const c = await RawClient.connect(b.port)
    try {
      await b.core.topics.create('local-dirs', 1, {})
      const res = await c.send<DescribeLogDirsResponse>(
        ApiKey.DescribeLogDirs,
        4,
        createDescribeLogDirsRequest({ topics: null }),
      )
      const r = res.results[0]
      assert.equal(r?.logDir, dir)
      assert.ok((r?.totalBytes ?? 0n) > 0n && (r?.usableBytes ?? 0n) > 0n)
      assert.ok((r?.usableBytes ?? 0n) <= (r?.totalBytes ?? 0n))
      assert.deepEqual(
        r?.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionSize)]),
        [['local-dirs', [0n]]],
      )
    } finally {
      await c.close()
      await b.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

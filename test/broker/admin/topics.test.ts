import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Admin as KafkajsAdmin } from 'kafkajs'
import { type Broker, startBroker } from '../../../src/broker/broker.ts'
import { ErrorCode } from '../../../src/protocol/error-codes.ts'
import type { CreatePartitionsResponse } from '../../../src/protocol/generated/create-partitions.ts'
import { createCreatePartitionsRequest } from '../../../src/protocol/generated/create-partitions.ts'
import {
  type CreateTopicsResponse,
  createCreatableTopic,
  createCreateTopicsRequest,
} from '../../../src/protocol/generated/create-topics.ts'
import { createDeleteTopicsRequest, type DeleteTopicsResponse } from '../../../src/protocol/generated/delete-topics.ts'
import { ApiKey } from '../../../src/protocol/generated/index.ts'
import {
  createMetadataRequest,
  createMetadataRequestTopic,
  type MetadataResponse,
} from '../../../src/protocol/generated/metadata.ts'
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
  type OffsetCommitResponse,
} from '../../../src/protocol/generated/offset-commit.ts'
import { ZERO_UUID } from '../../../src/protocol/wire/uuid.ts'
import { kafkajsClient } from '../../helpers/clients.ts'
import { RawClient } from '../../helpers/raw-client.ts'
import { kafkajsErrorTypes, pltAdmin, rejectedCodes } from './helpers.ts'

describe('DeleteTopics and CreatePartitions', () => {
  let broker: Broker
  let kjs: KafkajsAdmin
  let raw: RawClient
  before(async () => {
    broker = await startBroker({ port: 0 })
    kjs = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } }).admin()
    await kjs.connect()
    raw = await RawClient.connect(broker.port)
  })
  after(async () => {
    await raw.close()
    await kjs.disconnect()
    await broker.close()
  })

  const create = (name: string, partitions = 1) => broker.core.topics.create(name, partitions, {})

  test('kafkajs deletes a topic; deleting it again is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    await create('kjs-del')
    await kjs.deleteTopics({ topics: ['kjs-del'] })
    assert.equal(broker.core.topics.get('kjs-del'), undefined)
    assert.ok(!(await kjs.listTopics()).includes('kjs-del'))
    const types = await kafkajsErrorTypes(() => kjs.deleteTopics({ topics: ['kjs-del'] }))
    assert.ok(types.includes('UNKNOWN_TOPIC_OR_PARTITION'), types.join())
  })

  test('@platformatic/kafka deletes topics (v6 by name) and reports unknown ones', async () => {
    const { admin } = await pltAdmin(broker)
    try {
      await create('plt-del-1')
      await create('plt-del-2', 3)
      await admin.deleteTopics({ topics: ['plt-del-1', 'plt-del-2'] })
      assert.equal(broker.core.topics.get('plt-del-1'), undefined)
      assert.equal(broker.core.topics.get('plt-del-2'), undefined)
      const codes = await rejectedCodes(() => admin.deleteTopics({ topics: ['plt-never'] }))
      assert.deepEqual(codes, [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    } finally {
      await admin.close()
    }
  })

  test('raw v0: names, duplicates', async () => {
    await create('raw-v0')
    const res = await raw.send<DeleteTopicsResponse>(
      ApiKey.DeleteTopics,
      0,
      createDeleteTopicsRequest({ topicNames: ['raw-v0', 'raw-missing', 'dup', 'dup'], timeoutMs: 1000 }),
    )
    assert.deepEqual(
      res.responses.map((r) => [r.name, r.errorCode]),
      [
        ['raw-v0', ErrorCode.NONE],
        ['raw-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['dup', ErrorCode.INVALID_REQUEST],
      ],
    )
    assert.equal(res.responses[0]?.errorMessage, null, 'v0 has no error messages')
  })

  test('raw v6: by id, unknown id, both, neither', async () => {
    const t = await create('raw-v6')
    assert.ok(t)
    const unknownId = '0a1b2c3d-0000-4000-8000-000000000001'
    const res = await raw.send<DeleteTopicsResponse>(
      ApiKey.DeleteTopics,
      6,
      createDeleteTopicsRequest({
        topics: [
          { name: null, topicId: t.topicId },
          { name: null, topicId: unknownId },
          { name: 'x', topicId: unknownId.replace('1', '2') },
          { name: null, topicId: ZERO_UUID },
        ],
        timeoutMs: 1000,
      }),
    )
    assert.deepEqual(
      res.responses.map((r) => [r.name, r.topicId, r.errorCode, r.errorMessage]),
      [
        ['raw-v6', t.topicId, ErrorCode.NONE, null],
        [null, unknownId, ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.'],
        [
          'x',
          unknownId.replace('1', '2'),
          ErrorCode.INVALID_REQUEST,
          'You may not specify both topic name and topic id.',
        ],
        [null, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.'],
      ],
    )
    assert.equal(broker.core.topics.getById(t.topicId), undefined)
  })

  test('delete.topic.enable=false: TOPIC_DELETION_DISABLED (v3+), INVALID_REQUEST before', async () => {
    const b = await startBroker({ port: 0, config: { 'delete.topic.enable': 'false' } })
    const c = await RawClient.connect(b.port)
    try {
      await b.core.topics.create('kept', 1, {})
      const v5 = await c.send<DeleteTopicsResponse>(
        ApiKey.DeleteTopics,
        5,
        createDeleteTopicsRequest({ topicNames: ['kept'] }),
      )
      assert.equal(v5.responses[0]?.errorCode, ErrorCode.TOPIC_DELETION_DISABLED)
      const v2 = await c.send<DeleteTopicsResponse>(
        ApiKey.DeleteTopics,
        2,
        createDeleteTopicsRequest({ topicNames: ['kept'] }),
      )
      assert.equal(v2.responses[0]?.errorCode, ErrorCode.INVALID_REQUEST)
      assert.ok(b.core.topics.get('kept'))
    } finally {
      await c.close()
      await b.close()
    }
  })

  test('kafkajs creates partitions; not an increase is INVALID_PARTITIONS', async () => {
    await create('kjs-grow', 2)
    await kjs.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 5 }] })
    assert.equal(broker.core.topics.get('kjs-grow')?.partitionCount, 5)
    const md = await kjs.fetchTopicMetadata({ topics: ['kjs-grow'] })
    assert.equal(md.topics[0]?.partitions.length, 5)
    const same = await kafkajsErrorTypes(() =>
      kjs.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 5 }] }),
    )
    assert.ok(same.includes('INVALID_PARTITIONS'), same.join())
    const fewer = await kafkajsErrorTypes(() =>
      kjs.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 3 }] }),
    )
    assert.ok(fewer.includes('INVALID_PARTITIONS'), fewer.join())
    assert.equal(broker.core.topics.get('kjs-grow')?.partitionCount, 5)
  })

  test('@platformatic/kafka creates partitions, with assignments and validate_only', async () => {
    const { admin } = await pltAdmin(broker)
    try {
      await create('plt-grow', 1)
      await admin.createPartitions({ topics: [{ name: 'plt-grow', count: 3 }], validateOnly: true })
      assert.equal(broker.core.topics.get('plt-grow')?.partitionCount, 1)
      await admin.createPartitions({
        topics: [{ name: 'plt-grow', count: 3, assignments: [{ brokerIds: [1] }, { brokerIds: [1] }] }],
      })
      assert.equal(broker.core.topics.get('plt-grow')?.partitionCount, 3)
      const bad = await rejectedCodes(() =>
        admin.createPartitions({ topics: [{ name: 'plt-grow', count: 4, assignments: [{ brokerIds: [7] }] }] }),
      )
      assert.deepEqual(bad, [ErrorCode.INVALID_REPLICA_ASSIGNMENT])
      const missing = await rejectedCodes(() => admin.createPartitions({ topics: [{ name: 'plt-none', count: 4 }] }))
      assert.deepEqual(missing, [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    } finally {
      await admin.close()
    }
  })

  test('raw v0 and v3: messages and assignment checks', async () => {
    await create('raw-grow', 2)
    const req = (topics: { name: string; count: number; assignments: { brokerIds: number[] }[] | null }[]) =>
      createCreatePartitionsRequest({ topics, timeoutMs: 1000 })
    const v0 = await raw.send<CreatePartitionsResponse>(
      ApiKey.CreatePartitions,
      0,
      req([
        { name: 'raw-grow', count: 2, assignments: null },
        { name: 'raw-grow-missing', count: 2, assignments: null },
      ]),
    )
    assert.deepEqual(
      v0.results.map((r) => [r.name, r.errorCode, r.errorMessage]),
      [
        ['raw-grow', ErrorCode.INVALID_PARTITIONS, 'Topic already has 2 partition(s).'],
        ['raw-grow-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.'],
      ],
    )
    const v3 = await raw.send<CreatePartitionsResponse>(
      ApiKey.CreatePartitions,
      3,
      req([{ name: 'raw-grow', count: 4, assignments: [{ brokerIds: [1] }] }]),
    )
    assert.equal(v3.results[0]?.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT)
    assert.equal(
      v3.results[0]?.errorMessage,
      'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.',
    )
    const twice = await raw.send<CreatePartitionsResponse>(
      ApiKey.CreatePartitions,
      3,
      req([{ name: 'raw-grow', count: 3, assignments: [{ brokerIds: [1, 1] }] }]),
    )
    assert.equal(
      twice.results[0]?.errorMessage,
      'The manual partition assignment includes the broker 1 more than once.',
    )
    const dup = await raw.send<CreatePartitionsResponse>(
      ApiKey.CreatePartitions,
      3,
      req([
        { name: 'raw-grow', count: 3, assignments: null },
        { name: 'raw-grow', count: 4, assignments: null },
      ]),
    )
    assert.deepEqual(
      dup.results.map((r) => [r.errorCode, r.errorMessage]),
      [[ErrorCode.INVALID_REQUEST, 'Duplicate topic name.']],
    )
    const fewer = await raw.send<CreatePartitionsResponse>(
      ApiKey.CreatePartitions,
      3,
      req([{ name: 'raw-grow', count: 1, assignments: null }]),
    )
    assert.equal(
      fewer.results[0]?.errorMessage,
      'The topic raw-grow currently has 2 partition(s); 1 would not be an increase.',
    )
    const ok = await raw.send<CreatePartitionsResponse>(
      ApiKey.CreatePartitions,
      3,
      req([{ name: 'raw-grow', count: 3, assignments: null }]),
    )
    assert.deepEqual(
      ok.results.map((r) => [r.errorCode, r.errorMessage]),
      [[ErrorCode.NONE, null]],
    )
    assert.equal(broker.core.topics.get('raw-grow')?.partitionCount, 3)
  })
})

describe('DeleteTopics and consumer groups', () => {
  test('deleting a topic removes the committed offsets of every group for it', async () => {
    const broker = await startBroker()
    try {
      const kafka = kafkajsClient(broker.bootstrap)
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({
        topics: [
          { topic: 'gone', numPartitions: 2 },
          { topic: 'stays', numPartitions: 1 },
        ],
      })
      const raw = await RawClient.connect(broker.port)
      const commit = await raw.send<OffsetCommitResponse>(
        ApiKey.OffsetCommit,
        8,
        createOffsetCommitRequest({
          groupId: 'g',
          topics: ['gone', 'stays'].map((name) =>
            createOffsetCommitRequestTopic({
              name,
              partitions: [createOffsetCommitRequestPartition({ committedOffset: 1n })],
            }),
          ),
        }),
      )
      assert.deepEqual(
        commit.topics.map((t) => t.partitions[0]?.errorCode),
        [0, 0],
      )
      await raw.close()
      await admin.deleteTopics({ topics: ['gone'] })
      const offsets = await admin.fetchOffsets({ groupId: 'g' })
      assert.deepEqual(
        offsets.map((t) => t.topic),
        ['stays'],
      )
      await admin.disconnect()
    } finally {
      await broker.close()
    }
  })
})

describe('partition limit', () => {
  test('CreateTopics and CreatePartitions above samsa.topic.max.partitions answer INVALID_PARTITIONS', async () => {
    const broker = await startBroker({ config: { 'samsa.topic.max.partitions': '50' } })
    const raw = await RawClient.connect(broker.port)
    try {
      const created = await raw.send<CreateTopicsResponse>(
        ApiKey.CreateTopics,
        7,
        createCreateTopicsRequest({
          topics: [
            createCreatableTopic({ name: 'huge', numPartitions: 51, replicationFactor: 1 }),
            createCreatableTopic({ name: 'fine', numPartitions: 50, replicationFactor: 1 }),
          ],
        }),
      )
      assert.deepEqual(
        created.topics.map((t) => [t.name, t.errorCode]),
        [
          ['huge', ErrorCode.INVALID_PARTITIONS],
          ['fine', ErrorCode.NONE],
        ],
      )
      assert.match(created.topics[0]?.errorMessage ?? '', /above the limit of 50/)
      const grown = await raw.send<CreatePartitionsResponse>(
        ApiKey.CreatePartitions,
        3,
        createCreatePartitionsRequest({ topics: [{ name: 'fine', count: 51, assignments: null }] }),
      )
      assert.equal(grown.results[0]?.errorCode, ErrorCode.INVALID_PARTITIONS)
    } finally {
      await raw.close()
      await broker.close()
    }
  })
})

describe('topic name collisions', () => {
  test("names that differ only by '.' and '_' collide, in CreateTopics and in auto-creation", async () => {
    const broker = await startBroker()
    const raw = await RawClient.connect(broker.port)
    try {
      const create = (name: string) =>
        raw.send<CreateTopicsResponse>(
          ApiKey.CreateTopics,
          7,
          createCreateTopicsRequest({
            topics: [createCreatableTopic({ name, numPartitions: 1, replicationFactor: 1 })],
          }),
        )
      assert.equal((await create('orders.eu')).topics[0]?.errorCode, ErrorCode.NONE)
      const clash = (await create('orders_eu')).topics[0]
      assert.equal(clash?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
      assert.equal(clash?.errorMessage, "Topic 'orders_eu' collides with existing topic: orders.eu")
      const md = await raw.send<MetadataResponse>(
        ApiKey.Metadata,
        12,
        createMetadataRequest({
          topics: [createMetadataRequestTopic({ name: 'orders_eu' })],
          allowAutoTopicCreation: true,
        }),
      )
      assert.equal(md.topics[0]?.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION)
      assert.equal(broker.core.topics.get('orders_eu'), undefined)
    } finally {
      await raw.close()
      await broker.close()
    }
  })
})

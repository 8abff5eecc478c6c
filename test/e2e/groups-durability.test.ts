/**
 * Committed offsets and group records survive a clean restart and a kill -9 of the broker on
 * the local storage engine.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import type { OffsetCommitResponse } from '../../src/protocol/generated/offset-commit.ts'
import { createOffsetFetchRequest, type OffsetFetchResponse } from '../../src/protocol/generated/offset-fetch.ts'
import { spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

test('committed offsets and the group survive a restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-groups-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const config = { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '500' }
  let broker = await startBroker({ storage: 'local', dataDir, config })
  let kafka = kafkajsClient(broker.bootstrap)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 3 }] })
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({
    topic: 'durable',
    messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  })
  await producer.disconnect()
  const consumer = kafka.consumer({
    groupId: 'durable-group',
    sessionTimeout: 3000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  await consumer.subscribe({ topic: 'durable', fromBeginning: true })
  let count = 0
  await consumer.run({ eachMessage: async () => void count++ })
  while (count < 30) await new Promise((r) => setTimeout(r, 50))
  await consumer.disconnect()
  const before = await admin.fetchOffsets({ groupId: 'durable-group', topics: ['durable'] })
  await admin.disconnect()
  await broker.close()

  broker = await startBroker({ storage: 'local', dataDir, config })
  kafka = kafkajsClient(broker.bootstrap)
  const admin2 = kafka.admin()
  await admin2.connect()
  assert.deepEqual(await admin2.fetchOffsets({ groupId: 'durable-group', topics: ['durable'] }), before)
  const total = before[0]?.partitions.reduce((s, p) => s + Number(p.offset), 0)
  assert.equal(total, 30)
  const described = await admin2.describeGroups(['durable-group'])
  assert.equal(described.groups[0]?.state, 'Empty')
  assert.equal(described.groups[0]?.protocolType, 'consumer')
  const listed = await admin2.listGroups()
  assert.deepEqual(listed.groups, [{ groupId: 'durable-group', protocolType: 'consumer' }])
  await admin2.disconnect()
  await broker.close()
})

test('committed offsets survive kill -9', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-groups-kill-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  let proc = await spawnBroker(dataDir)
  t.after(() => proc.stop('SIGKILL'))
  const port = (b: string): number => Number(b.slice(b.lastIndexOf(':') + 1))
  const admin = kafkajsClient(proc.bootstrap).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'killed', numPartitions: 2 }] })
  await admin.disconnect()
  let raw = await RawClient.connect(port(proc.bootstrap))
  const commit = await raw.send<OffsetCommitResponse>(ApiKey.OffsetCommit, 8, {
    groupId: 'kill-group',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [
      {
        name: 'killed',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 42n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: 'm0',
          },
          {
            partitionIndex: 1,
            committedOffset: 9n,
            committedLeaderEpoch: 3,
            commitTimestamp: -1n,
            committedMetadata: null,
          },
        ],
      },
    ],
  })
  assert.deepEqual(
    commit.topics[0]?.partitions.map((p) => p.errorCode),
    [0, 0],
  )
  await raw.close()
  await proc.stop('SIGKILL')

  proc = await spawnBroker(dataDir)
  raw = await RawClient.connect(port(proc.bootstrap))
  const fetched = await raw.send<OffsetFetchResponse>(
    ApiKey.OffsetFetch,
    8,
    createOffsetFetchRequest({
      requireStable: true,
      groups: [{ groupId: 'kill-group', memberId: null, memberEpoch: -1, topics: null }],
    }),
  )
  const partitions = fetched.groups[0]?.topics[0]?.partitions.map((p) => [
    p.partitionIndex,
    p.committedOffset,
    p.committedLeaderEpoch,
    p.metadata,
  ])
  assert.deepEqual(partitions, [
    [0, 42n, -1, 'm0'],
    [1, 9n, 3, ''],
  ])
  await raw.close()
})

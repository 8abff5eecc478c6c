/**
 * @platformatic/kafka's admin client on consumer groups (listGroups, describeGroups,
 * listConsumerGroupOffsets, alterConsumerGroupOffsets, deleteConsumerGroupOffsets,
 * removeMembersFromConsumerGroup, deleteGroups), and the APIs it encodes but sends from no client
 * method (DescribeProducers, ListTransactions, DescribeTransactions), sent over a bare
 * connection. Each is checked against what the producers and consumers really did.
 * Its other admin calls are tested next to their APIs in test/broker/admin.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Admin, Consumer } from '@platformatic/kafka'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { pltAdmin, rejectedCodes, withPltConnection } from '../broker/admin/helpers.ts'
import { type Platformatic, platformaticMemberOptions } from '../helpers/clients.ts'

let broker: TestBroker
let pk: Platformatic
let admin: Admin

before(async () => {
  broker = await startBroker({
    config: {
      'group.min.session.timeout.ms': '500',
      'group.consumer.heartbeat.interval.ms': '200',
    },
  })
  ;({ plt: pk, admin } = await pltAdmin(broker))
})
after(async () => {
  await admin.close()
  await broker.close()
})

async function consumer(
  groupId: string,
  topic: string,
  extra: Record<string, unknown> = {},
): Promise<Consumer<string, string, string, string>> {
  const c = new pk.Consumer(
    platformaticMemberOptions(pk, { clientId: 'plt-admin-member', bootstrap: broker.bootstrap, groupId }, extra),
  ) as Consumer<string, string, string, string>
  const stream = await c.consume({ topics: [topic], mode: 'earliest', autocommit: true })
  // Reading the stream is what marks the records consumed, and so committed.
  stream.resume()
  return c
}

/** The group's committed offsets as listConsumerGroupOffsets reports them, by partition. */
async function committed(groupId: string, topic: string): Promise<[number, bigint][]> {
  const [group] = await admin.listConsumerGroupOffsets({
    groups: [{ groupId, topics: [{ name: topic, partitionIndexes: [0, 1] }] }],
  })
  const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? []
  return partitions.map((p): [number, bigint] => [p.partitionIndex, p.committedOffset]).sort((a, b) => a[0] - b[0])
}

test('group admin calls follow a classic group from its first commit to its deletion', async () => {
  const topic = uniqueName('plt-admin')
  const groupId = uniqueName('plt-admin-group')
  await broker.createTopic({
    name: topic,
    partitions: 2,
    records: ['a', 'b', 'c'].map((value, i) => ({ value, partition: i % 2 })),
  })
  const member = await consumer(groupId, topic)
  try {
    await broker.waitForCommittedOffset(groupId, topic, 0, 2)
    await broker.waitForCommittedOffset(groupId, topic, 1, 1)

    const listed = (await admin.listGroups()).get(groupId)
    assert.deepEqual(listed, { id: groupId, state: 'STABLE', groupType: 'classic', protocolType: 'consumer' })
    const described = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
    assert.equal(described?.state, 'STABLE')
    const [memberId, info] = [...(described?.members ?? [])][0] ?? []
    assert.equal(memberId, member.memberId)
    assert.equal(info?.clientId, 'plt-admin-member')
    assert.deepEqual(info?.assignments?.get(topic)?.partitions, [0, 1])
    assert.deepEqual(await committed(groupId, topic), [
      [0, 2n],
      [1, 1n],
    ])

    // platformatic's v1 subscription lacks its owned partitions, so (as in Kafka) the broker cannot
    // read the group's topics and counts every topic as subscribed.
    assert.deepEqual(
      await rejectedCodes(() =>
        admin.deleteConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [1] }] }),
      ),
      [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      'offsets of a topic the group consumes stay',
    )

    // The removed member learns it on its next heartbeat and joins again under a new id.
    await admin.removeMembersFromConsumerGroup({ groupId })
    await broker.waitFor(() => broker.group(groupId)?.members.every((m) => m.memberId !== memberId), {
      message: `member ${memberId} removed`,
    })
    await broker.waitForGroup(groupId, { state: 'Stable', members: 1 })
  } finally {
    await member.close(true)
  }
  await broker.waitForGroup(groupId, { state: 'Empty' })

  await admin.alterConsumerGroupOffsets({
    groupId,
    topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 0n }] }],
  })
  assert.deepEqual(await committed(groupId, topic), [
    [0, 0n],
    [1, 1n],
  ])
  assert.deepEqual(
    await admin.deleteConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [1] }] }),
    [{ name: topic, partitionIndexes: [1] }],
  )
  assert.deepEqual(await committed(groupId, topic), [
    [0, 0n],
    [1, -1n],
  ])

  await admin.deleteGroups({ groups: [groupId] })
  assert.equal((await admin.listGroups()).has(groupId), false)
  assert.deepEqual(await committed(groupId, topic), [
    [0, -1n],
    [1, -1n],
  ])
})

// ConsumerGroupDescribe is left out: platformatic's v0 decoder reads SubscribedTopicNames as one
// string instead of an array (OUT_OF_BOUNDS), so no client in reach decodes the response.
test('listGroups filtered by type lists a KIP-848 group', async () => {
  const topic = uniqueName('plt-848-list')
  const groupId = uniqueName('plt-848-list-group')
  await broker.createTopic({ name: topic, partitions: 2 })
  const member = await consumer(groupId, topic, { groupProtocol: 'consumer', groupRemoteAssignor: 'uniform' })
  try {
    await broker.waitForGroup(groupId, { state: 'Stable', members: 1 })
    const consumerGroups = await admin.listGroups({ types: ['consumer'] })
    assert.deepEqual(consumerGroups.get(groupId), {
      id: groupId,
      state: 'STABLE',
      groupType: 'consumer',
      protocolType: 'consumer',
    })
    assert.equal((await admin.listGroups()).has(groupId), false, 'the default lists classic groups only')
  } finally {
    await member.close(true)
  }
})

test('DescribeProducers shows an idempotent producer’s id, epoch and last sequence', async () => {
  const topic = uniqueName('plt-producers')
  await broker.createTopic({ name: topic, partitions: 1 })
  const producer = new pk.Producer({
    clientId: 'plt-idempotent',
    bootstrapBrokers: [broker.bootstrap],
    idempotent: true,
    serializers: pk.stringSerializers,
  })
  try {
    for (let i = 0; i < 3; i++) {
      await producer.send({ messages: [0, 1].map((j) => ({ topic, partition: 0, value: `v${i}${j}` })) })
    }
    const res = await withPltConnection(broker, (c, plt) =>
      plt.describeProducersV0.api.async(c, [{ name: topic, partitionIndexes: [0] }]),
    )
    const partition = res.topics[0]?.partitions[0]
    assert.equal(partition?.errorCode, 0)
    assert.deepEqual(
      partition?.activeProducers.map((p) => [p.producerId, p.producerEpoch, p.lastSequence, p.currentTxnStartOffset]),
      [[producer.producerId, producer.producerEpoch, 5, -1n]],
    )
  } finally {
    await producer.close()
  }
})

test('ListTransactions and DescribeTransactions show an ongoing transaction, then its commit', async () => {
  const topic = uniqueName('plt-txn-describe')
  const transactionalId = uniqueName('plt-txn-describe')
  await broker.createTopic({ name: topic, partitions: 3 })
  const producer = new pk.Producer({
    clientId: 'plt-transactional',
    bootstrapBrokers: [broker.bootstrap],
    idempotent: true,
    transactionalId,
    serializers: pk.stringSerializers,
  })
  const describe = () =>
    withPltConnection(
      broker,
      async (c, plt) => (await plt.describeTransactionsV0.api.async(c, [transactionalId])).transactionStates[0],
    )
  // Kafka's state names; platformatic's types only offer upper-case spellings, which Kafka does not know.
  const listOngoing = () =>
    withPltConnection(broker, async (c, plt) => {
      const res = await plt.listTransactionsV1.api.async(c, ['Ongoing' as 'ONGOING'], [], -1n, null)
      return res.transactionStates.filter((t) => t.transactionalId === transactionalId)
    })
  try {
    const txn = await producer.beginTransaction()
    await txn.send({ messages: [0, 2].map((partition) => ({ topic, partition, value: `p${partition}` })) })

    assert.deepEqual(await listOngoing(), [
      { transactionalId, producerId: producer.producerId, transactionState: 'Ongoing' },
    ])
    const ongoing = await describe()
    assert.equal(ongoing?.errorCode, 0)
    assert.equal(ongoing?.transactionState, 'Ongoing')
    assert.equal(ongoing?.producerId, producer.producerId)
    assert.equal(ongoing?.producerEpoch, producer.producerEpoch)
    assert.deepEqual(ongoing?.topics, [{ topic, partitions: [0, 2] }])
    assert.ok((ongoing?.transactionStartTimeMs ?? 0n) > 0n)

    await txn.commit()
    const done = await describe()
    assert.equal(done?.transactionState, 'CompleteCommit')
    assert.deepEqual(done?.topics, [])
    assert.deepEqual(await listOngoing(), [])
  } finally {
    await producer.close()
  }
})

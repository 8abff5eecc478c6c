/**
 * kafkajs's admin client on consumer groups: listGroups, describeGroups (members and their
 * assignment), fetchOffsets, setOffsets and deleteGroups, each checked against what the group really did.
 * The other kafkajs admin calls are tested next to their APIs in test/broker/admin.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { AssignerProtocol, type Kafka } from 'kafkajs'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { kafkajsErrorTypes } from '../broker/admin/helpers.ts'
import { kafkajsClient } from '../helpers/clients.ts'

let broker: TestBroker
let kafka: Kafka

before(async () => {
  broker = await startBroker({ config: { 'group.min.session.timeout.ms': '500' } })
  kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } })
})
after(() => broker.close())

test('listGroups, describeGroups, fetchOffsets, setOffsets and deleteGroups follow a group through its life', async () => {
  const topic = uniqueName('kjs-admin')
  const groupId = uniqueName('kjs-admin-group')
  await broker.createTopic({
    name: topic,
    partitions: 2,
    records: ['a', 'b', 'c'].map((value, i) => ({ value, partition: i % 2 })),
  })
  const consumer = kafka.consumer({ groupId, sessionTimeout: 3000, heartbeatInterval: 200, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ autoCommitInterval: 100, eachMessage: async () => {} })
  await broker.waitForCommittedOffset(groupId, topic, 0, 2)
  await broker.waitForCommittedOffset(groupId, topic, 1, 1)

  const admin = kafka.admin()
  await admin.connect()
  try {
    const { groups } = await admin.listGroups()
    assert.deepEqual(
      groups.filter((g) => g.groupId === groupId),
      [{ groupId, protocolType: 'consumer' }],
    )

    const described = (await admin.describeGroups([groupId])).groups[0]
    assert.equal(described?.state, 'Stable')
    assert.equal(described?.protocolType, 'consumer')
    assert.equal(described?.members.length, 1)
    const member = described?.members[0]
    assert.equal(member?.memberId, broker.group(groupId)?.members[0]?.memberId)
    assert.equal(member?.clientId, 'samsa-test')
    const assignment = AssignerProtocol.MemberAssignment.decode(member?.memberAssignment as Buffer)
    assert.deepEqual(assignment?.assignment, { [topic]: [0, 1] })

    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.deepEqual(offsets[0]?.partitions.map((p) => [p.partition, p.offset]).sort(), [
      [0, '2'],
      [1, '1'],
    ])

    assert.deepEqual(await kafkajsErrorTypes(() => admin.deleteGroups([groupId])), ['NON_EMPTY_GROUP'])
    await consumer.disconnect()
    await broker.waitForGroup(groupId, { state: 'Empty' })
    // setOffsets joins the empty group, seeks and commits the positions it was given.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] })
    assert.deepEqual(
      (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions
        .map((p) => [p.partition, p.offset])
        .sort(),
      [
        [0, '1'],
        [1, '1'],
      ],
    )
    await broker.waitForGroup(groupId, { state: 'Empty' })
    assert.deepEqual(await admin.deleteGroups([groupId]), [{ groupId, errorCode: 0 }])
    assert.equal(broker.group(groupId), undefined)
    assert.equal((await admin.listGroups()).groups.filter((g) => g.groupId === groupId).length, 0)
    const afterDelete = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.deepEqual(
      afterDelete[0]?.partitions.map((p) => p.offset),
      ['-1', '-1'],
      'the committed offsets went with the group',
    )
  } finally {
    await consumer.disconnect()
    await admin.disconnect()
  }
})

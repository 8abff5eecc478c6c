/**
 * `samsa groups ...` as real processes: listing, lag, deletion, and reset-offsets (dry run by
 * default, refused on an active group, applied with --execute and verified by a kafkajs consumer
 * resuming from the new position).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Kafka } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Consumer } from '../../src/client/consumer.ts'
import { commitOffsets, fetchCommitted } from '../../src/client/offsets.ts'
import { Producer } from '../../src/client/producer.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { cli, hasJq, samsaIntoJq } from './helpers.ts'

let broker: Broker
let admin: Admin
let kafka: Kafka
let samsa: ReturnType<typeof cli>

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } })
  admin = new Admin({ bootstrap: broker.bootstrap })
  kafka = kafkajsClient(broker.bootstrap)
  samsa = cli(broker.bootstrap)
})
after(async () => {
  await admin.close()
  await broker.close()
})

async function fill(topic: string, partitions: number, perPartition: number): Promise<void> {
  await admin.createTopics([{ name: topic, partitions }])
  const producer = new Producer(admin.cluster)
  const records = []
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i++) records.push({ topic, partition: p, value: `${p}-${i}` })
  }
  await producer.sendMany(records)
}

/** Offsets a kafkajs consumer of the group reads first, per partition. */
async function kafkajsResume(groupId: string, topic: string, partitions: number): Promise<Map<number, number>> {
  const consumer = kafka.consumer({ groupId })
  await consumer.connect()
  await consumer.subscribe({ topic })
  const first = new Map<number, number>()
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (!first.has(partition)) first.set(partition, Number(message.offset))
          if (first.size === partitions) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return first
}

describe('samsa cli', { concurrency: true }, () => {
  test('groups list and describe show members, assignment and lag', async () => {
    await fill('lagging', 2, 5)
    await commitOffsets(admin.cluster, 'idle-group', [
      { topic: 'lagging', partition: 0, offset: 2n },
      { topic: 'lagging', partition: 1, offset: 5n },
    ])
    const member = new Consumer(new Cluster({ bootstrap: broker.bootstrap }), {
      groupId: 'live-group',
      autoOffsetReset: 'earliest',
      maxWaitMs: 50,
    })
    member.subscribe(['lagging'])
    await member.poll()
    try {
      const list = await samsa(['groups', 'list', '--json'])
      assert.equal(list.code, 0, list.stderr)
      const groups = JSON.parse(list.stdout) as { groupId: string; state: string }[]
      assert.deepEqual(
        groups.filter((g) => g.groupId.endsWith('-group')).map((g) => [g.groupId, g.state]),
        [
          ['idle-group', 'Empty'],
          ['live-group', 'Stable'],
        ],
      )
      const table = await samsa(['groups', 'list'])
      assert.match(table.stdout, /GROUP\s+STATE\s+TYPE\s+PROTOCOL TYPE\n/)

      const idle = await samsa(['groups', 'describe', 'idle-group', '--json'])
      const d = JSON.parse(idle.stdout) as {
        state: string
        totalLag: number
        offsets: { partition: number; committed: number; logEnd: number; lag: number }[]
      }
      assert.equal(d?.state, 'Empty')
      assert.equal(d?.totalLag, 3)
      assert.deepEqual(
        d?.offsets.map((o) => [o.partition, o.committed, o.logEnd, o.lag]),
        [
          [0, 2, 5, 3],
          [1, 5, 5, 0],
        ],
      )
      const live = await samsa(['groups', 'describe', 'live-group'])
      assert.equal(live.code, 0, live.stderr)
      assert.match(live.stdout, /Group: live-group\s+State: Stable\s+Protocol: cooperative-sticky\s+Members: 1/)
      assert.match(live.stdout, /MEMBER\s+CLIENT\s+HOST\s+ASSIGNMENT\n\S+\s+samsa\s+\S+\s+lagging:0,1\n/)
      const missing = await samsa(['groups', 'describe', 'no-such-group'])
      assert.equal(missing.code, 1)
      assert.equal(missing.stderr, 'samsa: error: GROUP_ID_NOT_FOUND (no-such-group): group does not exist\n')
    } finally {
      await member.close()
    }
  })

  test("the help's --json examples work as written: one object per group, jq .totalLag", {
    skip: hasJq ? false : 'jq is not installed',
  }, async () => {
    await fill('billed', 2, 4)
    await commitOffsets(admin.cluster, 'billing', [{ topic: 'billed', partition: 0, offset: 1n }])
    await commitOffsets(admin.cluster, 'billing-2', [{ topic: 'billed', partition: 1, offset: 4n }])
    const help = await samsa(['groups', 'describe', '--help'])
    assert.match(help.stdout, /samsa groups describe billing --json \| jq \.totalLag/)
    const one = await samsaIntoJq(['groups', 'describe', 'billing', '--json'], broker.bootstrap, ['.totalLag'])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(one.stdout, '3\n')
    const two = await samsaIntoJq(['groups', 'describe', 'billing', 'billing-2', '--json'], broker.bootstrap, [
      '-c',
      '[.groupId, .totalLag, (.offsets | map(.lag))]',
    ])
    assert.equal(two.stdout, '["billing",3,[3]]\n["billing-2",0,[0]]\n')
    const listed = await samsaIntoJq(['groups', 'list', '--json'], broker.bootstrap, [
      '-r',
      '.[] | select(.groupId | startswith("billing")) | .state',
    ])
    assert.equal(listed.stdout, 'Empty\nEmpty\n')
    const topics = await samsaIntoJq(['topics', 'list', '--json'], broker.bootstrap, ['-r', '.[].name'])
    assert.match(topics.stdout, /^billed$/m)
    const cluster = await samsaIntoJq(['cluster', 'info', '--json'], broker.bootstrap, ['-r', '.clusterId'])
    assert.equal(cluster.stdout, `${broker.core.clusterId}\n`)
  })

  test('reset-offsets: dry run by default, then --execute, verified by a kafkajs consumer', async () => {
    await fill('replay', 3, 10)
    const group = 'replayers'
    await commitOffsets(
      admin.cluster,
      group,
      [0, 1, 2].map((partition) => ({ topic: 'replay', partition, offset: 8n })),
    )
    const dry = await samsa(['groups', 'reset-offsets', group, '--topic', 'replay', '--to-earliest'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /TOPIC\s+PARTITION\s+CURRENT\s+NEW\nreplay\s+0\s+8\s+0\n/)
    assert.match(dry.stderr, /dry run/)
    let committed = await fetchCommitted(admin.cluster, group, null)
    assert.ok(
      committed.every((c) => c.offset === 8n),
      'a dry run changes nothing',
    )

    const shift = await samsa([
      'groups',
      'reset-offsets',
      group,
      '--topic',
      'replay:0,1',
      '--shift-by',
      '-3',
      '--execute',
      '--json',
    ])
    assert.equal(shift.code, 0, shift.stderr)
    assert.deepEqual(
      (JSON.parse(shift.stdout) as { offsets: { partition: number; new: number }[] }).offsets.map((o) => [
        o.partition,
        o.new,
      ]),
      [
        [0, 5],
        [1, 5],
      ],
    )
    const exact = await samsa([
      'groups',
      'reset-offsets',
      group,
      '--topic',
      'replay:2',
      '--to-offset',
      '2',
      '--execute',
    ])
    assert.equal(exact.code, 0, exact.stderr)
    committed = await fetchCommitted(admin.cluster, group, null)
    assert.deepEqual(committed.map((c) => [c.partition, Number(c.offset)]).sort(), [
      [0, 5],
      [1, 5],
      [2, 2],
    ])
    // A kafkajs member of the group starts exactly where the reset put it.
    const resumed = await kafkajsResume(group, 'replay', 3)
    assert.deepEqual([...resumed].sort(), [
      [0, 5],
      [1, 5],
      [2, 2],
    ])
  })

  test('reset-offsets: latest, datetime and clamping; refused while the group is active', async () => {
    await fill('clock', 1, 4)
    const group = 'clockers'
    await commitOffsets(admin.cluster, group, [{ topic: 'clock', partition: 0, offset: 1n }])
    const latest = await samsa(['groups', 'reset-offsets', group, '--all-topics', '--to-latest', '--execute'])
    assert.equal(latest.code, 0, latest.stderr)
    assert.equal((await fetchCommitted(admin.cluster, group, null))[0]?.offset, 4n)
    const past = await samsa([
      'groups',
      'reset-offsets',
      group,
      '--all-topics',
      '--to-datetime',
      '2000-01-01T00:00:00Z',
      '--execute',
    ])
    assert.equal(past.code, 0, past.stderr)
    assert.equal((await fetchCommitted(admin.cluster, group, null))[0]?.offset, 0n)
    const future = await samsa([
      'groups',
      'reset-offsets',
      group,
      '--all-topics',
      '--to-timestamp',
      String(Date.now() + 3_600_000),
      '--execute',
    ])
    assert.equal(future.code, 0, future.stderr)
    assert.equal((await fetchCommitted(admin.cluster, group, null))[0]?.offset, 4n)
    const clamped = await samsa(['groups', 'reset-offsets', group, '--all-topics', '--to-offset', '99', '--execute'])
    assert.equal(clamped.code, 0)
    assert.equal((await fetchCommitted(admin.cluster, group, null))[0]?.offset, 4n)

    const none = await samsa(['groups', 'reset-offsets', group, '--topic', 'clock'])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /exactly one of/)
    const two = await samsa(['groups', 'reset-offsets', group, '--to-latest'])
    assert.equal(two.code, 2)

    const member = new Consumer(new Cluster({ bootstrap: broker.bootstrap }), { groupId: group, maxWaitMs: 50 })
    member.subscribe(['clock'])
    await member.poll()
    try {
      const refused = await samsa(['groups', 'reset-offsets', group, '--all-topics', '--to-earliest', '--execute'])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /has active members \(state Stable\)/)
      assert.equal((await fetchCommitted(admin.cluster, group, null))[0]?.offset, 4n)
    } finally {
      await member.close()
    }
  })

  test('groups delete removes an empty group and reports a missing one', async () => {
    await fill('gone', 1, 1)
    await commitOffsets(admin.cluster, 'to-delete', [{ topic: 'gone', partition: 0, offset: 1n }])
    const res = await samsa(['groups', 'delete', 'to-delete'])
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stderr, /deleted group to-delete/)
    assert.equal(
      (await admin.listGroups()).some((g) => g.groupId === 'to-delete'),
      false,
    )
    const again = await samsa(['groups', 'delete', 'to-delete'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /GROUP_ID_NOT_FOUND/)
  })
})

/**
 * `samsa groups reset-offsets --by-duration / --export / --from-file` and `samsa groups
 * delete-offsets` as real processes, checked with kafkajs' admin (fetchOffsets) and a kafkajs
 * group member that stays subscribed.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Kafka, Admin as KafkaAdmin } from 'kafkajs'
import { commitOffsets, fetchCommitted } from '../../src/client/offsets.ts'
import { Producer } from '../../src/client/producer.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { useCliBroker } from './helpers.ts'

const env = useCliBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } })
let kafka: Kafka
let kadmin: KafkaAdmin
const dir = mkdtempSync(join(tmpdir(), 'samsa-groups-offsets-'))

/** A topic whose partitions hold `old` records of two days ago, then `recent` records of now. */
async function fill(topic: string, partitions: number, old: number, recent: number): Promise<void> {
  await env.admin.createTopics([{ name: topic, partitions }])
  const producer = new Producer(env.admin.cluster)
  const records = []
  for (let partition = 0; partition < partitions; partition++) {
    for (let i = 0; i < old; i++)
      records.push({ topic, partition, value: `old-${i}`, timestamp: Date.now() - 2 * 86_400_000 + i })
    for (let i = 0; i < recent; i++) records.push({ topic, partition, value: `new-${i}` })
  }
  await producer.sendMany(records)
}

async function kafkajsOffsets(groupId: string, topic: string): Promise<[number, number][]> {
  const [t] = await kadmin.fetchOffsets({ groupId, topics: [topic] })
  return (t?.partitions ?? []).map((p): [number, number] => [p.partition, Number(p.offset)]).sort((a, b) => a[0] - b[0])
}

describe('samsa groups offsets', { concurrency: true }, () => {
  // Inside the suite: the file's broker (useCliBroker's root hook) is up by then.
  before(async () => {
    kafka = kafkajsClient(env.broker.bootstrap)
    kadmin = kafka.admin()
    await kadmin.connect()
  })
  after(async () => {
    await kadmin.disconnect()
    rmSync(dir, { recursive: true, force: true })
  })

  test('--by-duration goes back that long; --export prints the CSV plan; --from-file applies it', async () => {
    await fill('dur', 2, 3, 2)
    const group = 'dur-group'
    await commitOffsets(env.admin.cluster, group, [
      { topic: 'dur', partition: 0, offset: 5n },
      { topic: 'dur', partition: 1, offset: 1n },
    ])
    // An hour back reaches the records produced now (offsets 3 and 4), past the old ones.
    const exported = await env.samsa([
      'groups',
      'reset-offsets',
      group,
      '--topic',
      'dur',
      '--by-duration',
      'PT1H',
      '--export',
    ])
    assert.equal(exported.code, 0, exported.stderr)
    assert.equal(exported.stdout, 'dur,0,3\ndur,1,3\n')
    assert.match(exported.stderr, /dry run/)
    assert.deepEqual(await kafkajsOffsets(group, 'dur'), [
      [0, 5],
      [1, 1],
    ])
    // Three days back reaches the start.
    const far = await env.samsa(['groups', 'reset-offsets', group, '--all-topics', '--by-duration', 'P3D', '--json'])
    assert.deepEqual(
      (JSON.parse(far.stdout) as { offsets: { new: number }[] }).offsets.map((o) => o.new),
      [0, 0],
    )

    const plan = join(dir, 'plan.csv')
    writeFileSync(plan, exported.stdout)
    const applied = await env.samsa(['groups', 'reset-offsets', group, '--from-file', plan, '--execute'])
    assert.equal(applied.code, 0, applied.stderr)
    assert.match(applied.stdout, /TOPIC\s+PARTITION\s+CURRENT\s+NEW\ndur\s+0\s+5\s+3\ndur\s+1\s+1\s+3\n/)
    assert.deepEqual(await kafkajsOffsets(group, 'dur'), [
      [0, 3],
      [1, 3],
    ])

    // Kafka's several-groups form (group,topic,partition,offset): only this group's lines count;
    // offsets past the log end are kept inside it.
    writeFileSync(plan, 'other,dur,0,0\ndur-group,dur,1,1\n\ndur-group,dur,0,99\n')
    const multi = await env.samsa(['groups', 'reset-offsets', group, '--from-file', plan, '--execute', '--export'])
    assert.equal(multi.code, 0, multi.stderr)
    assert.equal(multi.stdout, 'dur,1,1\ndur,0,5\n')
    assert.deepEqual(await kafkajsOffsets(group, 'dur'), [
      [0, 5],
      [1, 1],
    ])
  })

  test('usage errors of the new options', async () => {
    const bad = join(dir, 'bad.csv')
    writeFileSync(bad, 'dur,zero,1\n')
    const cases: [string[], RegExp][] = [
      [['--topic', 'dur', '--by-duration', '1h'], /invalid --by-duration "1h" \(an ISO 8601 duration like PT15M/],
      [['--topic', 'dur', '--by-duration', 'PT'], /invalid --by-duration/],
      [['--from-file', bad], /bad\.csv line 1: expected topic,partition,offset/],
      [['--from-file', join(dir, 'missing.csv')], /cannot read --from-file .*missing\.csv: ENOENT/],
      [['--from-file', 'plan.csv', '--to-earliest'], /exactly one of/],
      [['--topic', 'dur', '--to-earliest', '--export', '--json'], /--export and --json exclude each other/],
    ]
    for (const [args, message] of cases) {
      const res = await env.samsa(['groups', 'reset-offsets', 'g', ...args])
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.match(res.stderr, message)
      assert.match(res.stderr, /see samsa groups reset-offsets --help\n$/)
    }
    const plan = join(dir, 'scoped.csv')
    writeFileSync(plan, 'dur,0,1\n')
    const scoped = await env.samsa(['groups', 'reset-offsets', 'g', '--from-file', plan, '--topic', 'dur'])
    assert.equal(scoped.code, 2)
    assert.match(scoped.stderr, /--from-file names its partitions/)
    writeFileSync(plan, 'nope,0,1\n')
    const unknown = await env.samsa(['groups', 'reset-offsets', 'g', '--from-file', plan])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /UNKNOWN_TOPIC_OR_PARTITION \(nope\): topic does not exist/)
  })

  test("delete-offsets removes an unsubscribed topic's offsets and refuses a subscribed one", async () => {
    await fill('kept', 1, 2, 0)
    await fill('gone', 2, 2, 0)
    const group = 'del-group'
    await commitOffsets(env.admin.cluster, group, [
      { topic: 'gone', partition: 0, offset: 1n },
      { topic: 'gone', partition: 1, offset: 2n },
    ])
    const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic: 'kept', fromBeginning: true })
    let seen = 0
    const consumed = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async () => {
          if (++seen === 2) resolve()
        },
      })
    })
    try {
      await consumed
      await consumer.commitOffsets([{ topic: 'kept', partition: 0, offset: '2' }])
      const one = await env.samsa(['groups', 'delete-offsets', group, '--topic', 'gone:1'])
      assert.equal(one.code, 0, one.stderr)
      assert.equal(one.stdout, 'TOPIC  PARTITION  STATUS\ngone           1  deleted\n')
      assert.deepEqual(await kafkajsOffsets(group, 'gone'), [
        [0, 1],
        [1, -1],
      ])

      const both = await env.samsa(['groups', 'delete-offsets', group, '--topic', 'gone', '--topic', 'kept', '--json'])
      assert.equal(both.code, 1, 'a refused partition fails the command')
      assert.deepEqual(JSON.parse(both.stdout), {
        group,
        offsets: [
          { topic: 'gone', partition: 0, error: null },
          { topic: 'gone', partition: 1, error: null },
          { topic: 'kept', partition: 0, error: 'GROUP_SUBSCRIBED_TO_TOPIC' },
        ],
      })
      assert.deepEqual(
        (await fetchCommitted(env.admin.cluster, group, null)).map((c) => `${c.topic}/${c.partition}`),
        ['kept/0'],
      )
    } finally {
      await consumer.disconnect()
    }
    const missing = await env.samsa(['groups', 'delete-offsets', 'no-such-group', '--topic', 'gone'])
    assert.equal(missing.code, 1)
    assert.equal(missing.stderr, 'samsa: error: GROUP_ID_NOT_FOUND (no-such-group): group does not exist\n')
    const usage = await env.samsa(['groups', 'delete-offsets', group])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /give --topic/)
  })
})

/** `samsa topics ...`, usage errors, help texts and exit codes, run as real processes. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { Producer } from '../../src/client/producer.ts'
import { cli, runCli } from './helpers.ts'

let broker: Broker
let admin: Admin
let samsa: ReturnType<typeof cli>

before(async () => {
  broker = await startBroker()
  admin = new Admin({ bootstrap: broker.bootstrap })
  samsa = cli(broker.bootstrap)
})
after(async () => {
  await admin.close()
  await broker.close()
})

describe('samsa cli', { concurrency: true }, () => {
  test('topics create, list (table and JSON) and the duplicate error', async () => {
    const created = await samsa(['topics', 'create', 'orders', '--partitions', '3', '-c', 'retention.ms=3600000'])
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stderr, /created topic orders/)
    const [t] = await admin.describeTopics(['orders'])
    assert.equal(t?.partitions.length, 3)

    const dup = await samsa(['topics', 'create', 'orders'])
    assert.equal(dup.code, 1)
    assert.equal(dup.stderr.trim().split('\n').length, 1, 'one line, no stack trace')
    assert.match(dup.stderr, /^samsa: error: TOPIC_ALREADY_EXISTS \(orders\)/)
    const dupVerbose = await samsa(['topics', 'create', 'orders', '--verbose'])
    assert.equal(dupVerbose.code, 1)
    assert.match(dupVerbose.stderr, /\n\s+at /, 'stack trace with --verbose')
    const again = await samsa(['topics', 'create', 'orders', '--if-not-exists'])
    assert.equal(again.code, 0)

    const list = await samsa(['topics', 'list'])
    assert.equal(list.code, 0)
    assert.match(list.stdout, /^TOPIC\s+PARTITIONS\s+ID\n/)
    assert.match(list.stdout, /\norders\s+3\s/)
    const json = await samsa(['topics', 'list', '--json'])
    const parsed = JSON.parse(json.stdout) as { name: string; partitions: number }[]
    assert.deepEqual(
      parsed.filter((x) => x.name === 'orders').map((x) => x.partitions),
      [3],
    )
  })

  test('topics describe shows partitions, offsets, sizes and config overrides', async () => {
    await admin.createTopics([{ name: 'described', partitions: 2, configs: { 'cleanup.policy': 'compact' } }])
    const producer = new Producer(admin.cluster)
    await producer.sendMany(
      Array.from({ length: 5 }, (_, i) => ({ topic: 'described', key: 'k', value: `v${i}`, partition: 1 })),
    )
    const res = await samsa(['topics', 'describe', 'described', '--json'])
    assert.equal(res.code, 0, res.stderr)
    const d = JSON.parse(res.stdout) as {
      name: string
      records: number
      configs: Record<string, string>
      partitions: { partition: number; leader: number; earliest: number; latest: number; size: number }[]
    }
    assert.equal(d?.name, 'described')
    assert.equal(d?.records, 5)
    assert.equal(d?.configs['cleanup.policy'], 'compact')
    assert.deepEqual(
      d?.partitions.map((p) => [p.partition, p.leader, p.earliest, p.latest]),
      [
        [0, 1, 0, 0],
        [1, 1, 0, 5],
      ],
    )
    assert.ok((d?.partitions[1]?.size ?? 0) > 0)
    const text = await samsa(['topics', 'describe', 'described'])
    assert.match(text.stdout, /Topic: described .*Partitions: 2 .*Records: 5/)
    assert.match(text.stdout, /Configs: cleanup\.policy=compact/)
    assert.match(text.stdout, /PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+EARLIEST\s+LATEST\s+RECORDS\s+SIZE/)
    const missing = await samsa(['topics', 'describe', 'nope'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /UNKNOWN_TOPIC_OR_PARTITION \(nope\)/)
  })

  test('topics alter grows partitions and changes configs', async () => {
    await admin.createTopics([{ name: 'altered', partitions: 1 }])
    const res = await samsa([
      'topics',
      'alter',
      'altered',
      '--partitions',
      '4',
      '--set',
      'retention.ms=1000',
      '--set',
      'segment.ms=60000',
    ])
    assert.equal(res.code, 0, res.stderr)
    const [t] = await admin.describeTopics(['altered'])
    assert.equal(t?.partitions.length, 4)
    let configs = await admin.describeConfigs(2, 'altered')
    assert.deepEqual(
      configs.map((c) => [c.name, c.value]),
      [
        ['retention.ms', '1000'],
        ['segment.ms', '60000'],
      ],
    )
    const del = await samsa(['topics', 'alter', 'altered', '--delete', 'segment.ms'])
    assert.equal(del.code, 0, del.stderr)
    configs = await admin.describeConfigs(2, 'altered')
    assert.deepEqual(
      configs.map((c) => c.name),
      ['retention.ms'],
    )
    const shrink = await samsa(['topics', 'alter', 'altered', '--partitions', '2'])
    assert.equal(shrink.code, 1)
    assert.match(shrink.stderr, /INVALID_PARTITIONS/)
    const nothing = await samsa(['topics', 'alter', 'altered'])
    assert.equal(nothing.code, 2)
    assert.match(nothing.stderr, /nothing to alter/)
    const badConfig = await samsa(['topics', 'alter', 'altered', '--set', 'no.such.config=1'])
    assert.equal(badConfig.code, 1)
  })

  test('topics delete, with and without --if-exists', async () => {
    await admin.createTopics([{ name: 'doomed', partitions: 1 }])
    const res = await samsa(['topics', 'delete', 'doomed'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(
      (await admin.listTopics()).some((t) => t.name === 'doomed'),
      false,
    )
    const again = await samsa(['topics', 'delete', 'doomed'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /UNKNOWN_TOPIC_OR_PARTITION/)
    const quiet = await samsa(['topics', 'delete', 'doomed', '--if-exists'])
    assert.equal(quiet.code, 0)
  })

  test('exit codes: unreachable broker 3, bad usage 2, and SAMSA_BOOTSTRAP is honoured', async () => {
    const down = await runCli(['topics', 'list', '--bootstrap', '127.0.0.1:1'])
    assert.equal(down.code, 3)
    assert.match(down.stderr, /^samsa: error: cannot connect to 127\.0\.0\.1:1: connection refused/)
    assert.equal(down.stderr.trim().split('\n').length, 1)
    const unknownCommand = await runCli(['topics', 'frobnicate'])
    assert.equal(unknownCommand.code, 2)
    const badFlag = await runCli(['topics', 'create', 'x', '--partitions', 'many'])
    assert.equal(badFlag.code, 2)
    assert.match(badFlag.stderr, /not an integer/)
    const badBootstrap = await runCli(['topics', 'list', '--bootstrap', 'host:notaport'])
    assert.equal(badBootstrap.code, 2)
    const env = await runCli(['topics', 'list', '--json'], { env: { SAMSA_BOOTSTRAP: broker.bootstrap } })
    assert.equal(env.code, 0, env.stderr)
    assert.ok(Array.isArray(JSON.parse(env.stdout)))
  })

  test('every command documents itself with examples', async () => {
    const commands = [
      ['topics', 'list'],
      ['topics', 'create'],
      ['topics', 'describe'],
      ['topics', 'alter'],
      ['topics', 'delete'],
      ['produce'],
      ['consume'],
      ['groups', 'list'],
      ['groups', 'describe'],
      ['groups', 'delete'],
      ['groups', 'reset-offsets'],
      ['configs', 'describe'],
      ['configs', 'alter'],
      ['records', 'delete'],
      ['cluster', 'info'],
      ['perf', 'produce'],
      ['perf', 'consume'],
    ]
    await Promise.all(
      commands.map(async (c) => {
        const res = await runCli([...c, '--help'])
        assert.equal(res.code, 0, c.join(' '))
        assert.match(res.stdout, /Examples:\n {2}.*samsa /, c.join(' '))
        assert.match(res.stdout, /--bootstrap <servers>/, c.join(' '))
        assert.match(res.stdout, /Exit codes:/, c.join(' '))
      }),
    )
    const top = await runCli(['--help'])
    for (const name of ['broker', 'topics', 'produce', 'consume', 'groups', 'configs', 'records', 'cluster', 'perf']) {
      assert.match(top.stdout, new RegExp(`\\n  ${name} `))
    }
  })
})

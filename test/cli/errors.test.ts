/**
 * How every `samsa` command fails: usage errors in one line with a pointer to the command's
 * help, exit codes as the README's table, the broker's rules checked before any request, and one
 * message per condition whichever command meets it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { commitOffsets } from '../../src/client/offsets.ts'
import { cli, runCli } from './helpers.ts'

let broker: Broker
let admin: Admin
let samsa: ReturnType<typeof cli>

before(async () => {
  broker = await startBroker()
  admin = new Admin({ bootstrap: broker.bootstrap })
  samsa = cli(broker.bootstrap)
  await admin.createTopics([{ name: 'two', partitions: 2 }])
})
after(async () => {
  await admin.close()
  await broker.close()
})

/** A bootstrap nothing listens on: a usage error must be found before connecting. */
const NOWHERE = ['--bootstrap', '127.0.0.1:1']

describe('samsa errors', { concurrency: true }, () => {
  test('usage errors are one line naming the help to read, exit code 2', async () => {
    const cases: [string[], string][] = [
      [
        ['topics', 'create', 'x', '--partitons', '3'],
        "unknown option '--partitons' (did you mean --partitions?); see samsa topics create --help",
      ],
      [['produce'], "missing required argument 'topic'; see samsa produce --help"],
      [
        ['consume', 'two', '-n', 'many'],
        "option '-n, --max-messages <n>' argument 'many' is invalid: not an integer; see samsa consume --help",
      ],
      [['frobnicate'], "unknown command 'frobnicate'; see samsa --help"],
      [['groups', 'frobnicate'], "unknown command 'frobnicate'; see samsa groups --help"],
      [['produce', 'two', '--acks', '2'], 'invalid --acks "2" (use all, 1 or 0); see samsa produce --help'],
      [
        ['perf', 'produce', 'two', '--acks', '2'],
        'invalid --acks "2" (use all, 1 or 0); see samsa perf produce --help',
      ],
    ]
    for (const [args, line] of cases) {
      const res = await runCli([...args, ...NOWHERE])
      assert.equal(res.code, 2, args.join(' '))
      assert.equal(res.stderr, `samsa: error: ${line}\n`)
      assert.equal(res.stdout, '')
    }
  })

  test("values the broker would refuse are refused by the CLI first, with the broker's rule", async () => {
    const cases: [string[], RegExp][] = [
      [['topics', 'create', 'x', '--partitions', '0'], /--partitions <n>' argument '0' is invalid: must be 1 or more/],
      [['topics', 'create', 'x', '--replication-factor', '0'], /argument '0' is invalid: must be 1 or more/],
      [['topics', 'alter', 'two', '--partitions', '0'], /argument '0' is invalid: must be 1 or more/],
      [['topics', 'create', 'a/b'], /invalid topic name: Topic name "a\/b" is illegal/],
      [['produce', 'a/b'], /invalid topic name: Topic name "a\/b" is illegal/],
      [
        ['topics', 'create', 'x', '-c', 'cleanup.policy=shred'],
        /invalid config cleanup\.policy=shred: cleanup\.policy: invalid value "shred"/,
      ],
      [
        ['configs', 'alter', '--broker', '--set', 'num.partitions=0'],
        /invalid config num\.partitions=0: num\.partitions must be at least 1/,
      ],
      [['topics', 'list', '--timeout', '0'], /--timeout <ms>' argument '0' is invalid: must be 1 or more/],
    ]
    for (const [args, message] of cases) {
      // Nothing listens at the bootstrap: exit code 2, not 3, shows no request was attempted.
      const res = await runCli([...args, ...NOWHERE], { input: 'x\n' })
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
      assert.match(res.stderr, message)
      assert.match(res.stderr, /; see samsa [a-z ]+ --help\n$/)
    }
  })

  test('an unknown partition is exit code 1 with the same message in every command', async () => {
    await commitOffsets(admin.cluster, 'readers', [{ topic: 'two', partition: 0, offset: 0n }])
    const line = 'samsa: error: UNKNOWN_TOPIC_OR_PARTITION (two/5): partition does not exist (two has partitions 0-1)\n'
    for (const args of [
      ['produce', 'two', '-p', '5'],
      ['consume', 'two', '-p', '5'],
      ['consume', 'two', '-p', '0,5'],
      ['records', 'delete', 'two', '-p', '5', '--before', '0'],
      ['groups', 'reset-offsets', 'readers', '--topic', 'two:5', '--to-earliest'],
    ]) {
      const res = await samsa(args, { input: 'x\n' })
      assert.equal(res.code, 1, args.join(' '))
      assert.equal(res.stderr, line, args.join(' '))
    }
  })

  test('an unknown topic or group reads the same from every command', async () => {
    const topicLine = 'samsa: error: UNKNOWN_TOPIC_OR_PARTITION (missing): topic does not exist\n'
    for (const args of [
      ['topics', 'describe', 'missing'],
      ['topics', 'alter', 'missing', '--partitions', '3'],
      ['topics', 'delete', 'missing'],
      ['configs', 'describe', '--topic', 'missing'],
      ['configs', 'alter', '--topic', 'missing', '--set', 'retention.ms=1'],
      ['records', 'delete', 'missing', '--before', '0'],
      ['consume', 'missing'],
      ['perf', 'consume', 'missing'],
      ['groups', 'reset-offsets', 'readers', '--topic', 'missing', '--to-earliest'],
    ]) {
      const res = await samsa(args)
      assert.equal(res.code, 1, args.join(' '))
      assert.equal(res.stderr, topicLine, args.join(' '))
    }
    const groupLine = 'samsa: error: GROUP_ID_NOT_FOUND (nobody): group does not exist\n'
    for (const args of [
      ['groups', 'describe', 'nobody'],
      ['groups', 'delete', 'nobody'],
    ]) {
      const res = await samsa(args)
      assert.equal(res.code, 1, args.join(' '))
      assert.equal(res.stderr, groupLine, args.join(' '))
    }
  })

  test('no broker reachable is exit code 3', async () => {
    const res = await runCli(['topics', 'list', '--timeout', '2000', ...NOWHERE])
    assert.equal(res.code, 3)
    assert.match(res.stderr, /^samsa: error: .* \(is a broker running\? see --bootstrap\)\n$/)
  })
})

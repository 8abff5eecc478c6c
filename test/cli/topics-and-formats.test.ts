/**
 * `samsa consume` over several topics and by regular expression, timestamps as dates, and
 * `samsa produce` reading per-record keys, headers and timestamps (--pattern, --format json),
 * checked against what the log holds and, where installed, what kcat reads.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { Producer } from '../../src/client/producer.ts'
import { hasKcat, kcat } from '../helpers/kcat.ts'
import { readTopic, useCliBroker } from './helpers.ts'

const env = useCliBroker()
const samsa: typeof env.samsa = (args, options) => env.samsa(args, options)
const readAll = (topic: string, expected: number) => readTopic(env.admin, topic, expected)

const sortedLines = (s: string): string[] => s.trim().split('\n').sort()

describe('samsa consume and produce formats', { concurrency: true }, () => {
  // In the suite: top-level hooks start together on Node 20, and this one needs the broker.
  before(async () => {
    const { admin } = env
    await env.admin.createTopics([
      { name: 'orders.eu', partitions: 2 },
      { name: 'orders.us', partitions: 1 },
      { name: 'ordersx', partitions: 1 },
      { name: 'copy', partitions: 1 },
    ])
    const producer = new Producer(admin.cluster)
    await producer.sendMany([
      { topic: 'orders.eu', partition: 0, key: 'a', value: 'eu-0', timestamp: 1_714_564_800_000 },
      { topic: 'orders.eu', partition: 1, key: 'b', value: 'eu-1', timestamp: 1_714_564_800_250 },
      { topic: 'orders.us', partition: 0, key: 'c', value: 'us-0', timestamp: 1_714_564_801_000 },
      { topic: 'ordersx', partition: 0, key: 'd', value: 'x-0', timestamp: 1_714_564_802_000 },
    ])
  })

  test('consume reads several topics, or every topic a regular expression matches in whole', async () => {
    const two = await samsa(['consume', 'orders.eu', 'orders.us', '--from-beginning', '-F', '%t %p:%o %s\\n'])
    assert.equal(two.code, 0, two.stderr)
    assert.deepEqual(sortedLines(two.stdout), ['orders.eu 0:0 eu-0', 'orders.eu 1:0 eu-1', 'orders.us 0:0 us-0'])
    assert.match(two.stderr, /consumed 3 records/)

    // `orders\..*` matches the whole name: ordersx is not read.
    const re = await samsa(['consume', 'orders\\..*', '--regex', '--from-beginning', '-F', '%t:%s\\n'])
    assert.equal(re.code, 0, re.stderr)
    assert.deepEqual(sortedLines(re.stdout), ['orders.eu:eu-0', 'orders.eu:eu-1', 'orders.us:us-0'])

    const group = await samsa(['consume', 'orders.eu', 'ordersx', '--group', 'multi', '--from-beginning'])
    assert.equal(group.code, 0, group.stderr)
    assert.deepEqual(sortedLines(group.stdout), ['eu-0', 'eu-1', 'x-0'])
    const committed = await samsa(['groups', 'describe', 'multi', '--json'])
    const offsets = (JSON.parse(committed.stdout) as { offsets: { topic: string; committed: number }[] }).offsets
    assert.deepEqual(offsets.map((o) => [o.topic, o.committed]).sort(), [
      ['orders.eu', 1],
      ['orders.eu', 1],
      ['ordersx', 1],
    ])

    const end = await samsa(['consume', 'orders.eu', 'orders.us'])
    assert.equal(end.code, 0, end.stderr)
    assert.match(
      end.stderr,
      /^reading 2 topics from the end \(offsets orders\.eu\/0:1 orders\.eu\/1:1 orders\.us\/0:1\), past their 3 records/,
    )
  })

  test('consume: regex and partition mistakes are usage errors, a regex matching nothing fails', async () => {
    const none = await samsa(['consume', 'nothing.*', '--regex', '--from-beginning'])
    assert.equal(none.code, 1)
    assert.equal(none.stderr, 'samsa: error: no topic matches nothing.*\n')
    const bad = await samsa(['consume', 'orders[', '--regex'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^samsa: error: invalid --regex expression: /)
    const partition = await samsa(['consume', 'orders.eu', 'orders.us', '-p', '0'])
    assert.equal(partition.code, 2)
    assert.match(partition.stderr, /--partition needs exactly one topic; see samsa consume --help/)
    const date = await samsa(['consume', 'orders.eu', '--date-format', 'rfc'])
    assert.equal(date.code, 2)
    assert.match(date.stderr, /unknown date format "rfc" \(use iso, local, unix, ms\)/)
  })

  test('%d prints timestamps as ISO dates in UTC, local time with its offset, seconds or milliseconds', async () => {
    const read = async (format: string[], env: Record<string, string> = {}): Promise<string> => {
      const r = await samsa(['consume', 'orders.us', '--from-beginning', '-F', '%d\\n', ...format], { env })
      assert.equal(r.code, 0, r.stderr)
      return r.stdout
    }
    assert.equal(await read([]), '2024-05-01T12:00:01.000Z\n')
    assert.equal(await read(['--date-format', 'local'], { TZ: 'Asia/Kolkata' }), '2024-05-01 17:30:01.000 +05:30\n')
    assert.equal(await read(['--date-format', 'local'], { TZ: 'America/New_York' }), '2024-05-01 08:00:01.000 -04:00\n')
    assert.equal(await read(['--date-format', 'unix']), '1714564801.000\n')
    assert.equal(await read(['--date-format', 'ms']), '1714564801000\n')
  })

  test('produce --pattern reads keys, ordered headers, partitions and timestamps per record', async () => {
    await env.admin.createTopics([{ name: 'patterned', partitions: 2 }])
    const input = 'k1\tsource=web,x=1,x=2\t1\t1714564800000\thello world\nk2\t\t0\t1714564801000\tbye\n'
    const res = await samsa(['produce', 'patterned', '-F', '%k\\t%h\\t%p\\t%T\\t%s\\n', '-H', 'via=cli'], { input })
    assert.equal(res.code, 0, res.stderr)
    const [second, first] = await readAll('patterned', 2)
    assert.equal(first?.partition, 1)
    assert.equal(first?.key?.toString(), 'k1')
    assert.equal(first?.value?.toString(), 'hello world')
    assert.equal(first?.timestamp, 1_714_564_800_000n)
    assert.deepEqual(
      first?.headers.map((h) => [h.key, h.value?.toString()]),
      [
        ['via', 'cli'],
        ['source', 'web'],
        ['x', '1'],
        ['x', '2'],
      ],
    )
    assert.equal(second?.partition, 0)
    assert.deepEqual(
      second?.headers.map((h) => h.key),
      ['via'],
    )
    // What consume -F prints, produce -F reads back.
    const out = await samsa(['consume', 'patterned', '-p', '1', '--from-beginning', '-F', '%k|%h|%s\\n'])
    assert.equal(out.stdout, 'k1|via=cli,source=web,x=1,x=2|hello world\n')
    if (hasKcat) {
      const seen = await kcat([
        '-C',
        '-b',
        env.broker.bootstrap,
        '-t',
        'patterned',
        '-p',
        '1',
        '-o',
        'beginning',
        '-e',
        '-f',
        '%k %h %s\\n',
      ])
      assert.equal(seen, 'k1 via=cli,source=web,x=1,x=2 hello world\n')
    }

    const mismatch = await samsa(['produce', 'patterned', '-F', '%k=%s\\n'], { input: 'no separator\n' })
    assert.equal(mismatch.code, 2)
    assert.match(mismatch.stderr, /input does not match the pattern: "no separator"/)
    for (const [pattern, message] of [
      ['%k%s\\n', /input pattern tokens %k%s need a separator between them/],
      ['%k %q\\n', /unknown input pattern token %q/],
      ['plain\\n', /the input pattern has no token/],
    ] as const) {
      const r = await samsa(['produce', 'patterned', '-F', pattern], { input: 'x\n' })
      assert.equal(r.code, 2, pattern)
      assert.match(r.stderr, message)
    }
    const both = await samsa(['produce', 'patterned', '-F', '%s\\n', '-k', ':'], { input: 'x\n' })
    assert.equal(both.code, 2)
    assert.match(both.stderr, /use only one of --raw, --pattern, --format json and --key-separator/)
  })

  test('consume --format json piped into produce --format json copies keys, values, timestamps and headers', async () => {
    await env.admin.createTopics([{ name: 'json-src', partitions: 3 }])
    const producer = new Producer(env.admin.cluster)
    await producer.send({
      topic: 'json-src',
      partition: 2,
      key: 'k',
      value: Buffer.from([0, 1, 0xff]),
      timestamp: 1_714_564_800_000,
      headers: [
        { key: 'x', value: Buffer.from('1') },
        { key: 'x', value: Buffer.from('2') },
        { key: 'n', value: null },
      ],
    })
    const out = await samsa(['consume', 'json-src', '--from-beginning', '--format', 'json', '-e', 'base64'])
    assert.equal(out.code, 0, out.stderr)
    // Partition 2 does not exist in `copy`: the key places the record there.
    const res = await samsa(['produce', 'copy', '--format', 'json', '-e', 'base64'], { input: out.stdout })
    assert.equal(res.code, 0, res.stderr)
    const [copied] = await readAll('copy', 1)
    assert.equal(copied?.key?.toString(), 'k')
    assert.deepEqual(copied?.value, Buffer.from([0, 1, 0xff]))
    assert.equal(copied?.timestamp, 1_714_564_800_000n)
    assert.deepEqual(
      copied?.headers.map((h) => [h.key, h.value?.toString() ?? null]),
      [
        ['x', '1'],
        ['x', '2'],
        ['n', null],
      ],
    )
    const bad = await samsa(['produce', 'copy', '--format', 'json'], { input: '[1,2]\n' })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid JSON input \(one object per line\)/)
  })
})

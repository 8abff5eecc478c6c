/** `samsa produce` and `samsa consume` as real processes: formats, positions, binary data, errors. */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { fetchCommitted } from '../../src/client/offsets.ts'
import { partitionForKey } from '../../src/client/partitioner.ts'
import { Producer } from '../../src/client/producer.ts'
import { hasKcat, kcat } from '../helpers/kcat.ts'
import { cli, readTopic } from './helpers.ts'

let broker: Broker
let admin: Admin
let samsa: ReturnType<typeof cli>
let dir: string

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } })
  admin = new Admin({ bootstrap: broker.bootstrap })
  samsa = cli(broker.bootstrap)
  dir = await mkdtemp(join(tmpdir(), 'samsa-cli-'))
})
after(async () => {
  await admin.close()
  await broker.close()
  await rm(dir, { recursive: true, force: true })
})

const readAll = (topic: string, expected: number) => readTopic(admin, topic, expected)

describe('samsa cli', { concurrency: true }, () => {
  test('produce: keys, headers, compression and the report of what was written', async () => {
    await admin.createTopics([{ name: 'events', partitions: 3 }])
    const res = await samsa(['produce', 'events', '-k', ':', '-H', 'source=cli', '-H', 'v=2', '-z', 'zstd', '--json'], {
      input: 'alice:login\nbob:logout\nalice:click\n',
    })
    assert.equal(res.code, 0, res.stderr)
    const report = JSON.parse(res.stdout) as { records: number; partitions: { partition: number; records: number }[] }
    assert.equal(report.records, 3)
    const records = await readAll('events', 3)
    assert.equal(records.length, 3)
    for (const r of records) {
      assert.equal(r.partition, partitionForKey(r.key as Buffer, 3))
      assert.deepEqual(
        r.headers.map((h) => [h.key, h.value?.toString()]),
        [
          ['source', 'cli'],
          ['v', '2'],
        ],
      )
    }
    const alice = records.filter((r) => r.key?.toString() === 'alice').map((r) => r.value?.toString())
    assert.deepEqual(alice, ['login', 'click'])
    const sum = report.partitions.reduce((s, p) => s + p.records, 0)
    assert.equal(sum, 3)

    const text = await samsa(['produce', 'events', '--partition', '2', '--acks', '1'], { input: 'x\ny' })
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stderr, /produced 2 records to events \(partition 2: offsets \d+-\d+\)/)
  })

  test('consume: plain, JSON and kcat-style patterns, exiting at the end', async () => {
    await admin.createTopics([{ name: 'formats', partitions: 1 }])
    const producer = new Producer(admin.cluster)
    await producer.sendMany([
      { topic: 'formats', key: 'k1', value: 'hello', headers: { a: '1' }, timestamp: 1_700_000_000_000 },
      { topic: 'formats', key: null, value: 'world', timestamp: 1_700_000_001_000 },
    ])
    const plain = await samsa(['consume', 'formats', '--from-beginning'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.equal(plain.stdout, 'hello\nworld\n')
    assert.match(plain.stderr, /consumed 2 records/)

    const json = await samsa(['consume', 'formats', '--from-beginning', '--format', 'json'])
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(lines[0], {
      topic: 'formats',
      partition: 0,
      offset: 0,
      timestamp: 1_700_000_000_000,
      timestampType: 'CreateTime',
      key: 'k1',
      value: 'hello',
      headers: [{ key: 'a', value: '1' }],
    })
    assert.equal(lines[1]?.key, null)

    const pattern = await samsa(['consume', 'formats', '-o', 'earliest', '-F', '%t/%p@%o %k=%s (%K/%S) %T [%h]\\n'])
    assert.equal(
      pattern.stdout,
      'formats/0@0 k1=hello (2/5) 1700000000000 [a=1]\nformats/0@1 =world (-1/5) 1700000001000 []\n',
    )
    const badPattern = await samsa(['consume', 'formats', '-F', '%x'])
    assert.equal(badPattern.code, 2)
    assert.match(badPattern.stderr, /unknown pattern token %x/)
  })

  test('headers are an ordered list: repeated keys survive produce, consume --format json, patterns and kcat', async () => {
    await admin.createTopics([{ name: 'headers', partitions: 1 }])
    const put = await samsa(['produce', 'headers', '-H', 'x=1', '-H', 'x=2', '-H', 'y=', '-H', 'a=b=c'], {
      input: 'v\n',
    })
    assert.equal(put.code, 0, put.stderr)
    const [stored] = await readAll('headers', 1)
    const expected = [
      ['x', '1'],
      ['x', '2'],
      ['y', ''],
      ['a', 'b=c'],
    ]
    assert.deepEqual(
      stored?.headers.map((h) => [h.key, h.value?.toString()]),
      expected,
    )
    const json = await samsa(['consume', 'headers', '--from-beginning', '--format', 'json'])
    assert.deepEqual(
      (JSON.parse(json.stdout) as { headers: unknown }).headers,
      expected.map(([key, value]) => ({ key, value })),
    )
    const hex = await samsa(['consume', 'headers', '--from-beginning', '--format', 'json', '--encoding', 'hex'])
    assert.deepEqual((JSON.parse(hex.stdout) as { headers: { value: string }[] }).headers[1], { key: 'x', value: '32' })
    const pattern = await samsa(['consume', 'headers', '--from-beginning', '-F', '%h\\n'])
    assert.equal(pattern.stdout, 'x=1,x=2,y=,a=b=c\n')
    if (hasKcat) {
      const seen = await kcat(['-C', '-b', broker.bootstrap, '-t', 'headers', '-o', 'beginning', '-e', '-f', '%h\\n'])
      assert.equal(seen, 'x=1,x=2,y=,a=b=c\n')
    }
    const bad = await samsa(['produce', 'headers', '-H', 'novalue'], { input: 'v\n' })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid header "novalue" \(expected key=value\)/)
  })

  test('consume: offsets, relative positions, timestamps, partitions and max messages', async () => {
    await admin.createTopics([{ name: 'positions', partitions: 2 }])
    const producer = new Producer(admin.cluster)
    const base = 1_700_000_000_000
    await producer.sendMany(
      Array.from({ length: 10 }, (_, i) => ({
        topic: 'positions',
        value: `p0-${i}`,
        partition: 0,
        timestamp: base + i * 1000,
      })),
    )
    await producer.sendMany(
      Array.from({ length: 4 }, (_, i) => ({ topic: 'positions', value: `p1-${i}`, partition: 1 })),
    )
    const fromOffset = await samsa(['consume', 'positions', '-p', '0', '-o', '7'])
    assert.equal(fromOffset.stdout, 'p0-7\np0-8\np0-9\n')
    const lastTwo = await samsa(['consume', 'positions', '-o', '-2', '-F', '%s\\n'])
    assert.deepEqual(lastTwo.stdout.trim().split('\n').sort(), ['p0-8', 'p0-9', 'p1-2', 'p1-3'])
    const byTime = await samsa(['consume', 'positions', '-p', '0', '--timestamp', new Date(base + 5500).toISOString()])
    assert.equal(byTime.stdout, 'p0-6\np0-7\np0-8\np0-9\n')
    const limited = await samsa(['consume', 'positions', '-p', '0', '--from-beginning', '-n', '3'])
    assert.equal(limited.stdout, 'p0-0\np0-1\np0-2\n')
    // No position flag: from the end, as kafka-console-consumer; the command says so and how to read more.
    const latest = await samsa(['consume', 'positions'])
    assert.equal(latest.code, 0)
    assert.equal(latest.stdout, '')
    assert.equal(
      latest.stderr,
      'reading positions from the end (offsets 0:10 1:4), past its 14 records: add --from-beginning to read them, or --follow to wait for new ones\nconsumed 0 records\n',
    )
    const following = await samsa(['consume', 'positions', '-p', '1', '--follow', '--idle-timeout', '100'])
    assert.equal(
      following.stderr,
      'reading positions from the end (offsets 1:4) and waiting for new records; add --from-beginning to read the 4 records already there\nconsumed 0 records\n',
    )
    const explicit = await samsa(['consume', 'positions', '-o', 'latest'])
    assert.equal(explicit.stderr, 'consumed 0 records\n')
    await admin.createTopics([{ name: 'nothing-yet', partitions: 1 }])
    const empty = await samsa(['consume', 'nothing-yet'])
    assert.match(
      empty.stderr,
      /^reading nothing-yet from the end \(offsets 0:0\); it has no records yet: add --follow to wait for new ones\n/,
    )
    const badOffset = await samsa(['consume', 'positions', '-o', 'soon'])
    assert.equal(badOffset.code, 2)
    const badPartition = await samsa(['consume', 'positions', '-p', '9'])
    assert.equal(badPartition.code, 1)
    assert.equal(
      badPartition.stderr,
      'samsa: error: UNKNOWN_TOPIC_OR_PARTITION (positions/9): partition does not exist (positions has partitions 0-1)\n',
    )
  })

  test('binary-safe round trips: a raw file, and base64/hex records with binary keys', async () => {
    await admin.createTopics([{ name: 'binary', partitions: 1 }])
    const blob = Buffer.alloc(70_000)
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + (i >> 8)) & 0xff
    const file = join(dir, 'blob.bin')
    await writeFile(file, blob)
    const put = await samsa(['produce', 'binary', '--raw', '-f', file])
    assert.equal(put.code, 0, put.stderr)
    const got = await samsa(['consume', 'binary', '--from-beginning', '-n', '1', '--format', 'raw', '-d', ''])
    assert.equal(got.code, 0, got.stderr)
    assert.ok(got.raw.equals(blob), 'raw bytes come back unchanged')

    await admin.createTopics([{ name: 'binary64', partitions: 1 }])
    const values = [
      Buffer.from([0, 1, 2, 255, 10, 13]),
      Buffer.from([10]),
      Buffer.alloc(0),
      Buffer.from('\u00e9\u00e8', 'latin1'),
    ]
    const keys = [Buffer.from([0xff, 0x00]), Buffer.from([0x0a]), Buffer.from([1]), Buffer.from([2])]
    const lines = values.map((v, i) => `${(keys[i] as Buffer).toString('base64')} ${v.toString('base64')}`).join('\n')
    const put64 = await samsa(['produce', 'binary64', '--encoding', 'base64', '-k', ' '], { input: `${lines}\n` })
    assert.equal(put64.code, 0, put64.stderr)
    const stored = await readAll('binary64', values.length)
    assert.deepEqual(
      stored.map((r) => r.value),
      values,
    )
    assert.deepEqual(
      stored.map((r) => r.key),
      keys,
    )
    const hex = await samsa(['consume', 'binary64', '--from-beginning', '--encoding', 'hex', '-F', '%k %s\\n'])
    assert.equal(
      hex.stdout,
      values.map((v, i) => `${(keys[i] as Buffer).toString('hex')} ${v.toString('hex')}\n`).join(''),
    )
    const json = await samsa(['consume', 'binary64', '--from-beginning', '--encoding', 'base64', '--format', 'json'])
    const decoded = json.stdout
      .trim()
      .split('\n')
      .map((l) => Buffer.from((JSON.parse(l) as { value: string }).value, 'base64'))
    assert.deepEqual(decoded, values)
    const bad = await samsa(['produce', 'binary64', '--encoding', 'hex'], { input: 'zz\n' })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid hex input/)
  })

  test('consume with a group commits what it printed and resumes there', async () => {
    await admin.createTopics([{ name: 'grouped', partitions: 2 }])
    const producer = new Producer(admin.cluster)
    await producer.sendMany(Array.from({ length: 6 }, (_, i) => ({ topic: 'grouped', key: `k${i}`, value: `v${i}` })))
    const first = await samsa(['consume', 'grouped', '-g', 'readers'])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.stdout.trim().split('\n').length, 6)
    const committed = await fetchCommitted(admin.cluster, 'readers', null)
    assert.equal(
      committed.reduce((s, c) => s + Number(c.offset), 0),
      6,
    )
    await producer.sendMany([{ topic: 'grouped', key: 'k9', value: 'v-new' }])
    const second = await samsa(['consume', 'grouped', '-g', 'readers'])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.stdout, 'v-new\n')
    const withOffset = await samsa(['consume', 'grouped', '-g', 'readers', '-o', '3'])
    assert.equal(withOffset.code, 2)
  })

  test('consume --follow waits for new records until --max-messages', async () => {
    await admin.createTopics([{ name: 'live', partitions: 1 }])
    // Starting at offset 0 of the empty topic: the records arrive while the consumer waits.
    const running = samsa(['consume', 'live', '--follow', '-o', '0', '-n', '3', '--idle-timeout', '8000'])
    const lines = join(dir, 'lines.txt')
    await writeFile(lines, 'one\ntwo\nthree\n')
    await new Promise((r) => setTimeout(r, 1000))
    const put = await samsa(['produce', 'live', '-f', lines])
    assert.equal(put.code, 0, put.stderr)
    const res = await running
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.stdout, 'one\ntwo\nthree\n')
  })

  test('produce creates a missing topic as the Java producer and librdkafka do, and so does perf produce', async () => {
    const p = await samsa(['produce', 'fresh-topic'], { input: 'first\n' })
    assert.equal(p.code, 0, p.stderr)
    assert.match(p.stderr, /produced 1 record to fresh-topic \(partition 0: offsets 0-0\)/)
    const got = await samsa(['consume', 'fresh-topic', '--from-beginning'])
    assert.equal(got.stdout, 'first\n')
    const perf = await samsa(['perf', 'produce', 'fresh-bench', '-n', '50', '-s', '10', '--json'])
    assert.equal(perf.code, 0, perf.stderr)
    assert.equal((JSON.parse(perf.stdout) as { records: number }).records, 50)
    assert.equal((await readAll('fresh-bench', 50)).length, 50)
  })

  test('where the broker does not auto-create topics, produce says in one line how to create it', async (t) => {
    const strict = await startBroker({ config: { 'auto.create.topics.enable': 'false' } })
    t.after(() => strict.close())
    const run = cli(strict.bootstrap)
    for (const args of [
      ['produce', 'newtopic'],
      ['perf', 'produce', 'newtopic', '-n', '1'],
    ]) {
      const res = await run(args, { input: 'x\n' })
      assert.equal(res.code, 1, res.stderr)
      assert.equal(
        res.stderr,
        'samsa: error: UNKNOWN_TOPIC_OR_PARTITION (newtopic): topic does not exist and the broker does not create topics on first use (auto.create.topics.enable=false); create it with: samsa topics create newtopic\n',
      )
    }
    const created = await run(['topics', 'create', 'newtopic'])
    assert.equal(created.code, 0, created.stderr)
    assert.equal((await run(['produce', 'newtopic'], { input: 'x\n' })).code, 0)
  })

  test('produce and consume errors: unknown topic, bad flags', async () => {
    const c = await samsa(['consume', 'missing-topic'])
    assert.equal(c.code, 1)
    assert.match(c.stderr, /UNKNOWN_TOPIC_OR_PARTITION \(missing-topic\)/)
    await admin.createTopics([{ name: 'flags', partitions: 1 }])
    const acks = await samsa(['produce', 'flags', '--acks', '2'], { input: 'x' })
    assert.equal(acks.code, 2)
    const codec = await samsa(['produce', 'flags', '-z', 'brotli'], { input: 'x' })
    assert.equal(codec.code, 2)
    assert.match(codec.stderr, /unknown compression "brotli"/)
    const sep = await samsa(['produce', 'flags', '-k', ':'], { input: 'no separator here\n' })
    assert.equal(sep.code, 2)
  })
})

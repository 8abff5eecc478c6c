import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { CompressionTypes } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

/** kcat consumer output, one record per line: key|value|timestamp|offset|headers. */
async function consumeAll(bootstrap: string, topic: string, extra: string[] = []): Promise<string[]> {
  const out = await kcat([
    '-C',
    '-b',
    bootstrap,
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%k|%s|%T|%o|%h\n',
    ...extra,
  ])
  return out.split('\n').filter((l) => l !== '')
}

describe('librdkafka (kcat) against samsa', { skip: hasKcat ? false : KCAT_MISSING }, () => {
  let broker: Broker

  before(async () => {
    broker = await startBroker()
  })
  after(() => broker.close())

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`kcat produces and consumes keyed records with headers (${codec})`, async () => {
      const topic = `kcat-${codec}`
      const lines = Array.from({ length: 20 }, (_, i) => `key${i}:value ${i} ${'z'.repeat(i * 10)}`)
      await kcat(
        ['-P', '-b', broker.bootstrap, '-t', topic, '-K:', '-z', codec, '-H', 'trace=t1', '-H', 'n=2'],
        `${lines.join('\n')}\n`,
      )
      const got = await consumeAll(broker.bootstrap, topic)
      assert.equal(got.length, lines.length)
      for (const [i, line] of got.entries()) {
        const [key, value, , offset, headers] = line.split('|')
        assert.equal(key, `key${i}`)
        assert.equal(value, `value ${i} ${'z'.repeat(i * 10)}`)
        assert.equal(offset, String(i))
        assert.equal(headers, 'trace=t1,n=2')
      }
    })
  }

  test('kcat reads what kafkajs wrote, with every codec, and seeks by offset and timestamp', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const producer = kafka.producer()
    await producer.connect()
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'from-kafkajs', numPartitions: 1 }] })
    const codecs = [
      CompressionTypes.None,
      CompressionTypes.GZIP,
      CompressionTypes.Snappy,
      CompressionTypes.LZ4,
      CompressionTypes.ZSTD,
    ]
    for (const [i, compression] of codecs.entries()) {
      await producer.send({
        topic: 'from-kafkajs',
        compression,
        messages: [0, 1].map((j) => ({
          key: `k${i}${j}`,
          value: `v${i}${j}`,
          timestamp: String(5_000 + i * 100 + j),
          headers: { c: String(compression) },
        })),
      })
    }
    await producer.disconnect()
    await admin.disconnect()
    const all = await consumeAll(broker.bootstrap, 'from-kafkajs')
    assert.deepEqual(
      all,
      codecs.flatMap((c, i) => [0, 1].map((j) => `k${i}${j}|v${i}${j}|${5_000 + i * 100 + j}|${i * 2 + j}|c=${c}`)),
    )
    const fromOffset = await kcat([
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      'from-kafkajs',
      '-o',
      '7',
      '-e',
      '-q',
      '-f',
      '%o\n',
    ])
    assert.deepEqual(fromOffset.trim().split('\n'), ['7', '8', '9'])
    const fromTime = await kcat([
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      'from-kafkajs',
      '-o',
      's@5201',
      '-e',
      '-q',
      '-f',
      '%o\n',
    ])
    assert.deepEqual(fromTime.trim().split('\n'), ['5', '6', '7', '8', '9'])
    const query = await kcat(['-Q', '-b', broker.bootstrap, '-t', 'from-kafkajs:0:5300'])
    assert.match(query, /from-kafkajs \[0\] offset 6/)
  })

  test('LogAppendTime topics stamp records with the broker clock', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        {
          topic: 'append-time',
          numPartitions: 1,
          configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
        },
      ],
    })
    await admin.disconnect()
    const before = Date.now()
    await kcat(['-P', '-b', broker.bootstrap, '-t', 'append-time', '-z', 'lz4'], 'a\nb\n')
    const after = Date.now()
    for (const line of await consumeAll(broker.bootstrap, 'append-time')) {
      const ts = Number(line.split('|')[2])
      assert.ok(ts >= before && ts <= after, `timestamp ${ts} not in [${before}, ${after}]`)
    }
  })

  for (const [fallback, magic] of [
    ['0.9.0', 0],
    ['0.10.0', 1],
  ] as const) {
    test(`an old client (Produce/Fetch with message format v${magic}) round-trips through up- and down-conversion`, async () => {
      const old = ['-X', 'api.version.request=false', '-X', `broker.version.fallback=${fallback}`]
      const topic = `legacy-${magic}`
      await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-K:', '-z', 'gzip', ...old], 'k1:v1\nk2:v2\nk3:v3\n')
      const got = await consumeAll(broker.bootstrap, topic, old)
      assert.deepEqual(
        got.map((l) =>
          l
            .split('|')
            .filter((_, i) => i !== 2)
            .join('|'),
        ),
        ['k1|v1|0|', 'k2|v2|1|', 'k3|v3|2|'],
      )
      // A modern client reads the same records from the v2 batches they were converted into.
      const modern = await consumeAll(broker.bootstrap, topic)
      assert.deepEqual(
        modern.map((l) => l.split('|')[1]),
        ['v1', 'v2', 'v3'],
      )
    })
  }

  test('kcat lists brokers, topics and partitions from Metadata', async () => {
    const out = await kcat(['-L', '-b', broker.bootstrap, '-t', 'kcat-none'])
    assert.match(out, new RegExp(`broker 1 at ${broker.bootstrap.replace('.', '\\.')} \\(controller\\)`))
    assert.match(out, /topic "kcat-none" with 1 partitions:\n\s+partition 0, leader 1, replicas: 1, isrs: 1/)
  })
})

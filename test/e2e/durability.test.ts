import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { CompressionTypes } from 'kafkajs'
import { startBroker } from '../../src/broker/broker.ts'
import { spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-durability-'))
  dirs.push(dir)
  return dir
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** Every record of a topic as "partition:offset:value", read with kcat (which checks CRCs). */
async function readAll(bootstrap: string, topic: string): Promise<string[]> {
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
    '-X',
    'check.crcs=true',
    '-f',
    '%p:%o:%s\n',
  ])
  return out.split('\n').filter((l) => l !== '')
}

describe('durability of the local engine', () => {
  test('a broker restarted on the same directory serves every topic, record and offset', async () => {
    const dir = await tempDir()
    const first = await startBroker({ storage: 'local', dataDir: dir })
    let kafka = kafkajsClient(first.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [{ topic: 'kept', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
    })
    const [meta] = (await admin.fetchTopicMetadata({ topics: ['kept'] })).topics
    await admin.disconnect()
    let producer = kafka.producer()
    await producer.connect()
    for (let i = 0; i < 30; i++) {
      await producer.send({
        topic: 'kept',
        compression: CompressionTypes.GZIP,
        messages: [{ partition: i % 3, key: `k${i}`, value: `v${i}` }],
      })
    }
    await producer.disconnect()
    const topicId = first.core.topics.get('kept')?.topicId
    await first.close()

    const second = await startBroker({ storage: 'local', dataDir: dir })
    assert.equal(second.core.topics.get('kept')?.topicId, topicId)
    assert.deepEqual(second.core.topics.get('kept')?.configs, { 'retention.ms': '-1' })
    kafka = kafkajsClient(second.bootstrap)
    const admin2 = kafka.admin()
    await admin2.connect()
    assert.equal(
      (await admin2.fetchTopicMetadata({ topics: ['kept'] })).topics[0]?.partitions.length,
      meta?.partitions.length,
    )
    const offsets = await admin2.fetchTopicOffsets('kept')
    assert.deepEqual(offsets.map((o) => o.high).sort(), ['10', '10', '10'])
    producer = kafka.producer()
    await producer.connect()
    const [res] = await producer.send({ topic: 'kept', messages: [{ partition: 0, value: 'after restart' }] })
    assert.equal(res?.baseOffset, '10')
    await producer.disconnect()
    await admin2.disconnect()
    if (hasKcat) {
      const all = await readAll(second.bootstrap, 'kept')
      assert.equal(all.length, 31)
      assert.ok(all.includes('0:10:after restart'))
      for (let i = 0; i < 30; i++) assert.ok(all.includes(`${i % 3}:${Math.floor(i / 3)}:v${i}`), `v${i}`)
    }
    await second.close()
  })

  test('kill -9 during produce loses no acknowledged record and serves no torn batch', {
    skip: hasKcat ? false : KCAT_MISSING,
  }, async () => {
    const dir = await tempDir()
    const acked = new Map<string, string>() // value -> "partition:offset"
    for (let round = 0; round < 3; round++) {
      const broker = await spawnBroker(dir)
      const kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } })
      if (round === 0) {
        const admin = kafka.admin()
        await admin.connect()
        await admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 2 }] })
        await admin.disconnect()
      }
      const producers = await Promise.all(
        [-1, 1].map(async (acks) => {
          const p = kafka.producer()
          await p.connect()
          return { p, acks }
        }),
      )
      let stop = false
      const loops = producers.map(async ({ p, acks }, n) => {
        for (let i = 0; !stop; i++) {
          const value = `r${round}-p${n}-${i}`
          try {
            const [res] = await p.send({ topic: 'crash', acks, messages: [{ partition: i % 2, value }] })
            if (res && res.errorCode === 0) acked.set(value, `${res.partition}:${res.baseOffset}`)
          } catch {
            return
          }
        }
      })
      await new Promise((r) => setTimeout(r, 400 + round * 200))
      await broker.stop('SIGKILL')
      stop = true
      await Promise.all(loops)
      await Promise.all(producers.map(({ p }) => p.disconnect().catch(() => undefined)))
    }
    assert.ok(acked.size > 50, `only ${acked.size} records were acknowledged`)
    const broker = await spawnBroker(dir)
    try {
      const all = await readAll(broker.bootstrap, 'crash')
      const byValue = new Map<string, string>()
      for (const line of all) {
        const [p, o, v] = line.split(':') as [string, string, string]
        assert.equal(byValue.has(v), false, `${v} appears twice`)
        byValue.set(v, `${p}:${o}`)
      }
      for (const [value, at] of acked) assert.equal(byValue.get(value), at, `acknowledged ${value} at ${at}`)
      for (const partition of ['0', '1']) {
        const offsets = all.filter((l) => l.startsWith(`${partition}:`)).map((l) => Number(l.split(':')[1]))
        assert.deepEqual(
          offsets,
          offsets.map((_, i) => i),
          `partition ${partition} offsets are contiguous`,
        )
      }
    } finally {
      await broker.stop()
    }
  })
})

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
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const postgresSkip = (await hasPostgres()) ? false : POSTGRES_MISSING

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

  test('kill -9 during produce and offset commits loses no acknowledged record or offset, duplicates none, serves no torn batch', {
    skip: hasKcat ? false : KCAT_MISSING,
  }, async () => {
    await killNineRounds([])
  })
})

describe('durability of the postgres engine', { skip: postgresSkip }, () => {
  test('kill -9 during produce and offset commits loses no acknowledged record or offset, duplicates none, serves no torn batch', {
    skip: hasKcat ? false : KCAT_MISSING,
  }, async () => {
    await killNineRounds(['--storage', await freshDatabase()])
  })
})

/**
 * Three rounds of produce (acks=1, acks=all, idempotent) and offset commits, each ended by kill -9
 * of the broker, then a check of what a restarted broker serves: every acknowledged record at its
 * offset, none twice, contiguous offsets, committed offsets kept. `storage` selects the engine.
 */
async function killNineRounds(storage: string[]): Promise<void> {
  const dir = await tempDir()
  const groupId = 'crash-group'
  const acked = new Map<string, string>() // value -> "partition:offset"
  /** Per producer stream ("r0-p2") and partition: acknowledged offsets in send order. */
  const sent = new Map<string, number[]>()
  /** Per partition: the highest commit the group had acknowledged, and every offset it tried. */
  const committed = new Map<number, number>()
  const tried = new Map<number, Set<number>>()
  for (let round = 0; round < 3; round++) {
    const broker = await spawnBroker(dir, [
      ...storage,
      '--set',
      'group.initial.rebalance.delay.ms=0',
      '--set',
      'group.min.session.timeout.ms=500',
    ])
    const kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } })
    // kafkajs refuses idempotence without retries; a few quick ones give up soon after the kill.
    const retrying = kafkajsClient(broker.bootstrap, {
      retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
    })
    if (round === 0) {
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 2 }] })
      await admin.disconnect()
    }
    // The previous round's member is remembered: a short session lets the join stop waiting for it
    // soon. No restart after the kill (kafkajs would retry a dead broker forever).
    const consumer = retrying.consumer({
      groupId,
      sessionTimeout: 1000,
      rebalanceTimeout: 1000,
      heartbeatInterval: 200,
      maxWaitTimeInMs: 50,
      retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200, restartOnFailure: async () => false },
    })
    // kafkajs's commitOffsets resolves without committing once the consumer stopped running; this
    // event comes only with the broker's OffsetCommit response, i.e. an acknowledged commit.
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      for (const t of payload.topics) {
        for (const { partition, offset } of t.partitions) {
          committed.set(Number(partition), Math.max(committed.get(Number(partition)) ?? 0, Number(offset)))
        }
      }
    })
    await consumer.connect()
    await consumer.subscribe({ topic: 'crash', fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const last = batch.lastOffset()
        if (Number(last) < 0) return
        const offset = Number(last) + 1
        const attempts = tried.get(batch.partition) ?? new Set<number>()
        tried.set(batch.partition, attempts.add(offset))
        await consumer.commitOffsets([{ topic: 'crash', partition: batch.partition, offset: String(offset) }])
      },
    })
    const producers = await Promise.all(
      [
        { acks: -1, idempotent: false },
        { acks: 1, idempotent: false },
        { acks: -1, idempotent: true },
        { acks: -1, idempotent: true },
      ].map(async ({ acks, idempotent }) => {
        const p = idempotent ? retrying.producer({ idempotent: true, maxInFlightRequests: 1 }) : kafka.producer()
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
          if (res && res.errorCode === 0) {
            acked.set(value, `${res.partition}:${res.baseOffset}`)
            const stream = `r${round}-p${n}:${res.partition}`
            sent.set(stream, [...(sent.get(stream) ?? []), Number(res.baseOffset)])
          }
        } catch {
          return
        }
      }
    })
    await new Promise((r) => setTimeout(r, 700 + round * 200))
    await broker.stop('SIGKILL')
    stop = true
    await Promise.all(loops)
    await Promise.all(producers.map(({ p }) => p.disconnect().catch(() => undefined)))
    await consumer.disconnect().catch(() => undefined)
  }
  assert.ok(acked.size > 50, `only ${acked.size} records were acknowledged`)
  assert.ok(
    [...acked.keys()].filter((v) => /-p[23]-/.test(v)).length > 20,
    'the idempotent producers had records acknowledged',
  )
  assert.ok(committed.size > 0, 'the group had offset commits acknowledged')
  const broker = await spawnBroker(dir, storage)
  try {
    const all = await readAll(broker.bootstrap, 'crash')
    const byValue = new Map<string, string>()
    for (const line of all) {
      const [p, o, v] = line.split(':') as [string, string, string]
      assert.equal(byValue.has(v), false, `${v} appears twice`)
      byValue.set(v, `${p}:${o}`)
    }
    for (const [value, at] of acked) assert.equal(byValue.get(value), at, `acknowledged ${value} at ${at}`)
    for (const [stream, offsets] of sent) {
      assert.deepEqual(
        offsets,
        [...offsets].sort((a, b) => a - b),
        `${stream}: acknowledged in order`,
      )
    }
    for (const partition of ['0', '1']) {
      const offsets = all.filter((l) => l.startsWith(`${partition}:`)).map((l) => Number(l.split(':')[1]))
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
        `partition ${partition} offsets are contiguous`,
      )
    }
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    const [fetched] = await admin.fetchOffsets({ groupId, topics: ['crash'] })
    await admin.disconnect()
    for (const [partition, offset] of committed) {
      const stored = Number(fetched?.partitions.find((p) => p.partition === partition)?.offset)
      assert.ok(stored >= offset, `partition ${partition}: committed offset ${stored}, acknowledged ${offset}`)
      assert.ok(tried.get(partition)?.has(stored), `partition ${partition}: ${stored} is an offset the group committed`)
    }
  } finally {
    await broker.stop()
  }
}

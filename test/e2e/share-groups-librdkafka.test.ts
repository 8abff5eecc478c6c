/**
 * Share groups (KIP-932) with librdkafka's share consumer (the preview of librdkafka 2.15): a
 * small C program (test/librdkafka/share-consumer.c) compiled against the librdkafka that
 * @confluentinc/kafka-javascript's install builds. Two of them on one partition get disjoint
 * records and together all of them; one in a read_committed group (share.isolation.level) gets
 * exactly the records of committed transactions and plain ones. Skipped with a message where that librdkafka, its share
 * consumer or a C compiler is missing.
 */
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Producer as KafkajsProducer } from 'kafkajs'
import { startBroker } from '../../src/broker/broker.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Producer } from '../../src/client/producer.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const LIBRDKAFKA = join(ROOT, 'node_modules/@confluentinc/kafka-javascript')
const HEADER = join(LIBRDKAFKA, 'deps/librdkafka/src/rdkafka.h')
const LIBDIR = join(LIBRDKAFKA, 'build/deps')

/** Compiles the program; its path, or why it cannot be built here. */
function compile(): { program: string } | { missing: string } {
  if (!existsSync(HEADER) || !existsSync(join(LIBDIR, 'librdkafka.so'))) {
    return { missing: "@confluentinc/kafka-javascript's librdkafka is not installed (npm install --no-save)" }
  }
  if (!readFileSync(HEADER, 'utf8').includes('rd_kafka_share_consumer_new')) {
    return { missing: 'the installed librdkafka has no share consumer (librdkafka 2.15+)' }
  }
  const dir = mkdtempSync(join(tmpdir(), 'samsa-rdk-share-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'librdkafka'))
  writeFileSync(join(dir, 'librdkafka/rdkafka.h'), readFileSync(HEADER))
  const program = join(dir, 'share-consumer')
  const source = join(ROOT, 'test/librdkafka/share-consumer.c')
  const args = ['-o', program, source, `-I${dir}`, `-L${LIBDIR}`, '-lrdkafka', `-Wl,-rpath,${LIBDIR}`]
  const cc = spawnSync('cc', args, { encoding: 'utf8' })
  if (cc.error || cc.status !== 0) return { missing: `no C compiler could build it: ${cc.error?.message ?? cc.stderr}` }
  return { program }
}

const built = compile()

interface Received {
  value: string
  offset: number
  deliveryCount: number
}

function run(program: string, args: string[]): Promise<Received[]> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`share-consumer failed: ${err.message}\n${stderr}`))
      resolve((JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { records: Received[] }).records)
    })
  })
}

test('two librdkafka share consumers on one partition get disjoint records, together all of them', {
  skip: 'missing' in built ? built.missing : false,
}, async (t) => {
  const program = (built as { program: string }).program
  const broker = await startBroker({ config: { 'group.share.heartbeat.interval.ms': '500' } })
  t.after(() => broker.close())
  const topicId = (await broker.core.topics.create('rdk-share', 1, {}))?.topicId as string
  await broker.core.groupConfigs.set('rdk', { 'share.auto.offset.reset': 'earliest' })
  const stopDir = mkdtempSync(join(tmpdir(), 'samsa-rdk-stop-'))
  t.after(() => rmSync(stopDir, { recursive: true, force: true }))
  const stop = join(stopDir, 'stop')
  const bootstrap = `127.0.0.1:${broker.port}`
  const consumers = [1, 2].map(() => run(program, [bootstrap, 'rdk-share', 'rdk', '1000', '90000', stop]))
  await waitUntil('two members', () => broker.core.groups.group('rdk')?.members.size === 2, { timeoutMs: 60_000 })
  const sent = Array.from({ length: 100 }, (_, i) => `v${i}`)
  const cluster = new Cluster({ bootstrap })
  const producer = new Producer(cluster)
  try {
    for (const value of sent) await producer.send({ topic: 'rdk-share', partition: 0, value })
  } finally {
    await producer.close()
    await cluster.close()
  }
  // Every record acknowledged (implicitly, by the consumers' next polls): they may stop.
  await waitUntil(
    'every record acknowledged',
    async () => (await broker.core.shares.summary({ groupId: 'rdk', topicId, partition: 0 }))?.startOffset === 100,
    { timeoutMs: 60_000 },
  )
  writeFileSync(stop, '')
  const got = await Promise.all(consumers)
  const all = got.flat().map((r) => r.value)
  assert.equal(all.length, sent.length, 'no record twice')
  assert.deepEqual([...all].sort(), [...sent].sort(), 'together, every record')
  for (const mine of got) assert.ok(mine.length > 0, 'each consumer got records')
  for (const r of got.flat()) assert.equal(r.deliveryCount, 1)
})

test('a librdkafka share consumer in a read_committed group gets exactly the committed records', {
  skip: 'missing' in built ? built.missing : false,
}, async (t) => {
  const program = (built as { program: string }).program
  const broker = await startBroker({
    config: { 'group.share.heartbeat.interval.ms': '500', 'transaction.max.timeout.ms': '60000' },
  })
  t.after(() => broker.close())
  const topic = 'rdk-share-rc'
  const topicId = (await broker.core.topics.create(topic, 1, {}))?.topicId as string
  await broker.core.groupConfigs.set('rdk-rc', {
    'share.auto.offset.reset': 'earliest',
    'share.isolation.level': 'read_committed',
  })
  const kafka = kafkajsClient(broker.bootstrap)
  const producers: KafkajsProducer[] = []
  const cluster = new Cluster({ bootstrap: broker.bootstrap })
  const plain = new Producer(cluster)
  t.after(async () => {
    for (const p of producers) await p.disconnect()
    await plain.close()
    await cluster.close()
  })
  const transaction = async (transactionalId: string) => {
    const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
    producers.push(p)
    await p.connect()
    const txn = await p.transaction()
    const send = (values: string[]) => txn.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) })
    return { send, commit: () => txn.commit(), abort: () => txn.abort() }
  }
  const committing = await transaction('rdk-rc-commit')
  const aborting = await transaction('rdk-rc-abort')
  await committing.send(['c-0', 'c-1'])
  await aborting.send(['x-0', 'x-1'])
  await plain.send({ topic, partition: 0, value: 'p-0' })
  await committing.send(['c-2'])
  await aborting.send(['x-2'])
  await aborting.abort()
  await committing.commit()
  const end = (await broker.core.storage.offsets(topic, 0)).highWatermark
  await waitUntil('no open transaction', () => broker.core.producers.lastStableOffset(topic, 0, end) === end, {
    timeoutMs: 20_000,
  })

  const stopDir = mkdtempSync(join(tmpdir(), 'samsa-rdk-stop-'))
  t.after(() => rmSync(stopDir, { recursive: true, force: true }))
  const stop = join(stopDir, 'stop')
  // More than were written: the consumer polls on until told to stop, so a late aborted record would show.
  const consumer = run(program, [`127.0.0.1:${broker.port}`, topic, 'rdk-rc', '1000', '90000', stop])
  try {
    await waitUntil(
      'every committed record acknowledged and the aborted ones archived',
      async () => (await broker.core.shares.summary({ groupId: 'rdk-rc', topicId, partition: 0 }))?.startOffset === end,
      { timeoutMs: 60_000 },
    )
  } finally {
    writeFileSync(stop, '')
  }
  const got = (await consumer).map((r) => r.value)
  assert.deepEqual([...got].sort(), ['c-0', 'c-1', 'c-2', 'p-0'])
})

/**
 * Share groups (KIP-932) with librdkafka's share consumer (the preview of librdkafka 2.15): a
 * small C program (test/librdkafka/share-consumer.c) compiled against the librdkafka that
 * @confluentinc/kafka-javascript's install builds. Two of them on one partition get disjoint
 * records and together all of them. Skipped with a message where that librdkafka, its share
 * consumer or a C compiler is missing.
 */
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startBroker } from '../../src/broker/broker.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Producer } from '../../src/client/producer.ts'
import { waitUntil } from '../../src/testing/wait.ts'

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

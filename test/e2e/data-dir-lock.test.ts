/**
 * A data directory belongs to one broker at a time (Kafka's `.lock`): a second `samsa broker` on
 * it exits with status 1 and one line naming the directory and the holder's pid, without
 * touching the directory, while the first goes on serving; kill -9 of the holder frees it.
 */
import assert from 'node:assert/strict'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { runCli } from '../cli/helpers.ts'
import { type BrokerProcess, spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDirs } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const freshDir = freshDirs('samsa-dir-lock-')
const running: BrokerProcess[] = []
after(async () => {
  for (const broker of running) await broker.stop('SIGKILL')
})

async function start(dataDir: string): Promise<BrokerProcess> {
  const broker = await spawnBroker(dataDir)
  running.push(broker)
  return broker
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/** Produces `values` to a new one-partition topic, then reads the topic from the start. */
async function roundTrip(bootstrap: string, topic: string, values: string[]): Promise<string[]> {
  const kafka = kafkajsClient(bootstrap)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: values.map((value) => ({ value })) })
  await producer.disconnect()
  return consumeAll(bootstrap, topic, values.length)
}

/** The first `count` values of a topic, read by a kafkajs consumer group from the start. */
async function consumeAll(bootstrap: string, topic: string, count: number): Promise<string[]> {
  const consumer = kafkajsClient(bootstrap).consumer({ groupId: `g-${topic}-${Date.now()}` })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${count} records`)), 15_000)
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString() ?? '')
            if (seen.length === count) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
    return seen
  } finally {
    await consumer.disconnect()
  }
}

test('a second samsa broker on a data directory in use exits 1 with one line naming it and the holder', async () => {
  const dataDir = await freshDir()
  const first = await start(dataDir)
  const second = await runCli(['broker', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'])
  assert.equal(second.code, 1)
  assert.equal(second.stdout, '')
  assert.equal(
    second.stderr,
    `samsa: error: data directory ${dataDir} is in use by another samsa broker (pid ${first.child.pid}); ` +
      'only one broker may open it at a time\n',
  )
  // The refused broker wrote nothing: no clean-shutdown mark in a directory the first still writes.
  assert.equal(await exists(join(dataDir, '.samsa_cleanshutdown')), false)
  // The first broker goes on serving a real client.
  assert.deepEqual(await roundTrip(first.bootstrap, 'still-served', ['a', 'b', 'c']), ['a', 'b', 'c'])
  assert.equal(first.child.exitCode, null)
})

test('kill -9 of the holder frees the data directory: a new broker opens it and serves its data', async () => {
  const dataDir = await freshDir()
  const first = await start(dataDir)
  assert.deepEqual(await roundTrip(first.bootstrap, 'kept', ['x', 'y']), ['x', 'y'])
  assert.equal(await first.stop('SIGKILL'), null)
  const next = await start(dataDir)
  assert.deepEqual(await consumeAll(next.bootstrap, 'kept', 2), ['x', 'y'])
  // And it holds the directory in turn.
  const refused = await runCli(['broker', '--port', '0', '--data-dir', dataDir])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, new RegExp(`\\(pid ${next.child.pid}\\)`))
})

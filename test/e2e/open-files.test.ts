/**
 * A broker out of file handles (a low `ulimit -n`): CreateTopics that cannot open every
 * partition's files answers KAFKA_STORAGE_ERROR and leaves nothing behind (no open files, no
 * directories), so the broker goes on creating smaller topics and serving clients.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { type BrokerProcess, spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { freshDirs } from '../storage/helpers.ts'

const canLimit =
  process.platform === 'linux' && spawnSync('bash', ['-c', 'ulimit -n 300'], { stdio: 'ignore' }).status === 0
const SKIP = canLimit ? false : 'needs Linux and bash to lower the open-files limit'

const freshDir = freshDirs('samsa-open-files-')
let broker: BrokerProcess
let dataDir: string

before(async () => {
  if (!canLimit) return
  dataDir = await freshDir()
  broker = await spawnBroker(dataDir, [], { maxOpenFiles: 300 })
})
after(async () => {
  await broker?.stop()
})

async function openFiles(): Promise<number> {
  return (await readdir(`/proc/${broker.child.pid}/fd`)).length
}

test('a topic too big for the open-files limit is refused cleanly; smaller ones still work', {
  skip: SKIP,
}, async () => {
  const kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 0 } })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const before = await openFiles()
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'huge', numPartitions: 400 }] }),
      (err: Error & { errors?: { type?: string }[]; type?: string }) => {
        const types = [err.type, ...(err.errors ?? []).map((e) => e.type)]
        assert.ok(types.includes('KAFKA_STORAGE_ERROR'), `KAFKA_STORAGE_ERROR, got ${types.join(', ')}: ${err.message}`)
        return true
      },
    )
    assert.ok((await openFiles()) <= before + 5, `open files ${await openFiles()}, ${before} before the attempt`)
    assert.deepEqual(
      (await readdir(dataDir)).filter((name) => name.startsWith('huge-')),
      [],
      'no partition directory left',
    )
    assert.ok(!(await admin.listTopics()).includes('huge'))

    const pk = await platformatic()
    const pkAdmin = new pk.Admin({ clientId: 'open-files', bootstrapBrokers: [broker.bootstrap] })
    try {
      await pkAdmin.createTopics({ topics: ['small'], partitions: 2, replicas: 1 })
    } finally {
      await pkAdmin.close()
    }
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'small', messages: [{ partition: 1, value: 'still serving' }] })
    await producer.disconnect()
    const offsets = await admin.fetchTopicOffsets('small')
    assert.deepEqual(
      offsets.sort((a, b) => a.partition - b.partition).map((o) => o.high),
      ['0', '1'],
    )
  } finally {
    await admin.disconnect()
  }
})

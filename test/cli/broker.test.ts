/** `samsa broker --brokers n`: one process answering as a cluster, seen by real clients; --node-id and --rack. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type BrokerProcess, spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'
import { tempDir } from '../storage/helpers.ts'
import { runCli } from './helpers.ts'

let broker: BrokerProcess
let removeDir: () => Promise<void>

before(async () => {
  const dir = await tempDir('samsa-cli-brokers-')
  removeDir = dir.remove
  broker = await spawnBroker(dir.path, ['--memory', '--brokers', '3'], { listeners: 3 })
})
after(async () => {
  await broker.stop()
  await removeDir()
})

describe('samsa broker --brokers', () => {
  test('three brokers on three ports; kafkajs sees them all and produces to every leader', async () => {
    assert.equal(new Set(broker.addresses).size, 3)
    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    try {
      const cluster = await admin.describeCluster()
      assert.deepEqual(cluster.brokers.map((b) => `${b.host}:${b.port}`).sort(), [...broker.addresses].sort())
      await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6 }] })
      const [meta] = (await admin.fetchTopicMetadata({ topics: ['spread'] })).topics
      const leaders = new Set(meta?.partitions.map((p) => p.leader))
      assert.ok(leaders.size > 1, `leaders spread over brokers: ${[...leaders]}`)
      const producer = kafka.producer()
      await producer.connect()
      const acks = await producer.send({
        topic: 'spread',
        messages: Array.from({ length: 6 }, (_, partition) => ({ partition, value: `p${partition}` })),
      })
      await producer.disconnect()
      assert.deepEqual(
        acks.map((a) => a.errorCode),
        Array(acks.length).fill(0),
      )
      const offsets = await admin.fetchTopicOffsets('spread')
      assert.deepEqual(offsets.map((o) => o.high).sort(), Array(6).fill('1'))
    } finally {
      await admin.disconnect()
    }
  })

  test('@platformatic/kafka lists the three brokers', async () => {
    const pk = await platformatic()
    const admin = new pk.Admin({ clientId: 'cli-brokers', bootstrapBrokers: [broker.bootstrap] })
    try {
      const meta = await admin.metadata({ topics: [] })
      assert.deepEqual(
        [...meta.brokers.values()].map((b) => `${b.host}:${b.port}`).sort(),
        [...broker.addresses].sort(),
      )
    } finally {
      await admin.close()
    }
  })

  test('kcat -L lists three brokers', { skip: hasKcat ? false : KCAT_MISSING }, async () => {
    const out = await kcat(['-b', broker.bootstrap, '-L'])
    assert.match(out, /3 brokers:/)
  })

  test('a bad count is refused with a readable error', async () => {
    const res = await runCli(['broker', '--memory', '--port', '0', '--brokers', 'two'])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /--brokers expects a positive whole number, got "two"/)
  })
})

describe('samsa broker --node-id --rack', () => {
  test('the broker answers as the node and rack given; @platformatic/kafka and kafkajs see them', async () => {
    const dir = await tempDir('samsa-cli-node-id-')
    const one = await spawnBroker(dir.path, ['--memory', '--node-id', '7', '--rack', 'zone-b'])
    try {
      const pk = await platformatic()
      const admin = new pk.Admin({ clientId: 'cli-node-id', bootstrapBrokers: [one.bootstrap] })
      try {
        const meta = await admin.metadata({ topics: [] })
        assert.deepEqual(
          [...meta.brokers.entries()].map(([id, b]) => [id, b.rack]),
          [[7, 'zone-b']],
        )
      } finally {
        await admin.close()
      }
      const kafka = kafkajsClient(one.bootstrap).admin()
      await kafka.connect()
      try {
        assert.deepEqual(
          (await kafka.describeCluster()).brokers.map((b) => b.nodeId),
          [7],
        )
      } finally {
        await kafka.disconnect()
      }
    } finally {
      await one.stop()
      await dir.remove()
    }
  })

  test('a node id that is not a number is refused with a readable error', async () => {
    const res = await runCli(['broker', '--memory', '--port', '0', '--node-id', 'one'])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /--node-id expects a number, got "one"/)
  })
})

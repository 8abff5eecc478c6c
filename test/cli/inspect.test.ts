/**
 * `samsa log-dirs describe`, `samsa producers describe` and `samsa transactions list|describe` as
 * real processes, against what @platformatic/kafka's admin reads and what a kafkajs transactional
 * producer left open.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Kafka, Producer as KafkajsProducer, Transaction } from 'kafkajs'
import { startBroker } from '../../src/broker/broker.ts'
import { Producer } from '../../src/client/producer.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { cli, useCliBroker } from './helpers.ts'

const env = useCliBroker()

describe('samsa inspection commands', { concurrency: true }, () => {
  let kafka: Kafka
  let txProducer: KafkajsProducer
  let open: Transaction
  before(async () => {
    kafka = kafkajsClient(env.broker.bootstrap)
    await env.admin.createTopics([
      { name: 'sized', partitions: 2 },
      { name: 'tx', partitions: 2 },
      { name: 'done', partitions: 1 },
    ])
    await new Producer(env.admin.cluster).sendMany(
      [1, 2, 3].map((i) => ({ topic: 'sized', partition: 1, value: `v${i}` })),
    )
    // A transaction left open on tx/1 (kafkajs writes 2 records in it).
    txProducer = kafka.producer({ transactionalId: 'pay-tx', idempotent: true, maxInFlightRequests: 1 })
    await txProducer.connect()
    open = await txProducer.transaction()
    await open.send({
      topic: 'tx',
      messages: [
        { partition: 1, value: 'a' },
        { partition: 1, value: 'b' },
      ],
    })
    // An id whose transaction committed.
    const idle = kafka.producer({ transactionalId: 'idle-tx', idempotent: true, maxInFlightRequests: 1 })
    await idle.connect()
    const done = await idle.transaction()
    await done.send({ topic: 'done', messages: [{ value: 'c' }] })
    await done.commit()
    await idle.disconnect()
  })
  after(async () => {
    await open.abort()
    await txProducer.disconnect()
  })

  test('log-dirs describe: sizes as @platformatic/kafka reads them', async () => {
    const pk = await platformatic()
    const pkAdmin = new pk.Admin({ clientId: 'cli-log-dirs', bootstrapBrokers: [env.broker.bootstrap] })
    try {
      const theirs = await pkAdmin.describeLogDirs({ topics: [{ name: 'sized', partitions: [0, 1] }] })
      const res = await env.samsa(['log-dirs', 'describe', '--topic', 'sized', '--json'])
      assert.equal(res.code, 0, res.stderr)
      const ours = JSON.parse(res.stdout) as {
        brokers: {
          broker: number
          logDirs: { logDir: string; error: null; partitions: { partition: number; size: number }[] }[]
        }[]
      }
      assert.deepEqual(
        ours.brokers.map((b) => b.broker),
        theirs.map((b) => b.broker),
      )
      const dir = ours.brokers[0]?.logDirs[0]
      const theirDir = theirs[0]?.results[0]
      assert.equal(dir?.logDir, theirDir?.logDir)
      assert.equal(dir?.error, null)
      assert.deepEqual(
        dir?.partitions.map((p) => [p.partition, p.size]),
        theirDir?.topics[0]?.partitions.map((p) => [p.partitionIndex, Number(p.partitionSize)]),
      )
      assert.equal(dir?.partitions[0]?.size, 0)
      assert.ok((dir?.partitions[1]?.size ?? 0) > 0)

      const table = await env.samsa(['log-dirs', 'describe', '--topic', 'sized'])
      assert.match(
        table.stdout,
        /^BROKER\s+LOG-DIR\s+TOPIC\s+PARTITION\s+SIZE\s+OFFSET-LAG\n\s*\d+\s+memory\s+sized\s+0\s+0\s+0\n/,
      )
      const all = await env.samsa(['log-dirs', 'describe', '--json'])
      const names = (JSON.parse(all.stdout) as typeof ours).brokers[0]?.logDirs[0]?.partitions.map(
        (p) => `${(p as { topic?: string }).topic}/${p.partition}`,
      )
      assert.ok(names?.includes('tx/1') && names.includes('sized/0'), String(names))
      const unknownBroker = await env.samsa(['log-dirs', 'describe', '--broker', '99'])
      assert.equal(unknownBroker.code, 1)
      assert.match(unknownBroker.stderr, /no broker 99 in the cluster/)
      const missing = await env.samsa(['log-dirs', 'describe', '--topic', 'nope'])
      assert.equal(missing.code, 1)
      assert.equal(missing.stderr, 'samsa: error: UNKNOWN_TOPIC_OR_PARTITION (nope): topic does not exist\n')
    } finally {
      await pkAdmin.close()
    }
  })

  test('producers describe: the open transaction of the kafkajs producer', async () => {
    const res = await env.samsa(['producers', 'describe', 'tx', '--json'])
    assert.equal(res.code, 0, res.stderr)
    const rows = JSON.parse(res.stdout) as {
      partition: number
      producerId: number
      producerEpoch: number
      lastSequence: number
      currentTxnStartOffset: number | null
    }[]
    assert.equal(rows.length, 1)
    assert.deepEqual(
      { ...rows[0], producerId: undefined, lastTimestamp: undefined },
      {
        topic: 'tx',
        partition: 1,
        producerId: undefined,
        producerEpoch: rows[0]?.producerEpoch,
        lastSequence: 1,
        lastTimestamp: undefined,
        coordinatorEpoch: -1,
        currentTxnStartOffset: 0,
      },
    )
    const table = await env.samsa(['producers', 'describe', 'tx', '-p', '1'])
    assert.match(
      table.stdout,
      /^PARTITION\s+PRODUCER-ID\s+EPOCH\s+LAST-SEQUENCE\s+LAST-TIMESTAMP\s+COORDINATOR-EPOCH\s+TXN-START-OFFSET\n\s+1\s+\d+\s+\d+\s+1\s+\d+\s+-1\s+0\n$/,
    )
    const none = await env.samsa(['producers', 'describe', 'tx', '-p', '0'])
    assert.equal(none.code, 0)
    assert.equal(none.stderr, 'no active producers on tx\n')
    const bad = await env.samsa(['producers', 'describe', 'tx', '-p', '5'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /tx\/5/)

    // The producer id is the transactional id's, as transactions describe tells.
    const described = await env.samsa(['transactions', 'describe', 'pay-tx', '--json'])
    assert.equal((JSON.parse(described.stdout) as { producerId: number }).producerId, rows[0]?.producerId)
  })

  test('transactions list and describe', async () => {
    const list = await env.samsa(['transactions', 'list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    const listed = JSON.parse(list.stdout) as { transactionalId: string; coordinator: number; state: string }[]
    assert.deepEqual(
      listed.map((t) => [t.transactionalId, t.coordinator, t.state]),
      [
        ['idle-tx', env.broker.core.nodeId, 'CompleteCommit'],
        ['pay-tx', env.broker.core.nodeId, 'Ongoing'],
      ],
    )
    const ongoing = await env.samsa(['transactions', 'list', '--state', 'Ongoing'])
    assert.match(
      ongoing.stdout,
      /^TRANSACTIONAL-ID\s+COORDINATOR\s+PRODUCER-ID\s+STATE\npay-tx\s+\d+\s+\d+\s+Ongoing\n$/,
    )
    const long = await env.samsa(['transactions', 'list', '--state', 'Ongoing', '--duration', '3600000'])
    assert.equal(long.code, 0)
    assert.equal(long.stderr, 'no transactional ids\n')
    const unknown = await env.samsa(['transactions', 'list', '--state', 'Running'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown --state Running/)

    const res = await env.samsa(['transactions', 'describe', 'pay-tx', 'idle-tx', '--json'])
    assert.equal(res.code, 0, res.stderr)
    const [pay, idle] = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(pay?.state, 'Ongoing')
    assert.deepEqual(pay?.partitions, [{ topic: 'tx', partitions: [1] }])
    assert.equal(pay?.timeoutMs, 60000)
    assert.ok(typeof pay?.durationMs === 'number' && pay.durationMs >= 0 && pay.durationMs < 60_000)
    assert.deepEqual(
      [idle?.transactionalId, idle?.coordinator, idle?.state, idle?.timeoutMs, idle?.partitions],
      ['idle-tx', env.broker.core.nodeId, 'CompleteCommit', 60000, []],
    )
    const table = await env.samsa(['transactions', 'describe', 'pay-tx'])
    assert.match(table.stdout, /\npay-tx\s+\d+\s+\d+\s+\d+\s+Ongoing\s+60000\s+\d+\s+tx:1\n$/)
    const missing = await env.samsa(['transactions', 'describe', 'nobody'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^samsa: error: TRANSACTIONAL_ID_NOT_FOUND \(nobody\)/)
  })
})

test('over three brokers: transactions list merges what each coordinates, describe asks the coordinator', async () => {
  const broker = await startBroker({ brokers: 3 })
  const kafka = kafkajsClient(broker.bootstrap)
  const samsa = cli(broker.bootstrap)
  const ids = ['tx-a', 'tx-b', 'tx-c', 'tx-d', 'tx-e']
  try {
    for (const transactionalId of ids) {
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      const txn = await producer.transaction()
      await txn.send({ topic: 'spread', messages: [{ value: transactionalId }] })
      await txn.commit()
      await producer.disconnect()
    }
    const list = await samsa(['transactions', 'list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    const listed = JSON.parse(list.stdout) as { transactionalId: string; coordinator: number }[]
    assert.deepEqual(
      listed.map((t) => t.transactionalId),
      ids,
    )
    const coordinators = new Set(listed.map((t) => t.coordinator))
    assert.ok(coordinators.size > 1, `coordinated by more than one broker: ${[...coordinators]}`)
    const described = await samsa(['transactions', 'describe', ...ids, '--json'])
    assert.equal(described.code, 0, described.stderr)
    assert.deepEqual(
      described.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { coordinator: number; state: string })
        .map((t) => [t.coordinator, t.state]),
      listed.map((t) => [t.coordinator, 'CompleteCommit']),
    )
    const dirs = await samsa(['log-dirs', 'describe', '--topic', 'spread', '--json'])
    assert.deepEqual(
      (JSON.parse(dirs.stdout) as { brokers: { broker: number }[] }).brokers.map((b) => b.broker),
      [1, 2, 3],
    )
  } finally {
    await broker.close()
  }
})

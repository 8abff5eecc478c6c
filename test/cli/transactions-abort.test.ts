/**
 * `samsa transactions abort` as a real process, on three brokers (one process): a kafkajs
 * transaction left open holds read_committed consumers back until the command aborts it at the
 * partition's leader, found by its start offset or named by producer id, epoch and coordinator
 * epoch; refused usage and unknown transactions exit as the README's table says. Meanwhile
 * `samsa consume --read-committed` reads up to the transaction and exits.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Kafka, Producer, Transaction } from 'kafkajs'
import { kafkajsClient } from '../helpers/clients.ts'
import { useCliBroker } from './helpers.ts'

const env = useCliBroker({ brokers: 3 })
describe('samsa transactions abort', () => {
  let kafka: Kafka
  const producers: Producer[] = []
  /** Partitions of `hang` led by other brokers than the one the command bootstraps from. */
  let elsewhere: number[]

  before(async () => {
    kafka = kafkajsClient(env.broker.bootstrap)
    await env.admin.createTopics([{ name: 'hang', partitions: 3 }])
    const { partitions } = await env.admin.cluster.topic('hang', { refresh: true })
    elsewhere = partitions.filter((p) => p.leader !== env.broker.core.nodeId).map((p) => p.partition)
    assert.equal(elsewhere.length, 2)
  })
  after(async () => {
    for (const p of producers) await p.disconnect().catch(() => {})
  })

  /** A kafkajs transaction left open with two records in `partition`, then a plain record after them. */
  async function openTransaction(transactionalId: string, partition: number): Promise<Transaction> {
    const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
    producers.push(producer)
    await producer.connect()
    const txn = await producer.transaction()
    await txn.send({
      topic: 'hang',
      messages: [
        { partition, value: 'in-txn-1' },
        { partition, value: 'in-txn-2' },
      ],
    })
    const plain = kafka.producer()
    await plain.connect()
    await plain.send({ topic: 'hang', messages: [{ partition, value: `after-${partition}` }] })
    await plain.disconnect()
    return txn
  }

  /** What `samsa consume hang -p N --read-committed` prints. */
  async function readCommitted(partition: number): Promise<string[]> {
    const res = await env.samsa(['consume', 'hang', '-p', String(partition), '--from-beginning', '--read-committed'])
    assert.equal(res.code, 0, res.stderr)
    return res.stdout.split('\n').filter((l) => l !== '')
  }

  test('abort by start offset: the leader writes the ABORT marker and read_committed reads on', async () => {
    const p = elsewhere[0] as number
    const txn = await openTransaction('abort-by-offset', p)
    // read_committed consumers are held back at the transaction's first offset (a consumer would wait).
    const { highWatermark } = await env.broker.core.storage.offsets('hang', p)
    assert.equal(env.broker.core.producers.lastStableOffset('hang', p, highWatermark), 0)

    const described = await env.samsa(['producers', 'describe', 'hang', '-p', String(p), '--json'])
    const [open] = JSON.parse(described.stdout) as { producerId: number; producerEpoch: number }[]
    const res = await env.samsa([
      'transactions',
      'abort',
      '--topic',
      'hang',
      '--partition',
      String(p),
      '--start-offset',
      '0',
      '--json',
    ])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), {
      topic: 'hang',
      partition: p,
      producerId: open?.producerId,
      producerEpoch: open?.producerEpoch,
      coordinatorEpoch: 0,
    })
    assert.deepEqual(await readCommitted(p), [`after-${p}`])
    const after = await env.samsa(['producers', 'describe', 'hang', '-p', String(p), '--json'])
    assert.equal(
      (JSON.parse(after.stdout) as { currentTxnStartOffset: number | null }[])[0]?.currentTxnStartOffset,
      null,
    )

    // Nothing starts there any more.
    const again = await env.samsa([
      'transactions',
      'abort',
      '--topic',
      'hang',
      '--partition',
      String(p),
      '--start-offset',
      '0',
    ])
    assert.equal(again.code, 1)
    assert.equal(
      again.stderr,
      `samsa: error: no open transaction starts at offset 0 of hang/${p} (see samsa producers describe hang)\n`,
    )
    // The producer's own abort still ends its transaction at the coordinator.
    await txn.abort()
  })

  test('abort by producer id, epoch and coordinator epoch', async () => {
    const p = elsewhere[1] as number
    const txn = await openTransaction('abort-by-producer', p)
    const described = await env.samsa(['producers', 'describe', 'hang', '-p', String(p), '--json'])
    const [open] = JSON.parse(described.stdout) as { producerId: number; producerEpoch: number }[]
    const res = await env.samsa([
      'transactions',
      'abort',
      '--topic',
      'hang',
      '--partition',
      String(p),
      '--producer-id',
      String(open?.producerId),
      '--producer-epoch',
      String(open?.producerEpoch),
      '--coordinator-epoch',
      '0',
    ])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(
      res.stderr,
      `aborted the transaction of producer ${open?.producerId} (epoch ${open?.producerEpoch}) in hang/${p}\n`,
    )
    assert.deepEqual(await readCommitted(p), [`after-${p}`])
    await txn.abort()
  })

  test('consume --read-committed without --follow ends at the last stable offset while a transaction is open', async () => {
    await env.admin.createTopics([{ name: 'held', partitions: 1 }])
    const plain = kafka.producer()
    await plain.connect()
    await plain.send({ topic: 'held', messages: [{ value: 'before' }] })
    const producer = kafka.producer({ transactionalId: 'held-open', idempotent: true, maxInFlightRequests: 1 })
    producers.push(producer)
    await producer.connect()
    const txn = await producer.transaction()
    await txn.send({ topic: 'held', messages: [{ value: 'in-txn' }] })
    await plain.send({ topic: 'held', messages: [{ value: 'after' }] })
    await plain.disconnect()
    const consume = () => env.samsa(['consume', 'held', '--from-beginning', '--read-committed'], { timeoutMs: 10_000 })
    const open = await consume()
    assert.equal(open.code, 0, open.stderr)
    assert.deepEqual(
      open.stdout.split('\n').filter((l) => l !== ''),
      ['before'],
    )
    await txn.abort()
    const ended = await consume()
    assert.deepEqual(
      ended.stdout.split('\n').filter((l) => l !== ''),
      ['before', 'after'],
    )
  })

  test('abort: usage errors exit 2, an unknown partition 1', async () => {
    const missing = await env.samsa(['transactions', 'abort', '--topic', 'hang', '--partition', '0'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /give --start-offset, or --producer-id, --producer-epoch and --coordinator-epoch/)
    const both = await env.samsa([
      'transactions',
      'abort',
      '--topic',
      'hang',
      '--partition',
      '0',
      '--start-offset',
      '0',
      '--producer-id',
      '1',
    ])
    assert.equal(both.code, 2)
    const unknown = await env.samsa([
      'transactions',
      'abort',
      '--topic',
      'hang',
      '--partition',
      '9',
      '--start-offset',
      '0',
    ])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /UNKNOWN_TOPIC_OR_PARTITION \(hang\/9\)/)
  })
})

/**
 * Compaction of transactional data end to end: a kafkajs transactional producer commits and
 * aborts on a compacted topic, the cleaner runs, and read_committed and read_uncommitted
 * consumers both see exactly the latest committed record of each key (the aborted records are
 * gone from the log, not just filtered); later passes remove the ABORT marker too, and a restart
 * changes nothing. On the local engine and on the postgres engine (skipped with a message where
 * embedded PostgreSQL cannot start).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { Kafka } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { decodeBatchesSync } from '../../src/protocol/records/batch.ts'
import { ControlType, readEndTxnMarker } from '../../src/protocol/records/control.ts'
import type { PartitionCleanResult } from '../../src/storage/engine/cleaner-schedule.ts'
import type { LocalStorage } from '../../src/storage/local/local-storage.ts'
import type { Storage } from '../../src/storage/types.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

let broker: Broker | undefined
const dirs: string[] = []
after(async () => {
  await broker?.close()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

/** An engine the scenario runs on: where its data lives, and how a broker (re)opens it. */
interface Engine {
  name: string
  skip: string | false
  /** Returns a function that starts a broker on the same data each time it is called. */
  prepare: () => Promise<() => Promise<Broker>>
}

const engines: Engine[] = [
  {
    name: 'local',
    skip: false,
    prepare: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'samsa-compact-txn-'))
      dirs.push(dir)
      return () => startBroker({ storage: 'local', dataDir: dir })
    },
  },
  {
    name: 'postgres',
    skip: (await hasPostgres()) ? false : POSTGRES_MISSING,
    prepare: async () => {
      const url = (await freshDatabase()) as `postgres://${string}`
      return () => startBroker({ storage: url })
    },
  },
]

/** The storage's cleaner pass (every engine here compacts). */
async function runCleaner(storage: Storage): Promise<PartitionCleanResult[]> {
  assert.ok(storage.capabilities.compaction)
  return (await storage.runCleaner?.()) as PartitionCleanResult[]
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** key=value of every record of the topic, read from the beginning until `expected` arrived and 500 ms pass quietly. */
async function consumeAll(kafka: Kafka, topic: string, readUncommitted: boolean, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({
    groupId: `reader-${topic}-${readUncommitted}-${Math.random()}`,
    readUncommitted,
    maxWaitTimeInMs: 100,
  })
  const seen: string[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(`${message.key?.toString()}=${message.value?.toString()}`)
    },
  })
  const deadline = Date.now() + 15_000
  while (seen.length < expected && Date.now() < deadline) await wait(50)
  await wait(500)
  await consumer.disconnect()
  return seen.sort()
}

const messages = (prefix: string, keys: number[]): { key: string; value: string }[] =>
  keys.map((k) => ({ key: `k${k}`, value: `${prefix}${k}` }))

for (const engine of engines) {
  test(
    `kafkajs commit + abort on a compacted topic (${engine.name} engine): both isolation levels see the latest committed records after the cleaner removed the aborted records and then the ABORT marker, and after a restart`,
    {
      skip: engine.skip,
    },
    () => scenario(engine),
  )
}

async function scenario(engine: Engine): Promise<void> {
  const start = await engine.prepare()
  broker = await start()
  const kafka = kafkajsClient(broker.bootstrap)
  const topic = 'compact-txn'
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: '1024' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          // Markers without data may go in the pass after the one that gives them a horizon.
          { name: 'delete.retention.ms', value: '0' },
        ],
      },
    ],
  })
  await admin.disconnect()

  const producer = kafka.producer({ transactionalId: 'compact-txn-1', maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  for (const [prefix, keys, commit] of [
    ['c1-', [0, 1, 2, 3, 4], true],
    ['a-', [0, 1, 2, 5], false],
    ['c2-', [0, 1, 2], true],
  ] as const) {
    const txn = await producer.transaction()
    await txn.send({ topic, messages: messages(prefix, [...keys]) })
    if (commit) await txn.commit()
    else await txn.abort()
  }
  await producer.disconnect()
  // Fillers, one batch each, so the transactions end up in closed segments (local engine).
  await produceFillers(kafka, topic, 'f')

  const fillers = Array.from({ length: 30 }, (_, i) => `f${i}=f${i}`)
  const beforeUncommitted = await consumeAll(kafka, topic, true, 12 + 30)
  assert.equal(beforeUncommitted.filter((v) => v.includes('=a-')).length, 4, 'aborted records are in the log')

  const storage = broker.core.storage
  if (storage.capabilities.segments) {
    const [active] = (storage as LocalStorage).segmentBaseOffsets(topic, 0).slice(-1)
    assert.ok((active ?? 0) > 15, 'the transactions and their markers sit in closed segments')
  }
  const results = await runCleaner(storage)
  assert.deepEqual(
    results.map((r) => r.topic),
    [topic],
  )
  assert.ok((results[0]?.recordsRemoved ?? 0) >= 7, 'the 4 aborted and 3 superseded committed records go')

  const expected = [...messages('c2-', [0, 1, 2]), ...messages('c1-', [3, 4])]
    .map((m) => `${m.key}=${m.value}`)
    .concat(fillers)
    .sort()
  assert.deepEqual(await consumeAll(kafka, topic, false, expected.length), expected, 'read_committed')
  assert.deepEqual(await consumeAll(kafka, topic, true, expected.length), expected, 'read_uncommitted')

  // Next pass: the aborted transaction has no data left, so it leaves the aborted-transaction
  // index and its marker gets a delete horizon; the pass after removes the marker.
  assert.equal(broker.core.producers.abortedTransactions(topic, 0, 0, Number.MAX_SAFE_INTEGER).length, 1)
  assert.equal((await abortMarkers(storage, topic)).length, 1)
  await produceFillers(kafka, topic, 'g')
  assert.equal((await runCleaner(storage)).length, 1)
  assert.deepEqual(broker.core.producers.abortedTransactions(topic, 0, 0, Number.MAX_SAFE_INTEGER), [])
  assert.equal((await runCleaner(storage)).length, 1)
  assert.deepEqual(await abortMarkers(storage, topic), [], 'the ABORT marker is gone from the log')
  const expectedLater = expected.concat(Array.from({ length: 30 }, (_, i) => `g${i}=g${i}`)).sort()
  assert.deepEqual(await consumeAll(kafka, topic, false, expectedLater.length), expectedLater, 'read_committed')
  assert.deepEqual(await consumeAll(kafka, topic, true, expectedLater.length), expectedLater, 'read_uncommitted')

  await broker.close()
  broker = await start()
  const restarted = kafkajsClient(broker.bootstrap)
  assert.deepEqual(broker.core.producers.abortedTransactions(topic, 0, 0, Number.MAX_SAFE_INTEGER), [])
  assert.deepEqual(await abortMarkers(broker.core.storage, topic), [])
  assert.deepEqual(
    await consumeAll(restarted, topic, false, expectedLater.length),
    expectedLater,
    'read_committed after a restart',
  )
  assert.deepEqual(
    await consumeAll(restarted, topic, true, expectedLater.length),
    expectedLater,
    'read_uncommitted after a restart',
  )
  await broker.close()
  broker = undefined
}

/** 30 records `<prefix><i>`, one batch each, so the earlier data ends up in closed segments. */
async function produceFillers(kafka: Kafka, topic: string, prefix: string): Promise<void> {
  const plain = kafka.producer()
  await plain.connect()
  for (let i = 0; i < 30; i++) await plain.send({ topic, messages: [{ key: `${prefix}${i}`, value: `${prefix}${i}` }] })
  await plain.disconnect()
}

/** Offsets of the ABORT markers in partition 0, read from the log as stored. */
async function abortMarkers(storage: Storage, topic: string): Promise<number[]> {
  const out: number[] = []
  const { logStartOffset, highWatermark } = await storage.offsets(topic, 0)
  let offset = logStartOffset
  while (offset < highWatermark) {
    const read = await storage.read(topic, 0, offset, 1 << 20, { minOneBatch: true })
    if (read.records.length === 0) break
    for (const b of decodeBatchesSync(read.records)) {
      const record = b.records[0]
      if (b.isControl && record !== undefined && readEndTxnMarker(record).type === ControlType.ABORT) {
        out.push(Number(b.baseOffset))
      }
      offset = Number(b.baseOffset) + b.lastOffsetDelta + 1
    }
  }
  return out
}

/**
 * The postgres engine end to end, with real clients: a broker on a PostgreSQL URL
 * (`startBroker({ storage: 'postgres://...' })`) serving every codec with headers and timestamps,
 * groups whose committed offsets outlive the broker, idempotent and transactional producers seen by
 * read_committed consumers, DeleteRecords and retention; and `samsa broker --storage postgres`,
 * which runs a PostgreSQL of its own in the data directory, through Ctrl-C, kill -9 and a clean stop.
 * Skipped with a message where embedded PostgreSQL cannot start.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import type { Kafka } from 'kafkajs'
import { CompressionTypes } from 'kafkajs'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type CreateTopicsResponse,
  createCreatableTopic,
  createCreateTopicsRequest,
} from '../../src/protocol/generated/create-topics.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient, platformatic, platformaticMemberOptions } from '../helpers/clients.ts'
import { hasKcat, kcat } from '../helpers/kcat.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { freshDirs } from '../storage/helpers.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Reads a topic from the beginning with a fresh kafkajs group until `count` records came. */
async function readAll(
  kafka: Kafka,
  topic: string,
  count: number,
  readUncommitted = false,
): Promise<{ key: string; value: string; headers: Record<string, string>; timestamp: string }[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('pg-reader'), readUncommitted, maxWaitTimeInMs: 100 })
  const seen: { key: string; value: string; headers: Record<string, string>; timestamp: string }[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]))
      seen.push({ key: String(message.key), value: String(message.value), headers, timestamp: message.timestamp })
    },
  })
  await waitUntil(`${count} records of ${topic}`, () => seen.length >= count, { timeoutMs: 20_000 })
  await wait(300)
  await consumer.disconnect()
  return seen
}

describe('postgres engine through startBroker({ storage: url })', { skip }, () => {
  let url: string
  let broker: TestBroker
  let kafka: Kafka

  before(async () => {
    url = await freshDatabase()
    // @platformatic/kafka members ask for a 3 s session timeout (Kafka's minimum is 6 s).
    broker = await startBroker({
      storage: url as `postgres://${string}`,
      config: { 'group.min.session.timeout.ms': '500' },
    })
    kafka = kafkajsClient(broker.bootstrap)
  })
  after(() => broker.close())

  /** Sends three keyed records with headers and timestamps per codec, a batch each. */
  async function sendCodecs(topic: string, codecs: CompressionTypes[]): Promise<void> {
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    for (const [i, compression] of codecs.entries()) {
      await producer.send({
        topic,
        compression,
        messages: [0, 1, 2].map((j) => ({
          key: `k${i}-${j}`,
          value: `v${i}-${j}`,
          headers: { codec: String(compression), n: String(j) },
          timestamp: String(1_700_000_000_000 + i * 10 + j),
        })),
      })
    }
    await producer.disconnect()
  }

  const expected = (codecs: CompressionTypes[]) =>
    codecs.flatMap((_, i) =>
      [0, 1, 2].map((j) => [`k${i}-${j}`, `v${i}-${j}`, String(j), String(1_700_000_000_000 + i * 10 + j)]),
    )

  test('every codec with keys, headers and timestamps, read back by kafkajs, @platformatic/kafka and kcat', async () => {
    // @platformatic/kafka 1.x cannot read zstd on Node 20: zstd goes to a topic of its own.
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4]
    const topics = { [uniqueName('pg-codecs')]: codecs, [uniqueName('pg-zstd')]: [CompressionTypes.ZSTD] }
    for (const [topic, sent] of Object.entries(topics)) {
      await sendCodecs(topic, sent)
      const read = await readAll(kafka, topic, sent.length * 3)
      assert.deepEqual(
        read.map((r) => [r.key, r.value, r.headers.n, r.timestamp]),
        expected(sent),
      )
      if (hasKcat) {
        const out = await kcat(['-C', '-b', broker.bootstrap, '-t', topic, '-e', '-q', '-f', '%k=%s\n'])
        assert.equal(out, read.map((r) => `${r.key}=${r.value}\n`).join(''), `kcat on ${topic}`)
      }
    }

    const [topic] = Object.keys(topics) as [string]
    const pk = await platformatic()
    const consumer = new pk.Consumer(
      platformaticMemberOptions(pk, { clientId: 'pg-pk', bootstrap: broker.bootstrap, groupId: uniqueName('pg-pk') }),
    )
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
    const values: string[] = []
    try {
      for await (const message of stream) {
        values.push(String(message.value))
        if (values.length === codecs.length * 3) break
      }
    } finally {
      await stream.close()
      await consumer.close(true)
    }
    assert.deepEqual(
      values,
      expected(codecs).map((r) => r[1]),
    )
  })

  test('committed offsets outlive the broker: a new broker on the same database resumes the group', async () => {
    const topic = uniqueName('pg-group')
    const groupId = uniqueName('pg-group')
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) })
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    const first: string[] = []
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        first.push(String(message.value))
      },
    })
    await waitUntil('10 records', () => first.length >= 10, { timeoutMs: 20_000 })
    await consumer.disconnect()
    await producer.disconnect()

    const second = await startBroker({ storage: url as `postgres://${string}` })
    try {
      const again = kafkajsClient(second.bootstrap)
      const p2 = again.producer({ idempotent: true })
      await p2.connect()
      await p2.send({ topic, messages: [{ value: 'after restart' }] })
      await p2.disconnect()
      const resumed = again.consumer({ groupId, maxWaitTimeInMs: 100 })
      const rest: string[] = []
      await resumed.connect()
      await resumed.subscribe({ topic, fromBeginning: true })
      await resumed.run({
        eachMessage: async ({ message }) => {
          rest.push(String(message.value))
        },
      })
      await waitUntil('the record after the restart', () => rest.length >= 1, { timeoutMs: 20_000 })
      await wait(300)
      await resumed.disconnect()
      assert.deepEqual(rest, ['after restart'], 'the group resumed after its committed offset')
    } finally {
      await second.close()
    }
  })

  test('transactions: read_committed sees the committed records only', async () => {
    const topic = uniqueName('pg-txn')
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    await admin.disconnect()
    const producer = kafka.producer({ transactionalId: uniqueName('pg-txn'), maxInFlightRequests: 1, idempotent: true })
    await producer.connect()
    for (const [prefix, commit] of [
      ['c1-', true],
      ['a1-', false],
      ['c2-', true],
    ] as const) {
      const txn = await producer.transaction()
      await txn.send({
        topic,
        messages: Array.from({ length: 5 }, (_, i) => ({ key: `${prefix}${i}`, value: `${prefix}${i}` })),
      })
      if (commit) await txn.commit()
      else await txn.abort()
    }
    await producer.disconnect()
    const committed = (await readAll(kafka, topic, 10)).map((r) => r.value).sort()
    assert.deepEqual(committed, [...['c1-', 'c2-'].flatMap((p) => [0, 1, 2, 3, 4].map((i) => `${p}${i}`))].sort())
    assert.equal((await readAll(kafka, topic, 15, true)).length, 15)
  })

  test('a produce right after CreateTopics is accepted on every partition (the broker leads them when the create returns)', async () => {
    const topic = uniqueName('pg-created')
    const raw = await RawClient.connect(broker.port)
    try {
      const created = await raw.send<CreateTopicsResponse>(
        ApiKey.CreateTopics,
        7,
        createCreateTopicsRequest({
          topics: [createCreatableTopic({ name: topic, numPartitions: 8, replicationFactor: -1 })],
          timeoutMs: 10_000,
        }),
      )
      assert.equal(created.topics[0]?.errorCode, ErrorCode.NONE)
      const batch = encodeBatchSync({ records: [{ value: Buffer.from('first') }] })
      const errors = await Promise.all(
        Array.from({ length: 8 }, async (_, partition) => {
          const res = await raw.send<ProduceResponse>(
            ApiKey.Produce,
            9,
            createProduceRequest({
              acks: -1,
              timeoutMs: 10_000,
              topicData: [
                createTopicProduceData({ name: topic, partitionData: [{ index: partition, records: batch }] }),
              ],
            }),
          )
          return res.responses[0]?.partitionResponses[0]?.errorCode
        }),
      )
      assert.deepEqual(errors, Array(8).fill(ErrorCode.NONE))
    } finally {
      await raw.close()
    }
  })

  test('DeleteRecords moves the log start; ListOffsets earliest follows', async () => {
    const topic = uniqueName('pg-delete')
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, messages: Array.from({ length: 6 }, (_, i) => ({ value: `d${i}`, partition: 0 })) })
    await producer.disconnect()
    const admin = kafka.admin()
    await admin.connect()
    await admin.fetchTopicMetadata({ topics: [topic] })
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] })
    const [offsets] = await admin.fetchTopicOffsets(topic)
    await admin.disconnect()
    assert.equal(offsets?.low, '4')
    assert.deepEqual(
      (await readAll(kafka, topic, 2)).map((r) => r.value),
      ['d4', 'd5'],
    )
  })
})

describe('samsa broker --storage postgres: an embedded PostgreSQL in the data directory', { skip }, () => {
  const freshDir = freshDirs('samsa-pg-broker-')
  const start = (dir: string, detached = false) =>
    spawnBroker(dir, ['--storage', 'postgres'], { startTimeoutMs: 60_000, detached })

  /** Pids of the processes whose command line has `text`. */
  const pidsWith = (text: string): number[] =>
    execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(text))
      .map((line) => Number.parseInt(line, 10))
  /** PostgreSQL servers of `dir` (the postmaster names its directory). */
  const serversOf = (dir: string): number[] => pidsWith(`-D ${dir}/postgres`)
  /** The processes hosting them (storage/postgres/embedded-process.ts). */
  const databaseProcessesOf = (dir: string): number[] => pidsWith(`embedded-process.js ${dir}`)

  async function produce(bootstrap: string, topic: string, count: number): Promise<void> {
    const producer = kafkajsClient(bootstrap).producer({ idempotent: true })
    await producer.connect()
    for (let i = 0; i < count; i++)
      await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] })
    await producer.disconnect()
  }

  async function assertRecords(bootstrap: string, topic: string, count: number): Promise<void> {
    const read = await readAll(kafkajsClient(bootstrap), topic, count)
    assert.deepEqual(
      read.map((r) => r.value),
      Array.from({ length: count }, (_, i) => `v${i}`),
    )
  }

  test('Ctrl-C (SIGINT to its process group) stops it cleanly, its PostgreSQL last, and keeps the data', async () => {
    const dir = await freshDir()
    const topic = 'pg-ctrl-c'
    // Detached as a shell's job is: the SIGINT goes to every process of the group, as a terminal's
    // Ctrl-C does.
    const first = await start(dir, true)
    await produce(first.bootstrap, topic, 20)
    const exited = once(first.child, 'close')
    process.kill(-(first.child.pid as number), 'SIGINT')
    const [code] = (await exited) as [number | null]
    assert.equal(code, 0, first.output())
    assert.match(first.output(), /"msg":"samsa broker stopped"/)
    const complaints = first
      .output()
      .split('\n')
      .filter((line) => /"level":(4|5|6)0/.test(line))
    assert.deepEqual(complaints, [], 'warnings or errors while stopping')
    assert.deepEqual(serversOf(dir), [], 'the broker exited before its PostgreSQL stopped')

    const second = await start(dir)
    try {
      await assertRecords(second.bootstrap, topic, 20)
    } finally {
      assert.equal(await second.stop('SIGINT'), 0)
    }
    assert.deepEqual(serversOf(dir), [])
  })

  test('keeps what it acknowledged through kill -9, and leaves no PostgreSQL running', async () => {
    const dir = await freshDir()
    const topic = 'pg-kill'
    const first = await start(dir)
    await produce(first.bootstrap, topic, 20)
    await first.stop('SIGKILL')
    // The process hosting PostgreSQL stops it once its broker is gone.
    await waitUntil('PostgreSQL stopped', () => serversOf(dir).length === 0, { timeoutMs: 30_000 })

    const second = await start(dir)
    await assertRecords(second.bootstrap, topic, 20)
    // With the database process killed as well, PostgreSQL runs on: the next start takes it over.
    const [database] = databaseProcessesOf(dir)
    assert.ok(database !== undefined, 'no database process')
    process.kill(database, 'SIGKILL')
    await second.stop('SIGKILL')
    assert.equal(serversOf(dir).length, 1)

    const third = await start(dir)
    try {
      assert.match(third.output(), /stopping the embedded PostgreSQL a previous broker left running/)
      await assertRecords(third.bootstrap, topic, 20)
    } finally {
      assert.equal(await third.stop('SIGTERM'), 0)
    }
    assert.deepEqual(serversOf(dir), [])
    assert.deepEqual(databaseProcessesOf(dir), [])
  })
})

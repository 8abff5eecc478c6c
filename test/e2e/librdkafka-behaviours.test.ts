/**
 * Broker behaviours librdkafka depends on, through kcat (Debian's librdkafka) and
 * @confluentinc/kafka-javascript (librdkafka 2.15, flexible Fetch versions):
 * - a consumer whose position is out of range (past the log end, or below the log start after
 *   DeleteRecords) gets an empty record set with OFFSET_OUT_OF_RANGE, so auto.offset.reset runs
 *   and it reads on (a null record set made librdkafka refuse the whole response forever);
 * - a batch with refused records fails exactly those records with INVALID_RECORD and the others
 *   with INVALID_DIFFERENT_RECORD (KIP-467), with no retry, alone or beside other batches.
 * Each client's tests are skipped with a message where it is missing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { CONFLUENT_MISSING, confluentNative, kafkajsClient } from '../helpers/clients.ts'
import type { NativeClient, NativeMessage } from '../helpers/confluent-types.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'

let broker: TestBroker

before(async () => {
  broker = await startBroker()
})
after(() => broker.close())

/** A topic holding records 0-4; with `deleteBelow`, the records before it are deleted (DeleteRecords). */
async function seeded(prefix: string, deleteBelow?: number): Promise<string> {
  const topic = uniqueName(prefix)
  await broker.createTopic(topic)
  await broker.produce(
    topic,
    [0, 1, 2, 3, 4].map((i) => ({ partition: 0, value: `old ${i}` })),
  )
  if (deleteBelow !== undefined) {
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    await admin.fetchTopicMetadata({ topics: [topic] })
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(deleteBelow) }] })
    await admin.disconnect()
  }
  return topic
}

describe('kcat: out-of-range positions are reset by auto.offset.reset', {
  skip: hasKcat ? false : KCAT_MISSING,
}, () => {
  const consume = (topic: string, offset: number, reset: string, extra: string[] = []) =>
    kcat([
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      topic,
      '-p',
      '0',
      '-o',
      String(offset),
      '-X',
      `auto.offset.reset=${reset}`,
      '-f',
      '%o\n',
      ...extra,
    ])

  test('past the log end with earliest: reads from the first record', async () => {
    const topic = await seeded('kcat-oor-earliest')
    assert.equal(await consume(topic, 100, 'earliest', ['-c', '5']), '0\n1\n2\n3\n4\n')
  })

  test('past the log end with latest: waits at the end and reads what comes next', async () => {
    const topic = await seeded('kcat-oor-latest')
    // -e: exits at the end of the partition, which it reaches only once reset to 5.
    assert.equal(await consume(topic, 100, 'latest', ['-e']), '')
  })

  test('below the log start after DeleteRecords with earliest: reads from the new log start', async () => {
    const topic = await seeded('kcat-oor-deleted', 3)
    assert.equal(await consume(topic, 1, 'earliest', ['-c', '2']), '3\n4\n')
  })
})

const confluent = confluentNative()

describe('@confluentinc/kafka-javascript (librdkafka 2.15)', { skip: confluent ? false : CONFLUENT_MISSING }, () => {
  // node:test runs a suite's body only when it is not skipped, so the package is there.
  const { KafkaConsumer, Producer, CODES } = confluent!

  const connected = <C extends NativeClient>(client: C): Promise<C> =>
    new Promise((resolve, reject) => client.connect({}, (err) => (err ? reject(err) : resolve(client))))
  const disconnected = (client: NativeClient): Promise<void> => new Promise((resolve) => client.disconnect(resolve))

  /** Assigns partition 0 at `offset` and collects what arrives until `until` holds. */
  async function consumeFrom(
    topic: string,
    offset: number,
    reset: string,
    until: (received: NativeMessage[]) => boolean,
    meanwhile?: () => Promise<void>,
  ): Promise<number[]> {
    const consumer = await connected(
      new KafkaConsumer(
        { 'metadata.broker.list': broker.bootstrap, 'group.id': uniqueName('oor'), 'enable.auto.commit': false },
        { 'auto.offset.reset': reset },
      ),
    )
    const received: NativeMessage[] = []
    try {
      consumer.on('data', (m) => received.push(m))
      consumer.assign([{ topic, partition: 0, offset }])
      consumer.consume()
      await broker.waitFor(
        async () => {
          await meanwhile?.()
          return until(received)
        },
        { message: `records from ${topic}`, timeoutMs: 20_000 },
      )
    } finally {
      await disconnected(consumer)
    }
    return received.map((m) => m.offset)
  }

  test('past the log end with earliest: reset to the first record and reads on', async () => {
    const topic = await seeded('ck-oor-earliest')
    assert.deepEqual(await consumeFrom(topic, 100, 'earliest', (r) => r.length >= 5), [0, 1, 2, 3, 4])
  })

  test('past the log end with latest: reset to the end, reads only what comes after', async () => {
    const topic = await seeded('ck-oor-latest')
    let next = 5
    // Records keep arriving until one is read: whichever comes first after the reset, none is old.
    const offsets = await consumeFrom(
      topic,
      100,
      'latest',
      (r) => r.length > 0,
      async () => {
        await broker.produce(topic, { partition: 0, value: `new ${next++}` })
      },
    )
    assert.ok(offsets.length > 0 && offsets.every((o) => o >= 5), `read ${offsets}`)
  })

  test('below the log start after DeleteRecords with earliest: reset to the log start', async () => {
    const topic = await seeded('ck-oor-deleted', 3)
    assert.deepEqual(await consumeFrom(topic, 1, 'earliest', (r) => r.length >= 2), [3, 4])
  })

  /** Sends `keyless` (per partition: which of its 100 records have no key) and returns each record's delivery code. */
  async function deliver(topic: string, keyless: Map<number, (i: number) => boolean>): Promise<Map<number, number[]>> {
    const producer = await connected(
      new Producer({ 'metadata.broker.list': broker.bootstrap, dr_cb: true, 'linger.ms': 200, retries: 5 }),
    )
    const codes = new Map<number, number[]>([...keyless.keys()].map((p) => [p, []]))
    let reported = 0
    producer.on('delivery-report', (err, report) => {
      codes.get(report.partition)?.push(err === null ? 0 : err.code)
      reported++
    })
    producer.setPollInterval(20)
    try {
      for (const [partition, noKey] of keyless) {
        for (let i = 0; i < 100; i++) {
          producer.produce(topic, partition, Buffer.from(`v${i}`), noKey(i) ? null : Buffer.from(`k${i}`))
        }
      }
      await broker.waitFor(() => reported === 100 * keyless.size, { message: 'delivery reports', timeoutMs: 20_000 })
    } finally {
      await disconnected(producer)
    }
    return codes
  }

  const expected = (bad: (i: number) => boolean) =>
    Array.from({ length: 100 }, (_, i) =>
      bad(i) ? CODES.ERRORS.ERR_INVALID_RECORD : CODES.ERRORS.ERR__INVALID_DIFFERENT_RECORD,
    )

  test('a compacted topic fails exactly the keyless records, the rest as INVALID_DIFFERENT_RECORD, no retry', async () => {
    const topic = uniqueName('ck-keyless')
    await broker.createTopic({ name: topic, partitions: 2, configs: { 'cleanup.policy': 'compact' } })
    const produces = broker.faults.intercept('Produce', () => undefined)
    try {
      const tenth = (i: number) => i % 10 === 9
      const one = await deliver(topic, new Map([[0, tenth]]))
      assert.deepEqual(one.get(0), expected(tenth))
      assert.equal(produces.hits, 1, 'refused records are not retried')

      // Both partitions' batches in one request: each partition's own records are listed.
      const twentieth = (i: number) => i % 20 === 0
      const two = await deliver(
        topic,
        new Map([
          [0, tenth],
          [1, twentieth],
        ]),
      )
      assert.deepEqual(two.get(0), expected(tenth))
      assert.deepEqual(two.get(1), expected(twentieth))
    } finally {
      produces.remove()
    }
    assert.deepEqual(await broker.offsets(topic), { logStartOffset: 0, highWatermark: 0, lastStableOffset: 0 })
  })
})

/**
 * Produce requests larger than a socket read (~64 KiB) are gathered from several chunks into
 * buffers that a connection reuses once a request is answered, where the storage engine keeps
 * no reference to the appended bytes (the local engine). Many such requests in flight on one
 * connection must still land byte for byte, on an engine that reuses them and on one that may not.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { freshDirs } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const freshDir = freshDirs('samsa-large-requests-')
/** Concurrent sends per acks setting; each a request of MESSAGES values of VALUE_BYTES. */
const SENDS = 8
const MESSAGES = 3
const VALUE_BYTES = 100_000
/** Reading back takes a second or two; corrupted batches would leave it short of the count. */
const READ_DEADLINE_MS = 60_000

/** One send's values: random, so that bytes of another request in their place would show. */
function values(): string[] {
  return Array.from({ length: MESSAGES }, () => randomBytes((VALUE_BYTES * 3) / 4).toString('base64'))
}

/** Every value of the topic, read from the beginning by a kafkajs consumer. */
async function readAll(broker: Broker, topic: string, count: number): Promise<string[]> {
  const consumer = kafkajsClient(broker.bootstrap).consumer({ groupId: `reader-${topic}` })
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got: string[] = []
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`read ${got.length} of ${count} records in ${READ_DEADLINE_MS} ms`)),
        READ_DEADLINE_MS,
      )
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(message.value?.toString() ?? '')
            if (got.length === count) resolve()
          },
        })
        .catch(reject)
    }).finally(() => clearTimeout(timer))
    return got
  } finally {
    await consumer.disconnect()
  }
}

function assertSameValues(got: string[], sent: string[]): void {
  assert.equal(got.length, sent.length)
  assert.deepEqual([...got].sort(), [...sent].sort())
}

for (const engine of ['local', 'memory'] as const) {
  describe(`large produce requests in flight together (${engine} engine)`, () => {
    let broker: Broker

    before(async () => {
      broker =
        engine === 'local' ? await startBroker({ storage: 'local', dataDir: await freshDir() }) : await startBroker()
    })
    after(() => broker.close())

    test('kafkajs: concurrent sends on one connection, acks=1 and acks=all, read back byte for byte', async () => {
      const kafka = kafkajsClient(broker.bootstrap)
      const admin = kafka.admin()
      const producer = kafka.producer()
      try {
        await admin.connect()
        await admin.createTopics({ topics: [{ topic: 'kafkajs-large', numPartitions: 1 }] })
        await producer.connect()
        const sent: string[] = []
        for (const acks of [1, -1]) {
          const sends = Array.from({ length: SENDS }, () => {
            const batch = values()
            sent.push(...batch)
            return producer.send({ topic: 'kafkajs-large', acks, messages: batch.map((value) => ({ value })) })
          })
          for (const [res] of await Promise.all(sends)) assert.equal(res?.errorCode, 0)
        }
        assertSameValues(await readAll(broker, 'kafkajs-large', sent.length), sent)
      } finally {
        await producer.disconnect()
        await admin.disconnect()
      }
    })

    test('@platformatic/kafka: concurrent sends on one connection, acks=1 and acks=all, read back byte for byte', async () => {
      const plt = await platformatic()
      const producer = new plt.Producer({
        clientId: 'large',
        bootstrapBrokers: [broker.bootstrap],
        serializers: plt.stringSerializers,
        autocreateTopics: true,
      })
      try {
        const sent: string[] = []
        for (const acks of [1, -1]) {
          const sends = Array.from({ length: SENDS }, () => {
            const batch = values()
            sent.push(...batch)
            return producer.send({
              acks,
              messages: batch.map((value) => ({ topic: 'plt-large', partition: 0, value })),
            })
          })
          for (const r of await Promise.all(sends)) assert.equal(r.offsets?.length, 1)
        }
        assertSameValues(await readAll(broker, 'plt-large', sent.length), sent)
      } finally {
        await producer.close()
      }
    })
  })
}

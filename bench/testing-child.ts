/**
 * A fresh process for the samsa/testing measurements (started by testing.ts): 100 startBroker()
 * and close() in a row (the first one cold, in this fresh process), as many with a 3-broker view,
 * the RSS with one test broker running, then the time from startBroker() to a first record produced and consumed by kafkajs.
 */
import { createRequire } from 'node:module'

const STARTS = Number(process.argv[2] ?? 100)
const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6

const t0 = process.hrtime.bigint()
// The bundle the package's `samsa/testing` entry point serves (npm run build).
const { startBroker } = (await import(
  new URL('../bundle/testing/index.js', import.meta.url).href
)) as typeof import('../src/testing/index.ts')
const importMs = ms(t0)

const starts: number[] = []
for (let i = 0; i < STARTS; i++) {
  const t = process.hrtime.bigint()
  const broker = await startBroker({ topics: [{ name: 'orders', partitions: 3 }] })
  starts.push(ms(t))
  await broker.close()
}

const clusterStarts: number[] = []
for (let i = 0; i < STARTS; i++) {
  const t = process.hrtime.bigint()
  const broker = await startBroker({ brokers: 3, topics: [{ name: 'orders', partitions: 3 }] })
  clusterStarts.push(ms(t))
  await broker.close()
}

const idle = await startBroker()
await new Promise((resolve) => setTimeout(resolve, 500))
const rss = process.memoryUsage().rss
await idle.close()

// Time to a first record through a real client: start, produce, consume in a group.
const require = createRequire(import.meta.url)
const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs')
const t1 = process.hrtime.bigint()
const broker = await startBroker({ topics: ['first'] })
const kafka = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING })
const producer = kafka.producer()
await producer.connect()
await producer.send({ topic: 'first', messages: [{ value: 'hello' }] })
const producedMs = ms(t1)
const consumer = kafka.consumer({ groupId: 'bench', maxWaitTimeInMs: 50 })
await consumer.connect()
await consumer.subscribe({ topic: 'first', fromBeginning: true })
const consumed = new Promise<void>((resolve) => {
  void consumer.run({ eachMessage: async () => resolve() })
})
await consumed
const firstRecordMs = ms(t1)
await consumer.disconnect()
await producer.disconnect()
await broker.close()

process.send?.({ importMs, starts, clusterStarts, rss, producedMs, firstRecordMs }, undefined, {}, () =>
  process.disconnect(),
)

/**
 * Captures request frames that real clients send, as golden vectors for the codec tests:
 * a recording TCP proxy sits in front of an in-process broker while kafkajs, @platformatic/kafka
 * and kcat (when installed) run a short scenario. Each distinct (API, version) a client sends is
 * written once to test/fixtures/golden/<client>/<api>-v<version>.bin (the frame without its
 * length prefix). Run after `npm run build`: `node dist/scripts/capture-golden.js`.
 */
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import { startBroker } from '../src/broker/broker.ts'
import { API_DESCRIPTORS } from '../src/protocol/generated/index.ts'

const out = fileURLToPath(new URL('../../test/fixtures/golden/', import.meta.url))

/** A proxy that forwards bytes both ways and cuts the client's stream into frames. */
function recordingProxy(target: number, onFrame: (frame: Buffer) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    let pending = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk)
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0)
        onFrame(Buffer.from(pending.subarray(4, 4 + size)))
        pending = pending.subarray(4 + size)
      }
    })
    upstream.on('data', (chunk) => client.write(chunk))
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 })
    }),
  )
}

const NAMES = new Map(API_DESCRIPTORS.map((d) => [d.apiKey, d.name]))

async function capture(client: string, scenario: (bootstrap: string) => Promise<void>): Promise<void> {
  const broker = await startBroker()
  const dir = `${out}${client}/`
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const seen = new Set<string>()
  const { server, port } = await recordingProxy(broker.port, (frame) => {
    const key = frame.readInt16BE(0)
    const version = frame.readInt16BE(2)
    const name = `${NAMES.get(key) ?? `api${key}`}-v${version}`
    if (seen.has(name)) return
    seen.add(name)
    writeFileSync(`${dir}${name}.bin`, frame)
  })
  // Clients learn the broker's advertised address from Metadata: point it at the proxy.
  broker.core.cluster.advertise(broker.core.nodeId, '127.0.0.1', port)
  try {
    await scenario(`127.0.0.1:${port}`)
  } finally {
    server.close()
    await broker.close()
  }
  process.stdout.write(`${client}: ${[...seen].sort().join(', ')}\n`)
}

async function kafkajsScenario(bootstrap: string): Promise<void> {
  const { Kafka, logLevel, CompressionTypes } = await import('kafkajs')
  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'golden-kafkajs', logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [{ topic: 'golden', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '86400000' }] }],
  })
  await admin.fetchTopicOffsets('golden')
  await admin.fetchTopicOffsetsByTimestamp('golden', 1_700_000_000_000)
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({
    topic: 'golden',
    compression: CompressionTypes.GZIP,
    messages: [{ key: 'k', value: 'v', timestamp: '1700000000000', headers: { h: 'x' } }],
  })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: 'golden-group', heartbeatInterval: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: 'golden', fromBeginning: true })
  await new Promise<void>((resolve) => {
    void consumer.run({ eachMessage: async () => resolve() })
  })
  await new Promise((r) => setTimeout(r, 300))
  await consumer.disconnect()
  await admin.describeGroups(['golden-group'])
  await admin.listGroups()
  await admin.deleteTopics({ topics: ['golden'] })
  await admin.disconnect()
}

async function platformaticScenario(bootstrap: string): Promise<void> {
  const plt = await import('@platformatic/kafka')
  const admin = new plt.Admin({ clientId: 'golden-platformatic', bootstrapBrokers: [bootstrap] })
  await admin.createTopics({ topics: ['golden'], partitions: 1, replicas: 1 })
  await admin.close()
  const producer = new plt.Producer({
    clientId: 'golden-platformatic',
    bootstrapBrokers: [bootstrap],
    serializers: plt.stringSerializers,
  })
  await producer.send({
    messages: [{ topic: 'golden', key: 'k', value: 'v', partition: 0, timestamp: 1_700_000_000_000n }],
  })
  await producer.close()
  const consumer = new plt.Consumer({ clientId: 'golden-platformatic', groupId: 'g', bootstrapBrokers: [bootstrap] })
  const md = await consumer.metadata({ topics: ['golden'] })
  const topicId = md.topics.get('golden')?.id as string
  await consumer.fetch({
    node: 1,
    topics: [
      {
        topicId,
        partitions: [
          { partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 },
        ],
      },
    ],
    maxWaitTime: 10,
    minBytes: 1,
    maxBytes: 1 << 20,
  })
  await consumer.listOffsets({ topics: ['golden'] })
  await consumer.close()
}

/** Runs kcat without blocking the event loop, which serves the in-process broker. */
function kcat(args: string[], input = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('kcat', args, (err) => (err ? reject(err) : resolve()))
    child.stdin?.end(input)
  })
}

async function kcatScenario(bootstrap: string): Promise<void> {
  await kcat(['-P', '-b', bootstrap, '-t', 'golden', '-K:', '-z', 'snappy', '-H', 'h=x'], 'k:v\n')
  await kcat(['-C', '-b', bootstrap, '-t', 'golden', '-o', 'beginning', '-e', '-q'])
  await kcat(['-Q', '-b', bootstrap, '-t', 'golden:0:1700000000000'])
  await kcat(['-L', '-b', bootstrap])
  await kcat(['-b', bootstrap, '-G', 'golden-group', 'golden', '-e', '-q', '-X', 'auto.offset.reset=earliest'])
}

await capture('kafkajs', kafkajsScenario)
await capture('platformatic', platformaticScenario)
try {
  execFileSync('kcat', ['-V'], { stdio: 'ignore' })
  await capture('kcat', kcatScenario)
} catch (err) {
  process.stdout.write(`kcat: skipped (${(err as Error).message})\n`)
}

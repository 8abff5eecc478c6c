/**
 * Socket fuzzing: a broker child process serves a well-behaved kafkajs producer and consumer
 * group while other connections send tens of thousands of random, truncated and mutated frames
 * (mutations of requests captured from real clients in test/fixtures/golden: flipped bytes, cut
 * bodies, wrong API versions, negative and huge counts, invalid UTF-8, oversized and lying
 * length prefixes, plain garbage). The broker must not crash, must keep the good clients going
 * (no message waits more than a bound), and its RSS must stay bounded.
 *
 * The PRNG seed is printed; FUZZ_SEED=<n> replays a run.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { kafkajsClient } from '../helpers/clients.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const FUZZ_MS = 12_000
const WORKERS = 8
/** No message of the good producer may take longer than this to reach the consumer. */
const MAX_LATENCY_MS = 5_000
const MAX_RSS_BYTES = 400 * 1024 * 1024

const BROKER_MODULE = fileURLToPath(new URL('../../src/broker/broker.js', import.meta.url))
const GOLDEN = fileURLToPath(new URL('../../../test/fixtures/golden', import.meta.url))

/** Request frames (header + body, no length prefix) captured from real clients. */
function corpus(): Buffer[] {
  const out: Buffer[] = []
  for (const client of readdirSync(GOLDEN)) {
    for (const file of readdirSync(join(GOLDEN, client))) {
      if (file.endsWith('.bin')) out.push(readFileSync(join(GOLDEN, client, file)))
    }
  }
  return out
}

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function withLength(body: Buffer, length = body.length): Buffer {
  const prefix = Buffer.alloc(4)
  prefix.writeInt32BE(length)
  return Buffer.concat([prefix, body])
}

/** One fuzzed chunk of bytes to write, usually one frame. */
function fuzzFrame(rand: () => number, frames: Buffer[]): Buffer {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)] as T
  const int = (n: number): number => Math.floor(rand() * n)
  const body = Buffer.from(pick(frames))
  const pos = (): number => 8 + int(Math.max(1, body.length - 12))
  switch (int(11)) {
    case 0: // flipped bytes
      for (let i = 0, n = 1 + int(8); i < n; i++) body[int(body.length)] = int(256)
      return withLength(body)
    case 1: // cut body, honest length
      return withLength(body.subarray(0, int(body.length)))
    case 2: // wrong API version
      body.writeInt16BE(pick([-1, -32768, 32767, 99, 18, 0, 1]), 2)
      return withLength(body)
    case 3: // negative count or length
      if (body.length >= 16) body.writeInt32BE(pick([-1, -2, -2147483648, -int(1e6)]), Math.min(pos(), body.length - 4))
      return withLength(body)
    case 4: // huge count or length
      if (body.length >= 16)
        body.writeInt32BE(pick([2147483647, 1 << 30, 65536, 1e6]), Math.min(pos(), body.length - 4))
      return withLength(body)
    case 5: // invalid UTF-8 in place of name bytes
      for (let i = 0, p = pos(); i < 4 && p + i < body.length; i++)
        body[p + i] = pick([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0])
      return withLength(body)
    case 6: // garbage
      return withLength(Buffer.from(Array.from({ length: int(2048) }, () => int(256))))
    case 7: // a length prefix larger than socket.request.max.bytes, or negative
      return withLength(body, pick([0x7fffffff, 200 * 1024 * 1024, -1, -100]))
    case 8: // a lying length prefix: the stream desynchronises
      return withLength(body, Math.max(0, body.length + int(64) - 32))
    case 9: // a short or empty frame
      return withLength(body.subarray(0, int(10)))
    default: // an unknown API key
      body.writeInt16BE(pick([-1, 999, 32767, 80 + int(100)]), 0)
      return withLength(body)
  }
}

interface ChildBroker {
  pid: number
  port: number
  stop(): Promise<void>
  exited(): boolean
  output(): string
}

/** An in-memory broker in a child process, so that its RSS is its own. */
async function spawnChildBroker(): Promise<ChildBroker> {
  const script = `
    const { startBroker } = await import(${JSON.stringify(BROKER_MODULE)})
    const broker = await startBroker({ config: { 'socket.request.max.bytes': '1048576' } })
    process.stdout.write('PORT ' + broker.port + '\\n')
    process.on('SIGTERM', () => broker.close().then(() => process.exit(0)))
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString()
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString()
      const m = /PORT (\d+)/.exec(output)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${output}`)))
  })
  return {
    pid: child.pid as number,
    port,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Sends fuzzed frames until `until`, reconnecting whenever the broker closes the connection. */
async function fuzzWorker(port: number, seed: number, until: number, frames: Buffer[]): Promise<number> {
  const rand = prng(seed)
  let sent = 0
  while (Date.now() < until) {
    const socket: Socket = connect({ port, host: '127.0.0.1' })
    socket.on('data', () => undefined)
    let closed = false
    const done = new Promise<void>((resolve) => {
      socket.on('close', () => {
        closed = true
        resolve()
      })
    })
    socket.on('error', () => undefined)
    await Promise.race([once(socket, 'connect').catch(() => undefined), done])
    // A connection gets a few frames to a few hundred before the fuzzer moves on.
    const budget = 1 + Math.floor(rand() * 300)
    for (let i = 0; i < budget && !closed && Date.now() < until; i++) {
      const ok = socket.write(fuzzFrame(rand, frames))
      sent++
      if (!ok)
        await Promise.race([once(socket, 'drain').catch(() => undefined), done, new Promise((r) => setTimeout(r, 500))])
      if (i % 32 === 31) await new Promise((r) => setImmediate(r))
    }
    socket.destroy()
    await done
  }
  return sent
}

let broker: ChildBroker

before(async () => {
  broker = await spawnChildBroker()
})

after(async () => {
  await broker?.stop()
})

describe('socket fuzzing', () => {
  it('survives tens of thousands of bad frames while good clients keep going', { timeout: 60_000 }, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
    console.log(`fuzz seed ${seed} (replay with FUZZ_SEED=${seed})`)
    const frames = corpus()
    assert.ok(frames.length > 10)
    const bootstrap = `127.0.0.1:${broker.port}`
    const kafka = kafkajsClient(bootstrap, { retry: { retries: 10, initialRetryTime: 100 } })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'good', numPartitions: 2 }] })
    await admin.disconnect()

    const producer = kafka.producer()
    const consumer = kafka.consumer({ groupId: 'good-group', sessionTimeout: 10_000, heartbeatInterval: 1000 })
    await producer.connect()
    await consumer.connect()
    await consumer.subscribe({ topic: 'good', fromBeginning: true })
    const sentAt = new Map<string, number>()
    let received = 0
    let maxLatency = 0
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.value?.toString() ?? ''
        const at = sentAt.get(id)
        if (at !== undefined) {
          maxLatency = Math.max(maxLatency, Date.now() - at)
          sentAt.delete(id)
          received++
        }
      },
    })
    const rssBefore = rssOf(broker.pid)

    const until = Date.now() + FUZZ_MS
    const workers = Array.from({ length: WORKERS }, (_, i) => fuzzWorker(broker.port, seed + i, until, frames))
    let produced = 0
    let maxSendMs = 0
    let peakRss = rssBefore ?? 0
    const producing = (async () => {
      while (Date.now() < until) {
        const id = `m-${produced++}`
        const start = Date.now()
        sentAt.set(id, start)
        await producer.send({ topic: 'good', messages: [{ value: id }] })
        maxSendMs = Math.max(maxSendMs, Date.now() - start)
        peakRss = Math.max(peakRss, rssOf(broker.pid) ?? 0)
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    const counts = await Promise.all(workers)
    await producing
    const deadline = Date.now() + MAX_LATENCY_MS
    while (sentAt.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const frameCount = counts.reduce((a, b) => a + b, 0)
    console.log(
      `fuzz: ${frameCount} bad frames; good: ${produced} sent, ${received} received, max send ${maxSendMs} ms, ` +
        `max latency ${maxLatency} ms; broker RSS ${rssBefore} -> peak ${peakRss}`,
    )
    await consumer.disconnect()
    await producer.disconnect()

    assert.ok(!broker.exited(), `the broker died:\n${broker.output()}`)
    assert.ok(frameCount >= 20_000, `only ${frameCount} frames sent`)
    assert.equal(sentAt.size, 0, `${sentAt.size} messages never arrived`)
    assert.ok(maxSendMs < MAX_LATENCY_MS, `a produce took ${maxSendMs} ms`)
    assert.ok(maxLatency < MAX_LATENCY_MS, `a message took ${maxLatency} ms to arrive`)
    if (rssBefore !== null) assert.ok(peakRss < MAX_RSS_BYTES, `broker RSS reached ${peakRss} bytes`)
  })
})

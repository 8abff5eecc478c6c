/**
 * Exactly-once consume-transform-produce: a kafkajs loop (child process) reading `input` and
 * writing `output` in transactions that also commit its input offsets is killed with SIGKILL in
 * the middle of a transaction, then restarted with the same transactional id. The new instance
 * fences the old one (its open transaction is aborted) and resumes from the committed offsets:
 * a read_committed reader sees every output exactly once.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { decodeBatchesSync } from '../../src/protocol/records/batch.ts'
import { kafkajsClient } from '../helpers/clients.ts'

let broker: Broker

before(async () => {
  broker = await startBroker({ config: { 'group.min.session.timeout.ms': '500' } })
})
after(() => broker.close())

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const script = fileURLToPath(new URL('./fixtures/ctp-kafkajs.js', import.meta.url))

function start(args: string[]): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  let rest = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n')
    rest = parts.pop() ?? ''
    lines.push(...parts)
  })
  return { child, lines }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await wait(50)
  }
}

/** Values below the last stable offset that no aborted transaction covers (what read_committed sees). */
async function committedValues(topic: string): Promise<string[]> {
  const hw = (await broker.core.storage.offsets(topic, 0)).highWatermark
  const lso = broker.core.producers.lastStableOffset(topic, 0, hw)
  const read = await broker.core.storage.read(topic, 0, 0, 64 << 20, { minOneBatch: true, maxOffset: lso })
  const aborted = broker.core.producers.abortedTransactions(topic, 0, 0, lso)
  const out: string[] = []
  for (const batch of decodeBatchesSync(read.records)) {
    if (batch.isControl) continue
    const base = Number(batch.baseOffset)
    const isAborted = aborted.some(
      (a) => BigInt(a.producerId) === batch.producerId && a.firstOffset <= base && base <= a.lastOffset,
    )
    if (!isAborted) for (const r of batch.records) out.push(r.value?.toString() ?? '')
  }
  return out
}

test('a consume-transform-produce loop killed mid-transaction and restarted produces each output once', async () => {
  const kafka = kafkajsClient(broker.bootstrap)
  await broker.core.topics.create('ctp-in', 1, {})
  await broker.core.topics.create('ctp-out', 1, {})
  const producer = kafka.producer()
  await producer.connect()
  const total = 300
  for (let i = 0; i < total; i += 10) {
    await producer.send({
      topic: 'ctp-in',
      messages: Array.from({ length: 10 }, (_, j) => ({ value: `m${i + j}` })),
    })
  }
  await producer.disconnect()

  const first = start([broker.bootstrap, 'ctp-in', 'ctp-out', 'ctp-group', '3'])
  await until('the loop is inside its third transaction', () => first.lines.includes('mid'))
  first.child.kill('SIGKILL')
  await once(first.child, 'exit')
  const written = (await broker.core.storage.offsets('ctp-out', 0)).highWatermark
  assert.ok(written > 0, 'the killed loop wrote output')

  const second = start([broker.bootstrap, 'ctp-in', 'ctp-out', 'ctp-group', '0'])
  try {
    await until('every output committed', async () => (await committedValues('ctp-out')).length >= total).catch(
      (err: Error) => {
        throw new Error(`${err.message}; restarted loop printed: ${second.lines.slice(-5).join(' | ')}`)
      },
    )
    await wait(300)
  } finally {
    second.child.kill('SIGKILL')
    await once(second.child, 'exit')
  }
  const outputs = await committedValues('ctp-out')
  const expected = Array.from({ length: total }, (_, i) => `M${i}`)
  assert.deepEqual([...outputs].sort(), [...expected].sort())
  assert.equal(new Set(outputs).size, outputs.length, 'no output twice')
})

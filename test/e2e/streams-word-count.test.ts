/**
 * Streams groups (KIP-1071) with a real Kafka Streams application: Apache Kafka's kafka-streams
 * word count (test/java StreamsWordCount) with group.protocol=streams and exactly_once_v2, two
 * instances, one killed (SIGKILL) mid-way. The survivor takes over the dead instance's tasks once
 * its session ends, restores their counts from the changelog, and finishes: the last count per
 * word in the output topic, read read_committed, is exactly the count of the whole text. Skipped
 * where Java or Maven is missing.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Consumer, Producer } from 'kafkajs'
import { StreamsGroup } from '../../src/coordinator/streams/streams-group.ts'
import { startBroker } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import {
  hasJavaClient,
  JAVA_CLIENT_MISSING,
  type JavaProcess,
  javaProgram,
  startJavaProcess,
} from '../helpers/java-client.ts'

type StreamsEvent = { event: 'state'; state: string } | { event: 'error'; message: string } | { event: 'closed' }

/** What the Java Admin client's describeStreamsGroups and listStreamsGroupOffsets show. */
interface AdminView {
  state: string
  groupEpoch: number
  topologyEpoch: number
  subtopologies: number
  members: { processId: string; active: string[] }[]
  offsets: Record<string, number>
}

const APP = 'wordcount'
const INPUT = 'wc-input'
const OUTPUT = 'wc-output'
const PARTITIONS = 4
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu']

/** A deterministic text: line i holds a few words chosen by i. */
function text(lines: number): string[] {
  return Array.from({ length: lines }, (_, i) =>
    Array.from({ length: 1 + (i % 5) }, (_, j) => WORDS[(i * 7 + j * j + (i >> 4)) % WORDS.length]).join(' '),
  )
}

function countWords(lines: string[]): Map<string, string> {
  const counts = new Map<string, number>()
  for (const line of lines) for (const w of line.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1)
  return new Map([...counts].map(([w, n]) => [w, String(n)]))
}

const running = (p: JavaProcess<StreamsEvent>) => p.events.filter((e) => e.event === 'state').at(-1)

test('Kafka Streams word count over two instances, one killed mid-way, counts exactly as one run', {
  skip: hasJavaClient ? false : JAVA_CLIENT_MISSING,
  timeout: 120_000,
}, async (t) => {
  const broker = await startBroker({
    config: {
      // The killed instance's tasks move once its session ends; its open transaction is aborted after its timeout.
      'group.streams.session.timeout.ms': '3000',
      'group.streams.heartbeat.interval.ms': '500',
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
    },
    topics: [
      { name: INPUT, partitions: PARTITIONS },
      { name: OUTPUT, partitions: PARTITIONS },
    ],
  })
  const stateDir = mkdtempSync(join(tmpdir(), 'samsa-streams-'))
  const kafka = kafkajsClient(broker.bootstrap)
  const producer: Producer = kafka.producer()
  const consumer: Consumer = kafka.consumer({ groupId: 'wc-reader' })
  const instances: JavaProcess<StreamsEvent>[] = []
  t.after(async () => {
    for (const p of instances) await p.stop()
    await consumer.disconnect()
    await producer.disconnect()
    await broker.close()
    rmSync(stateDir, { recursive: true, force: true })
  })

  const lines = text(600)
  const expected = countWords(lines)
  const counts = new Map<string, string>()
  await producer.connect()
  const send = (part: string[]) =>
    producer.send({ topic: INPUT, messages: part.map((value, i) => ({ key: String(i % 17), value })) })
  await send(lines.slice(0, 300))

  await consumer.connect()
  await consumer.subscribe({ topic: OUTPUT, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      counts.set(String(message.key), String(message.value))
    },
  })

  const start = (name: string) => {
    const p = startJavaProcess<StreamsEvent>('StreamsWordCount', [
      'run',
      broker.bootstrap,
      APP,
      INPUT,
      OUTPUT,
      join(stateDir, name),
      'exactly_once_v2',
    ])
    instances.push(p)
    return p
  }
  const a = start('a')
  const b = start('b')
  const describe = () =>
    JSON.stringify({
      a: a.events,
      b: b.events,
      group: broker.core.groups.group(APP)?.state,
      counts: Object.fromEntries(counts),
      stderr: a.stderr().slice(-1500) + b.stderr().slice(-1500),
    })
  const group = () => broker.core.groups.group(APP)
  // Both instances run tasks, and some counts came out.
  await waitUntil(
    'both instances running with tasks, some counts out',
    () => {
      const g = group()
      if (!(g instanceof StreamsGroup) || g.members.size !== 2 || g.state !== 'Stable') return false
      const busy = [...g.members.values()].every((m) => m.assigned.active.size > 0)
      return busy && running(a)?.state === 'RUNNING' && running(b)?.state === 'RUNNING' && counts.size > 0
    },
    { timeoutMs: 60_000, describe },
  )
  // The Java Admin client sees the same group (StreamsGroupDescribe, OffsetFetch).
  const view = await javaProgram<AdminView>('StreamsWordCount', ['describe', broker.bootstrap, APP])
  assert.equal(view.state, 'Stable')
  assert.equal(view.subtopologies, 2)
  assert.equal(new Set(view.members.map((m) => m.processId)).size, 2, 'two processes')
  const tasks = view.members.flatMap((m) => m.active).sort()
  assert.deepEqual(tasks, ['0:0', '0:1', '0:2', '0:3', '1:0', '1:1', '1:2', '1:3'], 'every task once')
  a.child.kill('SIGKILL')
  await send(lines.slice(300))

  await waitUntil(
    'the counts of the whole text',
    () => [...expected].every(([w, n]) => counts.get(w) === n) && counts.size === expected.size,
    { timeoutMs: 60_000, describe },
  )
  const g = group()
  assert.ok(g instanceof StreamsGroup)
  assert.equal(g.members.size, 1, 'the killed instance left the group')
  // Once the survivor closed (its last transaction committed), the topic holds nothing more.
  await b.stop()
  assert.ok(b.events.some((e) => e.event === 'closed') && !b.events.some((e) => e.event === 'error'), describe())
  const last = new Map<string, string>()
  for (const r of await broker.records(OUTPUT, { isolation: 'read_committed' })) {
    last.set(String(r.key), String(r.value))
  }
  assert.deepEqual(new Map([...last].sort()), new Map([...expected].sort()))
  // Every line read and committed; then the empty group is deleted through the Admin client.
  const done = await javaProgram<AdminView & { deleted: boolean }>('StreamsWordCount', [
    'delete',
    broker.bootstrap,
    APP,
  ])
  assert.equal(done.state, 'Empty')
  const committed = Object.entries(done.offsets).filter(([tp]) => tp.startsWith(`${INPUT}-`))
  assert.equal(
    committed.reduce((n, [, o]) => n + o, 0),
    lines.length,
    'the input committed to its end',
  )
  assert.ok(done.deleted)
  assert.equal(broker.core.groups.group(APP), undefined, 'deleted')
})

/**
 * kafka-perf (issue 17): librdkafka's own performance client, rdkafka_performance, against samsa
 * (the CLI's broker, local engine), Apache Kafka's broker and librdkafka's in-memory mock cluster,
 * in one run on one machine. 1 KiB messages, one partition, every client a process of its own:
 * - produce acks=1 and acks=all, linger.ms=5, MESSAGES messages each;
 * - consume the acks=1 topic from the beginning (the mock keeps only the last ~5 MiB of a
 *   partition, so it serves much less: its figure is for what it kept);
 * - acks=all acknowledgement latency at 10k msg/s with linger.ms=0: from the produce call to the
 *   delivery report, per message (rdkafka_performance -l);
 * - produce→consume latency at 10k msg/s (acks=all, linger.ms=0), a consumer waiting at the end
 *   of the partition: from the produce call to the consumer's receipt, per message. The mock
 *   holds a fetch that finds nothing for its whole max wait (500 ms, librdkafka's
 *   fetch.wait.max.ms) and is not woken by a produce, so its figure says little.
 * Each topic is created by producing one message before it is measured, so that no run times a
 * topic's creation. Rounds alternate the brokers and start each afresh; with several rounds a
 * figure is the median, with the range of the rounds beside it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { KAFKA_VERSION, kafkaDist } from '../test/helpers/apache-kafka.ts'
import { machineBaseline } from './baselines.ts'
import { trackChild } from './children.ts'
import { startKafka, startMock, startSamsa, type Target } from './kafka-perf-targets.ts'
import { type RdkafkaTools, rdkafkaTools } from './kafka-perf-tools.ts'
import { fmt, median, percentile, processCpuMs, processRss, sorted, table, tempDir } from './util.ts'

const MESSAGES = 2_000_000
const MESSAGE_SIZE = 1024
const LATENCY_RATE = 10_000
const LATENCY_MESSAGES = 50_000
const RUN_TIMEOUT_MS = 300_000

const TOPICS = { acks1: 'perf-acks1', acksAll: 'perf-acksall', ackLatency: 'perf-ack-latency', e2e: 'perf-e2e' }

/** The issue's targets. */
const TARGET = {
  acks1VsMock: 0.6,
  acksAllVsMock: 0.55,
  acksAllVsAcks1: 0.9,
  ackP50Ms: 0.5,
  ackP99Ms: 2,
  e2eP99Ms: 5,
}

interface Produced {
  mbPerSec: number
  msgsPerSec: number
  /** The broker's CPU over the run, % of one core. */
  brokerCpu: number
  /** Of which its main thread (for samsa, the event loop; the rest is libuv's pool and V8's GC threads). */
  mainThreadCpu: number
}

interface Consumed {
  mbPerSec: number
  messages: number
}

interface Latency {
  p50Ms: number
  p99Ms: number
  /** Messages per second the producer achieved. */
  rate: number
}

interface Figures {
  acks1?: Produced
  acksAll?: Produced
  consume?: Consumed
  ackLatency?: Latency
  e2e?: Latency
  peakRssMb?: number
  errors: string[]
}

type BrokerName = 'samsa' | 'Kafka' | 'mock'

/** One rdkafka_performance process run to its end; its stdout. */
function perf(tools: RdkafkaTools, args: string[], onLine?: (line: string) => void): Promise<string> {
  return perfProcess(tools, args, onLine).done
}

function perfProcess(
  tools: RdkafkaTools,
  args: string[],
  onLine?: (line: string) => void,
): { child: ChildProcess; done: Promise<string> } {
  const child = spawn(tools.perf, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  trackChild(child)
  const out: string[] = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    out.push(line)
    onLine?.(line)
  })
  let err = ''
  child.stderr.on('data', (d: Buffer) => {
    err = `${err}${d.toString()}`.slice(-4000)
  })
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      const text = out.join('\n')
      if (code === 0) resolve(text)
      else
        reject(
          new Error(
            `rdkafka_performance ${args.join(' ')} ended with ${code ?? signal}:\n${text.slice(-1500)}\n${err}`,
          ),
        )
    })
  })
  return { child, done }
}

const producer = (bootstrap: string, topic: string, count: number, acks: number, lingerMs: number): string[] => [
  '-P',
  '-b',
  bootstrap,
  '-t',
  topic,
  '-p',
  '0',
  '-s',
  String(MESSAGE_SIZE),
  '-c',
  String(count),
  '-a',
  String(acks),
  '-X',
  `linger.ms=${lingerMs}`,
]

/** The last summary line of a producer: every message delivered, none failed. */
function parseProduced(out: string, count: number): { mbPerSec: number; msgsPerSec: number } {
  const re =
    /(\d+) messages produced \(\d+ bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) in \d+ms: (\d+) msgs\/s and ([\d.]+) MB\/s/g
  const m = [...out.matchAll(re)].at(-1)
  if (m === undefined) throw new Error(`no producer summary in:\n${out.slice(-1500)}`)
  if (Number(m[2]) !== count || Number(m[3]) !== 0) throw new Error(`delivered ${m[2]} of ${count}, ${m[3]} failed`)
  return { msgsPerSec: Number(m[4]), mbPerSec: Number(m[5]) }
}

async function createTopic(tools: RdkafkaTools, bootstrap: string, topic: string): Promise<void> {
  parseProduced(await perf(tools, producer(bootstrap, topic, 1, -1, 0)), 1)
}

async function produce(tools: RdkafkaTools, target: Target, topic: string, acks: number): Promise<Produced> {
  const cpu = (): number => processCpuMs(target.pid) ?? Number.NaN
  const mainCpu = (): number => processCpuMs(target.pid, target.pid) ?? Number.NaN
  const [cpuBefore, mainBefore, start] = [cpu(), mainCpu(), performance.now()]
  const out = await perf(tools, producer(target.bootstrap, topic, MESSAGES, acks, 5))
  const percent = (ms: number): number => (100 * ms) / (performance.now() - start)
  return {
    ...parseProduced(out, MESSAGES),
    brokerCpu: percent(cpu() - cpuBefore),
    mainThreadCpu: percent(mainCpu() - mainBefore),
  }
}

async function consume(tools: RdkafkaTools, bootstrap: string, topic: string): Promise<Consumed> {
  const out = await perf(tools, [
    '-C',
    '-b',
    bootstrap,
    '-t',
    topic,
    '-p',
    '0',
    '-o',
    'beginning',
    '-e',
    '-X',
    'enable.partition.eof=true',
  ])
  const re = /(\d+) messages \(\d+ bytes\) consumed in \d+ms: \d+ msgs\/s \(([\d.]+) MB\/s\)/g
  const m = [...out.matchAll(re)].at(-1)
  if (m === undefined) throw new Error(`no consumer summary in:\n${out.slice(-1500)}`)
  return { messages: Number(m[1]), mbPerSec: Number(m[2]) }
}

/** p50/p99 of the per-message latencies (µs, one a line) that -A wrote. */
async function latencies(file: string, rate: number): Promise<Latency> {
  const us = (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map(Number)
  if (us.length === 0) throw new Error('no latency samples')
  const s = sorted(us)
  return { p50Ms: percentile(s, 50) / 1000, p99Ms: percentile(s, 99) / 1000, rate }
}

/** acks=all, linger 0, at LATENCY_RATE: produce call → delivery report. */
async function ackLatency(tools: RdkafkaTools, bootstrap: string, dir: string): Promise<Latency> {
  const file = join(dir, 'ack-latency.txt')
  const args = producer(bootstrap, TOPICS.ackLatency, LATENCY_MESSAGES, -1, 0)
  const out = await perf(tools, [...args, '-r', String(LATENCY_RATE), '-l', '-A', file])
  return latencies(file, parseProduced(out, LATENCY_MESSAGES).msgsPerSec)
}

/** The same producer with a consumer waiting at the end of the partition: produce call → receipt. */
async function endToEnd(tools: RdkafkaTools, bootstrap: string, dir: string): Promise<Latency> {
  const file = join(dir, 'e2e-latency.txt')
  let atEnd: () => void = () => {}
  const reachedEnd = new Promise<void>((resolve) => {
    atEnd = resolve
  })
  const consumer = perfProcess(
    tools,
    [
      '-C',
      '-b',
      bootstrap,
      '-t',
      TOPICS.e2e,
      '-p',
      '0',
      '-o',
      'end',
      '-c',
      String(LATENCY_MESSAGES),
      '-l',
      '-A',
      file,
      '-X',
      'enable.partition.eof=true',
    ],
    (line) => {
      if (line.includes('reached end')) atEnd()
    },
  )
  try {
    await Promise.race([reachedEnd, consumer.done])
    const args = producer(bootstrap, TOPICS.e2e, LATENCY_MESSAGES, -1, 0)
    const out = await perf(tools, [...args, '-r', String(LATENCY_RATE), '-l'])
    const rate = parseProduced(out, LATENCY_MESSAGES).msgsPerSec
    // The consumer stops by itself after the last message; SIGINT makes a late one write its file.
    const late = setTimeout(() => consumer.child.kill('SIGINT'), 30_000)
    await consumer.done.finally(() => clearTimeout(late))
    return await latencies(file, rate)
  } finally {
    consumer.child.kill('SIGKILL')
  }
}

/** Every run against one broker; a failed run leaves its figure out and says why. */
async function measure(tools: RdkafkaTools, target: Target): Promise<Figures> {
  const figures: Figures = { errors: [] }
  const dir = await tempDir('kafka-perf-client')
  let peakRss = 0
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, processRss(target.pid) ?? 0)
  }, 100)
  const step = async <K extends keyof Figures>(key: K, run: () => Promise<Figures[K]>): Promise<void> => {
    try {
      figures[key] = await run()
    } catch (err) {
      figures.errors.push(`${key}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  try {
    for (const topic of Object.values(TOPICS)) await createTopic(tools, target.bootstrap, topic)
    await step('acks1', () => produce(tools, target, TOPICS.acks1, 1))
    await step('acksAll', () => produce(tools, target, TOPICS.acksAll, -1))
    await step('consume', () => consume(tools, target.bootstrap, TOPICS.acks1))
    await step('ackLatency', () => ackLatency(tools, target.bootstrap, dir.path))
    await step('e2e', () => endToEnd(tools, target.bootstrap, dir.path))
  } catch (err) {
    figures.errors.push(err instanceof Error ? err.message : String(err))
  } finally {
    clearInterval(sampler)
    await dir.cleanup()
  }
  if (peakRss > 0) figures.peakRssMb = peakRss / 1e6
  return figures
}

export interface KafkaPerfOptions {
  rounds: number
}

export async function benchKafkaPerf(options: KafkaPerfOptions): Promise<void> {
  const tools = await rdkafkaTools()
  if (!tools.ok) {
    console.log(`skipped: rdkafka_performance could not be built (${tools.reason})`)
    return
  }
  const kafka = await kafkaDist()
  if (!kafka.ok) console.log(`Kafka column skipped: its broker could not be had (${kafka.reason})`)
  const starts: { name: BrokerName; start: () => Promise<Target> }[] = [
    { name: 'samsa', start: startSamsa },
    ...(kafka.ok ? [{ name: 'Kafka' as const, start: () => startKafka(kafka.value) }] : []),
    { name: 'mock', start: () => startMock(tools.value.mock, Object.values(TOPICS)) },
  ]
  const rounds: Record<BrokerName, Figures[]> = { samsa: [], Kafka: [], mock: [] }
  const machine: Machine[] = []
  for (let round = 1; round <= options.rounds; round++) {
    const disk = await machineBaseline()
    machine.push({ appendMbPerSec: disk.appendMbPerSec, syncedMbPerSec: disk.syncedMbPerSec })
    for (const { name, start } of starts) {
      let target: Target
      try {
        target = await start()
      } catch (err) {
        rounds[name].push({ errors: [`start: ${err instanceof Error ? err.message : String(err)}`] })
        continue
      }
      try {
        rounds[name].push(await measure(tools.value, target))
      } finally {
        await target.stop()
      }
      console.log(`round ${round}/${options.rounds}: ${name} done`)
    }
  }
  printKafkaPerf(tools.value, kafka.ok, rounds, machine)
}

/** What one partition's log costs the machine, whoever writes it (bench/baselines.ts), per round. */
interface Machine {
  appendMbPerSec: number
  syncedMbPerSec: number
}

/** Median of the rounds' values, with their range when there are several. */
function summary(values: (number | undefined)[], digits: number, unit: string): { text: string; median: number } {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  if (present.length === 0) return { text: 'n/a', median: Number.NaN }
  const m = median(present)
  const s = sorted(present)
  const range = present.length > 1 ? ` (${fmt(s[0] as number, digits)}–${fmt(s.at(-1) as number, digits)})` : ''
  const withUnit = unit === '' || unit === '×' ? `${fmt(m, digits)}${unit}` : `${fmt(m, digits)} ${unit}`
  return { text: `${withUnit}${range}`, median: m }
}

const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${fmt(a / b, 2)}×` : 'n/a')
const verdict = (ok: boolean, a: number): string => (!Number.isFinite(a) ? '' : ok ? 'PASS' : 'BELOW')

function printKafkaPerf(
  tools: RdkafkaTools,
  withKafka: boolean,
  rounds: Record<BrokerName, Figures[]>,
  machine: Machine[],
): void {
  const n = rounds.samsa.length
  console.log(
    `rdkafka_performance (librdkafka ${tools.version}), ${fmt(MESSAGE_SIZE)} B messages, one partition; ` +
      `produce: ${fmt(MESSAGES)} messages, linger.ms=5; latency: ${fmt(LATENCY_MESSAGES)} messages at ` +
      `${fmt(LATENCY_RATE)} msg/s asked, acks=all, linger.ms=0. samsa: samsa broker (local engine); ` +
      `Kafka: ${withKafka ? `Apache Kafka ${KAFKA_VERSION}, one KRaft node` : 'skipped'}; ` +
      `mock: librdkafka's mock cluster. MB = 10^6 bytes. ${n} round${n === 1 ? '' : 's'}` +
      (n > 1 ? ': median (min–max)' : ''),
  )
  const col = (name: BrokerName, pick: (f: Figures) => number | undefined, digits: number, unit: string) =>
    summary(rounds[name].map(pick), digits, unit)
  const brokers: BrokerName[] = withKafka ? ['samsa', 'Kafka', 'mock'] : ['samsa', 'mock']
  const rows: string[][] = [['', ...brokers, 'samsa/mock', 'samsa/Kafka', 'target']]
  const throughput = (
    label: string,
    pick: (f: Figures) => number | undefined,
    target: (vsMock: number, vsKafka: number) => string,
  ): void => {
    const cells = brokers.map((b) => col(b, pick, 0, 'MB/s'))
    const [samsa, kafka, mock] = [col('samsa', pick, 0, ''), col('Kafka', pick, 0, ''), col('mock', pick, 0, '')]
    rows.push([
      label,
      ...cells.map((c) => c.text),
      ratio(samsa.median, mock.median),
      withKafka ? ratio(samsa.median, kafka.median) : '',
      target(samsa.median / mock.median, samsa.median / kafka.median),
    ])
  }
  const vsKafka = (v: number): string => (withKafka ? `; ≥ 1× Kafka: ${verdict(v >= 1, v)}` : '')
  throughput(
    'produce acks=1',
    (f) => f.acks1?.mbPerSec,
    (m, k) => `≥ ${TARGET.acks1VsMock}× mock: ${verdict(m >= TARGET.acks1VsMock, m)}${vsKafka(k)}`,
  )
  throughput(
    'produce acks=all',
    (f) => f.acksAll?.mbPerSec,
    (m, k) => `≥ ${TARGET.acksAllVsMock}× mock: ${verdict(m >= TARGET.acksAllVsMock, m)}${vsKafka(k)}`,
  )
  const allVsOne = (name: BrokerName) =>
    summary(
      rounds[name].map((f) => (f.acksAll && f.acks1 ? f.acksAll.mbPerSec / f.acks1.mbPerSec : undefined)),
      2,
      '×',
    )
  const samsaAllVsOne = allVsOne('samsa')
  rows.push([
    'produce acks=all / acks=1',
    ...brokers.map((b) => allVsOne(b).text),
    '',
    '',
    `samsa ≥ ${TARGET.acksAllVsAcks1}×: ${verdict(samsaAllVsOne.median >= TARGET.acksAllVsAcks1, samsaAllVsOne.median)}`,
  ])
  throughput(
    'consume from the beginning',
    (f) => f.consume?.mbPerSec,
    (m, k) => `≥ 1× mock: ${verdict(m >= 1, m)}${vsKafka(k)}`,
  )
  rows.push([
    '  messages consumed',
    ...brokers.map((b) => col(b, (f) => f.consume?.messages, 0, '').text),
    '',
    '',
    'the mock keeps ~5 MiB of a partition',
  ])
  const latencyRows = (
    label: string,
    pick: (f: Figures) => Latency | undefined,
    p50Target?: number,
    p99Target?: number,
  ) => {
    for (const [p, key, target] of [
      ['p50', 'p50Ms', p50Target],
      ['p99', 'p99Ms', p99Target],
    ] as const) {
      const cells = brokers.map((b) => col(b, (f) => pick(f)?.[key], 2, 'ms'))
      const samsa = col('samsa', (f) => pick(f)?.[key], 2, '')
      const kafka = col('Kafka', (f) => pick(f)?.[key], 2, '')
      const mock = col('mock', (f) => pick(f)?.[key], 2, '')
      const goals = [
        target === undefined ? '' : `< ${target} ms: ${verdict(samsa.median < target, samsa.median)}`,
        withKafka ? `< Kafka: ${verdict(samsa.median < kafka.median, samsa.median / kafka.median)}` : '',
      ].filter((g) => g !== '' && !g.endsWith(': '))
      rows.push([
        `${label} ${p}`,
        ...cells.map((c) => c.text),
        ratio(samsa.median, mock.median),
        withKafka ? ratio(samsa.median, kafka.median) : '',
        goals.join('; '),
      ])
    }
    rows.push([`  achieved rate`, ...brokers.map((b) => col(b, (f) => pick(f)?.rate, 0, 'msg/s').text), '', '', ''])
  }
  latencyRows('acks=all ack latency', (f) => f.ackLatency, TARGET.ackP50Ms, TARGET.ackP99Ms)
  latencyRows('produce→consume latency', (f) => f.e2e, undefined, TARGET.e2eP99Ms)
  rows.push([
    'broker CPU, produce acks=1',
    ...brokers.map((b) => col(b, (f) => f.acks1?.brokerCpu, 0, '%').text),
    '',
    '',
    '% of one core',
  ])
  const perGb = (p: Produced | undefined): number | undefined =>
    p === undefined ? undefined : p.brokerCpu / 100 / (p.mbPerSec / 1000)
  rows.push([
    '  per GB produced',
    ...brokers.map((b) => col(b, (f) => perGb(f.acks1), 2, 's').text),
    '',
    '',
    'CPU seconds: what counts where cores are shared',
  ])
  rows.push([
    '  samsa main thread',
    ...brokers.map((b) => (b === 'samsa' ? col(b, (f) => f.acks1?.mainThreadCpu, 0, '%').text : '')),
    '',
    '',
    'its event loop; the rest: libuv pool (file writes), GC threads',
  ])
  rows.push([
    'broker CPU, produce acks=all',
    ...brokers.map((b) => col(b, (f) => f.acksAll?.brokerCpu, 0, '%').text),
    '',
    '',
    '',
  ])
  rows.push(['  per GB produced', ...brokers.map((b) => col(b, (f) => perGb(f.acksAll), 2, 's').text), '', '', ''])
  rows.push(['broker peak RSS', ...brokers.map((b) => col(b, (f) => f.peakRssMb, 0, 'MB').text), '', '', ''])
  console.log(table(rows))
  const append = summary(
    machine.map((m) => m.appendMbPerSec),
    0,
    'MB/s',
  )
  const synced = summary(
    machine.map((m) => m.syncedMbPerSec),
    0,
    'MB/s',
  )
  console.log(
    `The machine in the same rounds (bench/baselines.ts, one file written by one thread as one partition's log is): ` +
      `1 MiB appends to the page cache ${append.text}, with fdatasync after each ${synced.text}.`,
  )
  for (const b of brokers) {
    for (const [i, f] of rounds[b].entries()) {
      for (const e of f.errors) console.log(`${b}, round ${i + 1}: ${e}`)
    }
  }
}

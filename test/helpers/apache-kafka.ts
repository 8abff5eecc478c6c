/**
 * Apache Kafka's own broker, for the differential tests (test/differential) and the kafka-perf
 * benchmark section: org.apache.kafka:kafka_2.13 and its runtime dependencies, copied once from
 * Maven Central (test/apache-kafka/pom.xml, `mvn dependency:copy-dependencies`) into a cache
 * directory outside the repository ($SAMSA_BENCH_CACHE, else ~/.cache/samsa-bench), and started
 * as one KRaft node (broker and controller) on free ports with a fresh log directory.
 * kafkaDist() answers what it has or why not, so that a caller can skip instead of failing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import { freePort } from '../../src/util/free-port.ts'
import { RawClient } from './raw-client.ts'

export type Found<T> = { ok: true; value: T } | { ok: false; reason: string }

/** Kafka's version: test/apache-kafka/pom.xml names the same one. */
export const KAFKA_VERSION = '4.4.0'
/** The Maven project of the broker's jars, in the source tree (callers run from dist/). */
const POM = fileURLToPath(new URL('../../../test/apache-kafka/pom.xml', import.meta.url))
const START_TIMEOUT_MS = 120_000

/** Where fetched and built tools are kept between runs. */
export function cacheDir(): string {
  return process.env.SAMSA_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'samsa-bench')
}

/** Runs a command to completion; rejects with the end of its output when it fails. */
export function runCommand(cmd: string, args: string[], cwd?: string, timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${`${stdout}${stderr}`.slice(-2000)}`))
      else resolve(`${stdout}${stderr}`)
    })
  })
}

export const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export interface KafkaDist {
  java: string
  /** The classpath: every jar of the broker. */
  classpath: string
}

/** The major version `java -version` reports, e.g. 17. */
async function javaMajor(java: string): Promise<number> {
  const out = await runCommand(java, ['-version'], undefined, 60_000)
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out)
  const major = Number(m?.[1])
  return major === 1 ? Number(m?.[2]) : major
}

/** Kafka's broker jars (fetched once with Maven) and a java that runs them (Kafka 4 needs 17+). */
export async function kafkaDist(): Promise<Found<KafkaDist>> {
  try {
    const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
    const major = await javaMajor(java)
    if (!(major >= 17)) throw new Error(`${java} is Java ${major}; Kafka ${KAFKA_VERSION}'s broker needs 17 or newer`)
    const dir = join(cacheDir(), `kafka-${KAFKA_VERSION}`)
    const libs = join(dir, 'libs')
    const done = join(dir, 'complete')
    if (!existsSync(done)) {
      await rm(libs, { recursive: true, force: true })
      await runCommand('mvn', [
        '-B',
        '-q',
        '-f',
        POM,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ])
      await writeFile(done, '')
    }
    return { ok: true, value: { java, classpath: join(libs, '*') } }
  } catch (err) {
    return { ok: false, reason: reason(err) }
  }
}

export interface KafkaOptions {
  /** The JVM's heap (-Xmx and -Xms), e.g. '1G' as kafka-server-start.sh sets it. */
  heap?: string
  /**
   * JVM flags in place of Kafka's performance options (kafka-run-class.sh's), e.g. for a quicker
   * start where throughput does not matter.
   */
  jvm?: string[]
  /** server.properties entries beside those one node needs. */
  properties?: Record<string, string>
  /** Told of every process started (the benchmark tracks them to kill them on an abnormal exit). */
  onSpawn?: (child: ChildProcess) => void
}

export interface ApacheKafka {
  /** 127.0.0.1:port, for bootstrap.servers. */
  readonly bootstrap: string
  readonly port: number
  /** The broker's process, for its CPU and memory. */
  readonly pid: number
  /** Ends the broker (SIGTERM, then SIGKILL after graceMs; at once with 0) and removes its directory. */
  stop(graceMs?: number): Promise<void>
}

/** Kafka's own JVM performance options (kafka-run-class.sh's). */
const KAFKA_JVM = [
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
]

/** Ends a process by a signal, then by SIGKILL if it has not exited after graceMs. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Until the node serves: a Metadata answer that names it as broker and controller (the listener
 * accepts connections before the node has joined its own quorum).
 */
async function waitUntilServing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Kafka exited (${child.exitCode}) before it served`)
    const client = await RawClient.connect(port).catch(() => undefined)
    if (client !== undefined) {
      const metadata = await client
        .send<MetadataResponse>(ApiKey.Metadata, 12, createMetadataRequest({ topics: [] }))
        .catch(() => undefined)
      await client.close()
      if (metadata !== undefined && metadata.brokers.length === 1 && metadata.controllerId === 1) return
    }
    if (Date.now() > deadline) throw new Error(`Kafka did not serve on ${port} within ${START_TIMEOUT_MS} ms`)
    await sleep(200)
  }
}

/** A failed start, with the end of Kafka's output and whether a port was taken meanwhile. */
class KafkaStartError extends Error {
  readonly portTaken: boolean
  constructor(portTaken: boolean, message: string, cause: unknown) {
    super(message, { cause })
    this.portTaken = portTaken
  }
}

/** Whether a listener can bind 127.0.0.1:port right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

/** How many times a start is tried when another process took one of its free ports meanwhile. */
const PORT_ATTEMPTS = 3

/**
 * One Kafka node, broker and controller: storage formatted with a new cluster id (what
 * `kafka-storage.sh format` does), then kafka.Kafka. Apart from the listeners and `properties`,
 * the settings are those of Kafka's own single-node config/server.properties: internal topics
 * with one replica. The ports are free when chosen but the JVM binds them seconds later, so a
 * start that finds one taken is tried again on new ports.
 */
export async function startKafka(dist: KafkaDist, options: KafkaOptions = {}): Promise<ApacheKafka> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(dist, options)
    } catch (err) {
      if (!(err instanceof KafkaStartError && err.portTaken) || attempt >= PORT_ATTEMPTS) throw err
    }
  }
}

async function startOnce(dist: KafkaDist, options: KafkaOptions): Promise<ApacheKafka> {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-apache-kafka-'))
  const [port, controllerPort] = [await freePort(), await freePort()]
  const properties = join(dir, 'server.properties')
  const settings: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'offsets.topic.replication.factor': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    ...options.properties,
  }
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}\n`)
  await writeFile(properties, lines.join(''))
  const log = join(dir, 'kafka.log')
  const children = new Set<ChildProcess>()
  // A test runner that exits without its cleanup must not leave a JVM behind.
  const killAll = (): void => {
    for (const child of children) child.kill('SIGKILL')
  }
  process.once('exit', killAll)
  const java = (main: string, args: string[]): ChildProcess => {
    const out = createWriteStream(log, { flags: 'a' })
    const heap = options.heap ?? '1G'
    const flags = [`-Xmx${heap}`, `-Xms${heap}`, ...(options.jvm ?? KAFKA_JVM)]
    const child = spawn(dist.java, [...flags, '-cp', dist.classpath, main, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    child.once('exit', () => children.delete(child))
    options.onSpawn?.(child)
    child.stdout?.pipe(out)
    child.stderr?.pipe(out)
    return child
  }
  const cleanup = async (): Promise<void> => {
    process.off('exit', killAll)
    await rm(dir, { recursive: true, force: true })
  }
  let broker: ChildProcess | undefined
  try {
    const clusterId = randomBytes(16).toString('base64url')
    const format = java('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', properties])
    const [code] = (await once(format, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`formatting Kafka's storage failed (${code})`)
    const started = java('kafka.Kafka', [properties])
    broker = started
    await waitUntilServing(port, started)
    return {
      bootstrap: `127.0.0.1:${port}`,
      port,
      pid: started.pid as number,
      async stop(graceMs = 30_000) {
        await stopChild(started, graceMs)
        await cleanup()
      },
    }
  } catch (err) {
    if (broker !== undefined) await stopChild(broker, 0)
    const output = await readFile(log, 'utf8').catch(() => '')
    await cleanup()
    // Kafka logs nothing here (no logging backend among its jars): a port that cannot be bound
    // now that it exited tells that another process took it.
    const taken = !(await canListen(port)) || !(await canListen(controllerPort))
    throw new KafkaStartError(taken, `${reason(err)}\n${output.slice(-2000)}`, err)
  }
}

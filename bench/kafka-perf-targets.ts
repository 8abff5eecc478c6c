/**
 * The brokers the kafka-perf section drives, each a process of its own on a free port:
 * samsa as `npm start` runs it (the CLI's broker command, local engine, a fresh data directory),
 * librdkafka's in-memory mock cluster, and Apache Kafka's broker (one KRaft node that is broker
 * and controller, Kafka's defaults apart from what one node needs).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { freePort } from '../src/util/free-port.ts'
import { brokerExecArgv, trackChild } from './children.ts'
import type { KafkaDist } from './kafka-perf-tools.ts'
import { sleep, tempDir } from './util.ts'

const SAMSA_CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url))
const START_TIMEOUT_MS = 120_000

export interface Target {
  /** Host:port for bootstrap.servers. */
  readonly bootstrap: string
  /** The broker's process, for its CPU and memory. */
  readonly pid: number
  stop(): Promise<void>
}

function track(child: ChildProcess): ChildProcess {
  trackChild(child)
  return child
}

/**
 * Ends a process by a signal, or by closing its standard input ('stdin'), then by SIGKILL if it
 * has not exited after graceMs.
 */
async function stopChild(child: ChildProcess, how: NodeJS.Signals | 'stdin', graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  if (how === 'stdin') child.stdin?.end()
  else child.kill(how)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Resolves with the first stdout line that `pick` maps to a value; rejects if the process exits first. */
function firstLine<T>(child: ChildProcess, what: string, pick: (line: string) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: not ready after ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    )
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => {
      const value = pick(line)
      if (value === undefined) return
      clearTimeout(timer)
      resolve(value)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready`))
    })
  })
}

/** `samsa broker` on 127.0.0.1, a free port and a fresh data directory; --profile's node flags apply. */
export async function startSamsa(): Promise<Target> {
  const dir = await tempDir('kafka-perf-samsa')
  const child = track(
    spawn(
      process.execPath,
      [
        ...brokerExecArgv,
        SAMSA_CLI,
        'broker',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--advertised-host',
        '127.0.0.1',
        '--data-dir',
        dir.path,
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  )
  try {
    // The log line that says where it listens: {"bound":["127.0.0.1:port"],...}
    const bootstrap = await firstLine(child, 'samsa broker', (line) => /"bound":\["([^"]+)"/.exec(line)?.[1])
    return {
      bootstrap,
      pid: child.pid as number,
      async stop() {
        await stopChild(child, 'SIGTERM')
        await dir.cleanup()
      },
    }
  } catch (err) {
    await stopChild(child, 'SIGKILL')
    await dir.cleanup()
    throw err
  }
}

/** librdkafka's mock cluster (one broker, in memory) with the given one-partition topics. */
export async function startMock(binary: string, topics: string[]): Promise<Target> {
  const child = track(spawn(binary, topics, { stdio: ['pipe', 'pipe', 'inherit'] }))
  try {
    const bootstrap = await firstLine(child, 'mock cluster', (line) => (/^\S+:\d+$/.test(line) ? line : undefined))
    return { bootstrap, pid: child.pid as number, stop: () => stopChild(child, 'stdin') }
  } catch (err) {
    await stopChild(child, 'SIGKILL')
    throw err
  }
}

/** Kafka's own JVM flags (kafka-server-start.sh's heap, kafka-run-class.sh's performance options). */
const KAFKA_JVM = [
  '-Xmx1G',
  '-Xms1G',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
]

/** Until something accepts TCP connections on the port. */
async function waitForListener(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Kafka exited (${child.exitCode}) before it listened`)
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (up) return
    if (Date.now() > deadline) throw new Error(`Kafka did not listen on ${port} within ${START_TIMEOUT_MS} ms`)
    await sleep(200)
  }
}

/**
 * One Kafka node, broker and controller (KRaft): storage formatted with a new cluster id, then
 * kafka.Kafka. Apart from the listeners, the settings are those of Kafka's own single-node
 * config/server.properties: internal topics with one replica.
 */
export async function startKafka(dist: KafkaDist): Promise<Target> {
  const dir = await tempDir('kafka-perf-kafka')
  const [port, controllerPort] = [await freePort(), await freePort()]
  const properties = join(dir.path, 'server.properties')
  await writeFile(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir.path, 'data')}`,
      'offsets.topic.replication.factor=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      '',
    ].join('\n'),
  )
  const java = (main: string, args: string[]): ChildProcess => {
    const log = createWriteStream(join(dir.path, 'kafka.log'), { flags: 'a' })
    const child = track(
      spawn(dist.java, [...KAFKA_JVM, '-cp', dist.classpath, main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
    )
    child.stdout?.pipe(log)
    child.stderr?.pipe(log)
    return child
  }
  const logTail = async (): Promise<string> =>
    (await readFile(join(dir.path, 'kafka.log'), 'utf8').catch(() => '')).slice(-2000)
  let broker: ChildProcess | undefined
  try {
    const clusterId = randomBytes(16).toString('base64url')
    const format = java('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', properties])
    const [code] = (await once(format, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`formatting Kafka's storage failed (${code}):\n${await logTail()}`)
    const started = java('kafka.Kafka', [properties])
    broker = started
    await waitForListener(port, started)
    return {
      bootstrap: `127.0.0.1:${port}`,
      pid: started.pid as number,
      async stop() {
        await stopChild(started, 'SIGTERM')
        await dir.cleanup()
      },
    }
  } catch (err) {
    if (broker !== undefined) await stopChild(broker, 'SIGKILL')
    const tail = await logTail()
    await dir.cleanup()
    throw err instanceof Error && !err.message.includes('\n') ? new Error(`${err.message}\n${tail}`) : err
  }
}

/**
 * The brokers the kafka-perf section drives, each a process of its own on a free port:
 * samsa as `npm start` runs it (the CLI's broker command, local engine, a fresh data directory),
 * librdkafka's in-memory mock cluster, and Apache Kafka's broker (test/helpers/apache-kafka.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type KafkaDist, startKafka as startApacheKafka } from '../test/helpers/apache-kafka.ts'
import { brokerExecArgv, trackChild } from './children.ts'
import { tempDir } from './util.ts'

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

/** One Kafka node (KRaft broker and controller) as test/helpers/apache-kafka.ts starts it, with Kafka's default heap. */
export async function startKafka(dist: KafkaDist): Promise<Target> {
  const kafka = await startApacheKafka(dist, { heap: '1G', onSpawn: trackChild })
  return { bootstrap: kafka.bootstrap, pid: kafka.pid, stop: () => kafka.stop() }
}

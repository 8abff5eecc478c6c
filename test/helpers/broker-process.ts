import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))

/** A `samsa broker` running as a child process, for tests that kill it. */
export interface BrokerProcess {
  child: ChildProcess
  bootstrap: string
  /** Every broker address the process listens on (several with --brokers). */
  addresses: string[]
  /** What the process wrote to stdout and stderr so far (its log lines). */
  output(): string
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export interface SpawnOptions {
  /** "listening on" lines to wait for (one per broker with --brokers). */
  listeners?: number
  /** Open-files limit of the process (`ulimit -n`, set through bash). */
  maxOpenFiles?: number
  /** How long to wait for the "listening on" lines (default 10 s). */
  startTimeoutMs?: number
  /** Leave out `--port 0` (the listeners come from a config file or --set). */
  ownListeners?: boolean
  /** Run it in a process group of its own, as a shell runs a command: `-child.pid` signals the group. */
  detached?: boolean
}

/** Starts `samsa broker` on a free port with the given data directory and extra flags. */
export async function spawnBroker(
  dataDir: string,
  extra: string[] = [],
  { listeners = 1, maxOpenFiles, startTimeoutMs = 10_000, ownListeners = false, detached = false }: SpawnOptions = {},
): Promise<BrokerProcess> {
  const port = ownListeners ? [] : ['--port', '0']
  const level = process.env.SAMSA_TEST_LOG_LEVEL ?? 'info'
  const args = [CLI, 'broker', ...port, '--data-dir', dataDir, '--log-level', level, ...extra]
  const child =
    maxOpenFiles === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached })
      : spawn('bash', ['-c', `ulimit -n ${maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          detached,
        })
  let output = ''
  // For a failure that needs the brokers' own account: SAMSA_TEST_LOGS=dir keeps each one's log there.
  const keep = process.env.SAMSA_TEST_LOGS
  const file = keep === undefined ? undefined : join(keep, `broker-${child.pid}.log`)
  const collect = (chunk: Buffer): void => {
    output += chunk.toString()
    if (file !== undefined) appendFileSync(file, chunk)
  }
  // Keep collecting after start: tests read the log lines.
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const addresses = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${output}`)), startTimeoutMs)
    child.stdout?.on('data', () => {
      // "samsa broker 1 listening on *:port (every interface), advertised as host:port": clients use the latter.
      const found = [...output.matchAll(/listening on .*?, advertised as ([^"\s,]+:\d+)/g)].map((m) => m[1] as string)
      if (found.length >= listeners) {
        clearTimeout(timer)
        resolve(found)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`broker exited with ${code}:\n${output}`))
    })
  })
  return {
    child,
    bootstrap: addresses[0] as string,
    addresses,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      // Already exited, or killed by a signal (exitCode stays null then).
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = (await once(child, 'exit')) as [number | null]
      return code
    },
  }
}

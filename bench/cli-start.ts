/**
 * `samsa broker` start-up as a user meets it: wall time from spawning the command to the broker
 * accepting TCP connections (a free port) with --memory, with an empty data directory (the local
 * engine, as `npm start` runs it), and with a data directory holding 1,000 partitions with a
 * record each (written once before the runs by such a broker), next to what any node process
 * costs to start (`node -e ''` to its exit) and `samsa --version` (node, commander and the CLI's
 * entry). Fresh processes one at a time; the broker is stopped with SIGTERM after each run.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Conn, openConns } from './load-generator.ts'
import { createTopics } from './produce.ts'
import { checkProduceResponse, makeBatch, produceFrame } from './requests.ts'
import { median, msBetween, now, percentile, sleep, sorted, tempDir } from './util.ts'

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url))
const RUNS = 15
/** Partitions of the full data directory's one topic. */
export const FULL_PARTITIONS = 1000

/** Median and p90 of fresh-process runs, in ms. */
export interface StartFigure {
  medianMs: number
  p90Ms: number
}

export interface CliStartResult {
  /** `node -e ''`: spawn to exit. */
  node: StartFigure
  /** `samsa --version`: spawn to exit. */
  version: StartFigure
  /** `samsa broker --memory`: spawn to the first accepted TCP connection. */
  broker: StartFigure
  /** The same with a new, empty data directory. */
  empty: StartFigure
  /** The same with a data directory of FULL_PARTITIONS partitions. */
  full: StartFigure
}

function figure(values: number[]): StartFigure {
  const s = sorted(values)
  return { medianMs: median(s), p90Ms: percentile(s, 90) }
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** ms from spawn to exit of `node args`. */
async function toExit(args: string[]): Promise<number> {
  const t = now()
  const child = spawn(process.execPath, args, { stdio: 'ignore' })
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`)
  return msBetween(t, now())
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * ms from spawning `samsa broker <storage>` to its first accepted connection; `work` runs against
 * the listening broker before it is stopped.
 */
async function brokerStart(storage: string[], work?: (port: number) => Promise<void>): Promise<number> {
  const port = await freePort()
  const t = now()
  const child = spawn(process.execPath, [CLI, 'broker', ...storage, '--port', String(port), '--log-level', 'warn'], {
    stdio: 'ignore',
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`samsa broker exited with ${child.exitCode} before listening`)
      if (await accepts(port)) break
      await sleep(1)
    }
    const ms = msBetween(t, now())
    await work?.(port)
    return ms
  } finally {
    child.kill('SIGTERM')
    if (child.exitCode === null) await once(child, 'exit')
  }
}

/** Fills a data directory with one topic of FULL_PARTITIONS partitions and a record in each. */
async function fillDataDir(dir: string): Promise<void> {
  await brokerStart(['--data-dir', dir], async (port) => {
    await createTopics(port, [{ name: 'start-full', partitions: FULL_PARTITIONS }])
    const [conn] = (await openConns(port, 1)) as [Conn]
    try {
      const batch = makeBatch(1, 100)
      for (let p = 0; p < FULL_PARTITIONS; p++)
        checkProduceResponse(await conn.request(produceFrame('start-full', p, -1, batch)))
    } finally {
      conn.close()
    }
  })
}

/** Runs each measurement RUNS times, interleaved so that a drift of the machine touches them all. */
export async function benchCliStart(): Promise<CliStartResult> {
  const dirs = await tempDir('cli-start')
  try {
    const full = join(dirs.path, 'full')
    await fillDataDir(full)
    const runs = {
      node: [] as number[],
      version: [] as number[],
      broker: [] as number[],
      empty: [] as number[],
      full: [] as number[],
    }
    for (let i = 0; i < RUNS; i++) {
      runs.node.push(await toExit(['-e', '']))
      runs.version.push(await toExit([CLI, '--version']))
      runs.broker.push(await brokerStart(['--memory']))
      runs.empty.push(await brokerStart(['--data-dir', await mkdtemp(join(dirs.path, 'empty-'))]))
      runs.full.push(await brokerStart(['--data-dir', full]))
    }
    return {
      node: figure(runs.node),
      version: figure(runs.version),
      broker: figure(runs.broker),
      empty: figure(runs.empty),
      full: figure(runs.full),
    }
  } finally {
    await dirs.cleanup()
  }
}

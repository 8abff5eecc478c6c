/**
 * `samsa broker` start-up as a user meets it: wall time from spawning the command to the broker
 * accepting TCP connections (--memory, a free port), next to what any node process costs to
 * start (`node -e ''` to its exit) and `samsa --version` (node, commander and the CLI's entry).
 * Fresh processes one at a time; the broker is stopped with SIGTERM after each run.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { median, msBetween, now, percentile, sleep, sorted } from './util.ts'

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url))
const RUNS = 15

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

/** ms from spawning `samsa broker --memory` to its first accepted connection. */
async function brokerStart(): Promise<number> {
  const port = await freePort()
  const t = now()
  const child = spawn(process.execPath, [CLI, 'broker', '--memory', '--port', String(port), '--log-level', 'warn'], {
    stdio: 'ignore',
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`samsa broker exited with ${child.exitCode} before listening`)
      if (await accepts(port)) return msBetween(t, now())
      await sleep(1)
    }
  } finally {
    child.kill('SIGTERM')
    if (child.exitCode === null) await once(child, 'exit')
  }
}

/** Runs each measurement RUNS times, interleaved so that a drift of the machine touches all three. */
export async function benchCliStart(): Promise<CliStartResult> {
  const node: number[] = []
  const version: number[] = []
  const broker: number[] = []
  for (let i = 0; i < RUNS; i++) {
    node.push(await toExit(['-e', '']))
    version.push(await toExit([CLI, '--version']))
    broker.push(await brokerStart())
  }
  return { node: figure(node), version: figure(version), broker: figure(broker) }
}

/** Parent side of server-child.ts: start a server process, learn its port, stop it. */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { ServerSpec } from './server-child.ts'

const CHILD = fileURLToPath(new URL('./server-child.js', import.meta.url))

/** Extra node flags for broker processes, e.g. --cpu-prof (set by index.ts from --profile). */
export const brokerExecArgv: string[] = []

export interface ServerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
  /** A broker's HTTP port, if it has one. */
  readonly httpPort: number | undefined
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()

/** Registers a process the benchmark started so that killAllServers() ends it on an abnormal exit. */
export function trackChild(child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
}

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const child = fork(CHILD, [JSON.stringify(spec)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: spec.kind === 'broker' ? brokerExecArgv : [],
  })
  trackChild(child)
  const { port, httpPort } = await new Promise<{ port: number; httpPort?: number }>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number; httpPort?: number }) => {
      if (m.type === 'ready' && typeof m.port === 'number') resolve({ port: m.port, httpPort: m.httpPort })
    })
    child.once('exit', (code) => reject(new Error(`${spec.kind} process exited with ${code} before it was ready`)))
  })
  let stopping: Promise<void> | undefined
  return {
    child,
    pid: child.pid as number,
    port,
    httpPort,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = once(child, 'exit')
        child.send({ type: 'close' })
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
        await exited
        clearTimeout(timer)
      })()
      return stopping
    },
  }
}

/** Kills every server process still running (abnormal exit of the benchmark). */
export function killAllServers(): void {
  for (const c of running) c.kill('SIGKILL')
}

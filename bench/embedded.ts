/**
 * The embedded broker as a test suite meets it: `startBroker()` with the memory engine.
 * - cold: 20 fresh processes, each importing the module and calling startBroker() once;
 * - warm: 20 startBroker()/close() in a row in one process;
 * - idle RSS: a process running one broker, 1.5 s after startup (VmRSS from /proc).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { median, msBetween, now, percentile, processRss, sleep, sorted } from './util.ts'

const CHILD = fileURLToPath(new URL('./embedded-child.js', import.meta.url))
const COLD_RUNS = 20
const WARM_STARTS = 20
const IDLE_MS = 1500

export interface EmbeddedResult {
  /** First startBroker() in a fresh process, module already imported: median / p90 ms. */
  coldStartMs: number
  coldStartP90Ms: number
  /** Importing the broker module in a fresh process, median ms. */
  importMs: number
  /** import + first startBroker(), median ms. */
  coldImportAndStartMs: number
  /** fork() to broker listening, measured by the parent (node boot included), median ms. */
  spawnToReadyMs: number
  /** startBroker() in a process that already started one, median ms (over all 20, first included). */
  warmStartMs: number
  warmCloseMs: number
  /** Idle process running one broker. */
  idleRss: number
  idleHeapUsed: number
}

function run(mode: string, args: string[] = []): ChildProcess {
  return fork(CHILD, [mode, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}

async function result<T>(child: ChildProcess): Promise<T> {
  const [message] = (await once(child, 'message')) as [T]
  if (child.exitCode === null) await once(child, 'exit')
  return message
}

export async function benchEmbedded(): Promise<EmbeddedResult> {
  const cold: { importMs: number; startMs: number }[] = []
  for (let i = 0; i < COLD_RUNS; i++) cold.push(await result<{ importMs: number; startMs: number }>(run('cold')))
  // Wall time from fork() until the child's broker listens (node's boot and the import included).
  const spawnToReady: number[] = []
  for (let i = 0; i < 5; i++) {
    const t = now()
    const child = run('idle')
    await once(child, 'message')
    spawnToReady.push(msBetween(t, now()))
    child.send({ type: 'close' })
    await once(child, 'exit')
  }
  const warm = await result<{ starts: number[]; closes: number[] }>(run('warm', [String(WARM_STARTS)]))

  const idle = run('idle')
  await once(idle, 'message')
  await sleep(IDLE_MS)
  const rss = processRss(idle.pid as number)
  idle.send({ type: 'memory' })
  const [mem] = (await once(idle, 'message')) as [{ rss: number; heapUsed: number }]
  idle.send({ type: 'close' })
  await once(idle, 'exit')

  const starts = sorted(cold.map((c) => c.startMs))
  return {
    coldStartMs: percentile(starts, 50),
    coldStartP90Ms: percentile(starts, 90),
    importMs: median(cold.map((c) => c.importMs)),
    coldImportAndStartMs: median(cold.map((c) => c.importMs + c.startMs)),
    spawnToReadyMs: median(spawnToReady),
    warmStartMs: median(warm.starts),
    warmCloseMs: median(warm.closes),
    idleRss: rss ?? mem.rss,
    idleHeapUsed: mem.heapUsed,
  }
}

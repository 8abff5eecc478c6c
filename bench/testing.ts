/**
 * samsa/testing as a test suite meets it (one broker per test file): startBroker() cold start
 * p50/p99 over 100 starts (and p50 of a 3-broker view), RSS with one test broker, and the time from startBroker() to a first
 * record produced and consumed by kafkajs. Runs in a fresh child process.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { percentile, sorted } from './util.ts'

const CHILD = fileURLToPath(new URL('./testing-child.js', import.meta.url))
export const TESTING_STARTS = 100

export interface TestingResult {
  importMs: number
  firstStartMs: number
  startP50Ms: number
  startP99Ms: number
  clusterStartP50Ms: number
  rss: number
  producedMs: number
  firstRecordMs: number
}

export async function benchTesting(): Promise<TestingResult> {
  const child = fork(CHILD, [String(TESTING_STARTS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [r] = (await once(child, 'message')) as [
    {
      importMs: number
      starts: number[]
      clusterStarts: number[]
      rss: number
      producedMs: number
      firstRecordMs: number
    },
  ]
  if (child.exitCode === null) await once(child, 'exit')
  const starts = sorted(r.starts)
  return {
    importMs: r.importMs,
    firstStartMs: r.starts[0] ?? Number.NaN,
    startP50Ms: percentile(starts, 50),
    startP99Ms: percentile(starts, 99),
    clusterStartP50Ms: percentile(sorted(r.clusterStarts), 50),
    rss: r.rss,
    producedMs: r.producedMs,
    firstRecordMs: r.firstRecordMs,
  }
}

/** Small helpers shared by the benchmark sections: clocks, percentiles, formatting, tables, CPU. */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Nanoseconds from the monotonic clock. */
export const now = (): bigint => process.hrtime.bigint()

/** Milliseconds between two hrtime readings. */
export const msBetween = (a: bigint, b: bigint): number => Number(b - a) / 1e6

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The p-th percentile (0 < p ≤ 100) by the nearest-rank method on sorted values: the smallest
 * value with at least p% of the samples at or below it. NaN for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number
}

/** Sorted copy (numeric). */
export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b)
}

export function median(values: readonly number[]): number {
  return percentile(sorted(values), 50)
}

/** MB = 10^6 bytes, as librdkafka's and Kafka's perf tools print. */
export const MB = 1e6
export const MiB = 1024 * 1024

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a'
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A printable table: first row is the header; numeric columns are right-aligned. */
export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) {
    for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length)
  }
  const numeric = widths.map(
    (_, i) => i > 0 && rows.slice(1).every((row) => /^([-\d.,]+[×%]?|n\/a|)$/.test(row[i] ?? '')),
  )
  const line = (row: string[]): string =>
    row
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  const out = [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  ')]
  for (const row of rows.slice(1)) out.push(line(row))
  return out.join('\n')
}

/** A fresh temporary directory, removed by the returned cleanup (idempotent). */
export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `samsa-bench-${prefix}-`))
  tempDirs.add(path)
  return {
    path,
    cleanup: async () => {
      tempDirs.delete(path)
      await rm(path, { recursive: true, force: true })
    },
  }
}

const tempDirs = new Set<string>()

/** Removes every temp dir still registered (used on abnormal exit). */
export async function removeAllTempDirs(): Promise<void> {
  await Promise.all([...tempDirs].map((p) => rm(p, { recursive: true, force: true })))
  tempDirs.clear()
}

const CLOCK_TICKS = 100 // USER_HZ on Linux

/**
 * CPU time (user + system, ms) of a process, all threads, from /proc; with `tid`, of that thread
 * alone (a process's main thread has tid = pid). Undefined elsewhere.
 */
export function processCpuMs(pid: number, tid?: number): number | undefined {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return ((utime + stime) * 1000) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** Resident set size of a process in bytes, from /proc; undefined elsewhere. */
export function processRss(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** CPU use of a process over a window, as a percentage of one core. */
export class CpuMeter {
  readonly #pid: number
  #startCpu: number | undefined
  #startAt = 0n

  constructor(pid: number) {
    this.#pid = pid
  }

  start(): void {
    this.#startCpu = processCpuMs(this.#pid)
    this.#startAt = now()
  }

  /** Percent of one core since start(); NaN if /proc is unavailable. */
  stop(): number {
    const end = processCpuMs(this.#pid)
    if (end === undefined || this.#startCpu === undefined) return Number.NaN
    return (100 * (end - this.#startCpu)) / msBetween(this.#startAt, now())
  }
}

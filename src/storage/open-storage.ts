/**
 * Picks and opens a storage engine: `memory` for tests and throwaway brokers, `local` (a data
 * directory) for the embedded default, `postgres` (a database URL) for brokers that share one
 * PostgreSQL. Each engine's modules load only when it is opened: a test suite's in-memory broker
 * skips the local engine's.
 */
import { mkdir } from 'node:fs/promises'
import type { LocalStorageOptions } from './local/local-storage.ts'
import type { MemoryStorageOptions } from './memory/memory-storage.ts'
import type { PostgresStorageOptions } from './postgres/postgres-storage.ts'
import type { Storage } from './types.ts'

/** Options for openStorage, by engine. */
export type OpenStorageOptions =
  | ({ engine: 'memory' } & MemoryStorageOptions)
  | ({ engine: 'local' } & LocalStorageOptions)
  | ({ engine: 'postgres' } & PostgresStorageOptions)

/** Opens the engine the options name. */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  switch (options.engine) {
    case 'memory': {
      const { MemoryStorage } = await import('./memory/memory-storage.ts')
      return new MemoryStorage(options)
    }
    case 'local': {
      const { LocalStorage } = await import('./local/local-storage.ts')
      return LocalStorage.open(options)
    }
    case 'postgres': {
      const { PostgresStorage } = await import('./postgres/postgres-storage.ts')
      return PostgresStorage.open(options)
    }
  }
}

/** True for a PostgreSQL connection URL (the postgres engine on a server of the user's). */
export function isPostgresUrl(name: string): boolean {
  return /^postgres(ql)?:\/\//.test(name)
}

/**
 * Opens the engine a broker's `samsa.storage` setting names: 'memory', 'local', a postgres://
 * URL, or 'postgres' for a PostgreSQL of the broker's own in its data directory
 * (postgres/embedded.ts, in a process of its own: postgres/embedded-detached.ts). The broker
 * gives what it has for every engine: its data directory (log.dirs), configs, logger, clock and
 * test faults; each engine takes what it needs, and callers never ask for an engine by name.
 */
export async function openStorageNamed(
  name: string,
  options: LocalStorageOptions & MemoryStorageOptions,
): Promise<Storage> {
  const { brokerDefaults, logger, now, metrics } = options
  if (name === 'local') return openStorage({ engine: 'local', ...options })
  if (isPostgresUrl(name)) return openStorage({ engine: 'postgres', url: name, brokerDefaults, logger, now, metrics })
  if (name === 'postgres') return openEmbeddedPostgres(options)
  return openStorage({ engine: 'memory', brokerDefaults, logger, now, metrics })
}

async function openEmbeddedPostgres(options: LocalStorageOptions & MemoryStorageOptions): Promise<Storage> {
  const [{ DataDirLock }, { startDetachedEmbeddedPostgres }, { silentLogger }] = await Promise.all([
    import('./local/dir-lock.ts'),
    import('./postgres/embedded-detached.ts'),
    import('./engine/logger.ts'),
  ])
  const { dataDir, brokerDefaults, now, metrics } = options
  const logger = options.logger ?? silentLogger
  await mkdir(dataDir, { recursive: true })
  // One broker per data directory, as with the local engine: the server in it is that broker's.
  const lock = await DataDirLock.acquire(dataDir)
  let server: Awaited<ReturnType<typeof startDetachedEmbeddedPostgres>> | undefined
  try {
    // In a process of its own, so that Ctrl-C in a terminal does not stop it under the broker.
    server = await startDetachedEmbeddedPostgres(dataDir, logger)
    const storage = await openStorage({ engine: 'postgres', url: server.url, brokerDefaults, logger, now, metrics })
    const closeEngine = storage.close.bind(storage)
    const stop = server.stop
    // The server and the lock go with the engine: closing the storage stops them too.
    storage.close = async () => {
      try {
        await closeEngine()
      } finally {
        await stop().finally(() => lock.release())
      }
    }
    return storage
  } catch (err) {
    await server?.stop().catch(() => {})
    await lock.release()
    throw err
  }
}

/**
 * Picks and opens a storage engine: `memory` for tests and throwaway brokers, `local` (a data
 * directory) for the embedded default, `postgres` (a database URL) for brokers that share one
 * PostgreSQL. Each engine's modules load only when it is opened: a test suite's in-memory broker
 * skips the local engine's.
 */
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

/**
 * Opens the engine a broker's `samsa.storage` setting names ('memory', 'local'), given what the
 * broker has for every engine: its data directory (log.dirs), configs, logger, clock and test
 * faults. Each engine takes the options it needs; callers never ask for an engine by name.
 */
export function openStorageNamed(name: string, options: LocalStorageOptions & MemoryStorageOptions): Promise<Storage> {
  if (name === 'local') return openStorage({ engine: 'local', ...options })
  const { brokerDefaults, logger, now } = options
  return openStorage({ engine: 'memory', brokerDefaults, logger, now })
}

/**
 * Picks and opens a storage engine: `memory` for tests and throwaway brokers, `local` (a data
 * directory) for the embedded default. The PostgreSQL engine will join here. Each engine's
 * modules load only when it is opened: a test suite's in-memory broker skips the local engine's.
 */
import type { LocalStorageOptions } from './local/local-storage.ts'
import type { MemoryStorageOptions } from './memory/memory-storage.ts'
import type { Storage } from './types.ts'

/** Options for openStorage, by engine. */
export type OpenStorageOptions =
  | ({ engine: 'memory' } & MemoryStorageOptions)
  | ({ engine: 'local' } & LocalStorageOptions)

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
  }
}

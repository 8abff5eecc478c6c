/**
 * Picks and opens a storage engine: `memory` for tests and throwaway brokers, `local` (a data
 * directory) for the embedded default. The PostgreSQL engine will join here.
 */
import { LocalStorage, type LocalStorageOptions } from './local/local-storage.ts'
import { MemoryStorage, type MemoryStorageOptions } from './memory/memory-storage.ts'
import type { Storage } from './types.ts'

/** Options for openStorage, by engine. */
export type OpenStorageOptions =
  | ({ engine: 'memory' } & MemoryStorageOptions)
  | ({ engine: 'local' } & LocalStorageOptions)

/** Opens the engine the options name. */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  switch (options.engine) {
    case 'memory':
      return new MemoryStorage(options)
    case 'local':
      return LocalStorage.open(options)
  }
}

export type { LocalStorageOptions } from './local/local-storage.ts'
export type { StorageLogger } from './memory/logger.ts'
export type { MemoryStorageOptions } from './memory/memory-storage.ts'
export { EngineIoError, EngineRequestError } from './memory/storage-error.ts'
export { LocalStorage, MemoryStorage }

/** The storage engines every conformance suite runs against, each opened fresh by `open`. */
import { openStorage } from '../../src/storage/open-storage.ts'
import type { Storage } from '../../src/storage/types.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { tempDir } from './helpers.ts'

export interface Engine {
  name: string
  open: (now?: () => number) => Promise<{ storage: Storage; cleanup: () => Promise<void> }>
  /** Why the engine's suites are skipped here (e.g. no PostgreSQL can start); undefined to run them. */
  skip?: string
}

export const engines: Engine[] = [
  {
    name: 'memory',
    open: async (now) => {
      const storage = await openStorage({ engine: 'memory', now })
      return { storage, cleanup: () => storage.close() }
    },
  },
  {
    name: 'local',
    open: async (now) => {
      const dir = await tempDir()
      const storage = await openStorage({ engine: 'local', dataDir: dir.path, retentionCheckIntervalMs: 0, now })
      return {
        storage,
        cleanup: async () => {
          await storage.close()
          await dir.remove()
        },
      }
    },
  },
  {
    name: 'postgres',
    // A database of its own per open, on the test process's embedded PostgreSQL.
    skip: (await hasPostgres()) ? undefined : POSTGRES_MISSING,
    open: async (now) => {
      const storage = await openStorage({
        engine: 'postgres',
        url: await freshDatabase(),
        retentionCheckIntervalMs: 0,
        now,
      })
      return { storage, cleanup: () => storage.close() }
    },
  },
  {
    // Every read goes to the database: no batch is kept in memory.
    name: 'postgres without a tail',
    skip: (await hasPostgres()) ? undefined : POSTGRES_MISSING,
    open: async (now) => {
      const url = await freshDatabase()
      const storage = await openStorage({ engine: 'postgres', url, retentionCheckIntervalMs: 0, now, tailBytes: 0 })
      return { storage, cleanup: () => storage.close() }
    },
  },
]

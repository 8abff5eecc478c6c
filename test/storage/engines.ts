/** The storage engines every conformance suite runs against, each opened fresh by `open`. */
import { openStorage } from '../../src/storage/open-storage.ts'
import type { Storage } from '../../src/storage/types.ts'
import { tempDir } from './helpers.ts'

export interface Engine {
  name: string
  open: (now?: () => number) => Promise<{ storage: Storage; cleanup: () => Promise<void> }>
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
]

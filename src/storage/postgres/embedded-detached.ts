/**
 * The embedded PostgreSQL of a data directory (embedded.ts) in a process of its own
 * (embedded-process.ts says why), for `samsa broker --storage postgres` and `samsa cluster`: its
 * log lines come back to the caller's logger, and it stops when the caller stops it or when the
 * caller's process ends, even by kill -9.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SamsaError, type SamsaErrorCode } from '../../errors.ts'
import type { StorageLogger } from '../engine/logger.ts'
import type { EmbeddedPostgres } from './embedded.ts'

/** A line the database process writes on stdout: its URL or why it did not start, then its log. */
export type DatabaseProcessLine =
  | { url: string }
  | { error: string; code?: string }
  | { log: 'info' | 'warn' | 'error'; fields?: object; msg?: string }

/** Starts the database process of `dataDir` and resolves once its PostgreSQL accepts connections. */
export async function startDetachedEmbeddedPostgres(dataDir: string, logger: StorageLogger): Promise<EmbeddedPostgres> {
  // Beside this module both in dist/src and in dist/bundle, where scripts/bundle.ts puts it next
  // to the chunks.
  const script = fileURLToPath(new URL('./embedded-process.js', import.meta.url))
  const child = spawn(process.execPath, [script, dataDir], { stdio: ['pipe', 'pipe', 'inherit'], detached: true })
  let stopping = false
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (text) => {
      const line = parse(text)
      if ('log' in line) logger[line.log](line.fields ?? {}, line.msg)
      else if ('url' in line) resolve(line.url)
      else reject(startError(line))
    })
    lines.once('close', () =>
      reject(new Error(`the embedded PostgreSQL process of ${dataDir} ended before it started`)),
    )
  })
  child.once('exit', (code, signal) => {
    if (!stopping) logger.error({ code, signal }, 'the embedded PostgreSQL process exited')
  })
  return {
    url,
    async stop() {
      stopping = true
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

/** The error the database process reported, a SamsaError again when it was one. */
function startError({ error, code }: { error: string; code?: string }): Error {
  return code?.startsWith('SAMSA_ERR_') ? new SamsaError(code as SamsaErrorCode, error) : new Error(error)
}

/** A line of the database process; anything else it printed is logged as it came. */
function parse(text: string): DatabaseProcessLine {
  try {
    const line: unknown = JSON.parse(text)
    if (typeof line === 'object' && line !== null) return line as DatabaseProcessLine
  } catch {}
  return { log: 'info', fields: { postgres: text }, msg: 'embedded PostgreSQL' }
}

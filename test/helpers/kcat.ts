import { execFile, spawnSync } from 'node:child_process'

/** True when kcat is installed; tests that need it are skipped with a message otherwise. */
export const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0

export const KCAT_MISSING = 'kcat is not installed (apt-get install kcat); CI installs it'

/** Whether kcat's librdkafka can fetch OAUTHBEARER tokens from an OIDC endpoint (built with libcurl). */
export const kcatHasOidc =
  hasKcat && /builtin\.features=[^\n]*\boidc\b/.test(spawnSync('kcat', ['-V'], { encoding: 'utf8' }).stdout ?? '')

export const KCAT_NO_OIDC = "kcat's librdkafka was built without OAuth/OIDC support (libcurl), as Debian's is"

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

/** The version of samsa, read from its package.json (built code sits one directory deeper than the source). */
import { readFileSync } from 'node:fs'

function readVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'samsa' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // Not at this depth: try the next.
    }
  }
  return 'unknown'
}

let cached: string | undefined

/** samsa's version, as package.json says. */
export function samsaVersion(): string {
  cached ??= readVersion()
  return cached
}

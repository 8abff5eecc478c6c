import { readFileSync } from 'node:fs'

/**
 * Reads a Java-style .properties file (key=value or key: value, # and ! comments), the format of
 * Kafka's server.properties. A line ending in a backslash goes on on the next one (leading blanks
 * dropped), as the JAAS configs of Kafka's examples are written. Escapes beyond \\ are not supported.
 */
export function readPropertiesFile(path: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of logicalLines(readFileSync(path, 'utf8'))) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line)
    if (!m) throw new Error(`${path}: cannot parse line "${line}"`)
    out[m[1] as string] = (m[2] as string).replaceAll('\\\\', '\\')
  }
  return out
}

/** The file's lines with continued ones joined: an odd number of trailing backslashes continues a line. */
function logicalLines(text: string): string[] {
  const out: string[] = []
  let pending: string | undefined
  for (const physical of text.split(/\r?\n/)) {
    const line = pending === undefined ? physical : pending + physical.trimStart()
    const continued = (/\\+$/.exec(line)?.[0].length ?? 0) % 2 === 1
    if (continued && !(pending === undefined && /^\s*[#!]/.test(line))) pending = line.slice(0, -1)
    else {
      out.push(line)
      pending = undefined
    }
  }
  if (pending !== undefined) out.push(pending)
  return out
}

/**
 * Kafka properties from SAMSA_* environment variables: SAMSA_LOG_RETENTION_MS=1000 sets
 * log.retention.ms (lower case, underscores become dots); SAMSA_STORAGE sets samsa.storage.
 */
export function propsFromEnv(env: NodeJS.ProcessEnv, known: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('SAMSA_') || value === undefined) continue
    const name = key.slice('SAMSA_'.length).toLowerCase().replaceAll('_', '.')
    if (known.has(name)) out[name] = value
    // samsa's own configs drop their prefix: SAMSA_STORAGE sets samsa.storage.
    else if (known.has(`samsa.${name}`)) out[`samsa.${name}`] = value
  }
  return out
}

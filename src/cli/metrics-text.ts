/**
 * Reads the Prometheus text format (0.0.4) a broker serves on /metrics: one sample a line,
 * `name{label="value",...} value`, comments and blank lines skipped. Label values may hold
 * escaped quotes, backslashes and newlines.
 */

/** One sample line. */
export interface MetricSample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Every sample of a /metrics body, in order. */
export function parseMetricsText(text: string): MetricSample[] {
  const out: MetricSample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const sample = parseLine(line)
    if (sample !== undefined) out.push(sample)
  }
  return out
}

function parseLine(line: string): MetricSample | undefined {
  const nameEnd = line.search(/[{ ]/)
  if (nameEnd <= 0) return undefined
  const name = line.slice(0, nameEnd)
  const labels: Record<string, string> = {}
  let at = nameEnd
  if (line[at] === '{') {
    at++
    while (at < line.length && line[at] !== '}') {
      const eq = line.indexOf('="', at)
      if (eq < 0) return undefined
      const key = line.slice(at, eq)
      let value = ''
      let i = eq + 2
      for (; i < line.length && line[i] !== '"'; i++) {
        const c = line[i] as string
        if (c !== '\\') {
          value += c
          continue
        }
        const next = line[++i]
        value += next === 'n' ? '\n' : (next ?? '')
      }
      labels[key] = value
      at = i + 1
      if (line[at] === ',') at++
    }
    at++
  }
  // A value, then an optional timestamp.
  const value = Number(line.slice(at).trim().split(' ')[0])
  return Number.isNaN(value) && !line.includes('NaN') ? undefined : { name, labels, value }
}

/** The sum of the samples named `name` whose labels include every pair of `labels`. */
export function sumOf(samples: readonly MetricSample[], name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const s of samples) {
    if (s.name !== name) continue
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value
  }
  return total
}

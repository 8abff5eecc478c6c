/**
 * The log of `samsa broker`: pino JSON lines for log collectors, or, on a terminal, one readable
 * line per entry (`12:03:04.567 INFO  message key=value`). The pretty form is a few lines of
 * formatting over pino's own output rather than pino-pretty, which would add a dependency (and
 * its own) to every install for a convenience.
 */
import { createRequire } from 'node:module'
import type { Logger } from 'pino'
import { UsageError } from '../usage.ts'

/** Log output formats. */
export type LogFormat = 'pretty' | 'json'

/** pino's levels, lowest first; `silent` turns logging off. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' }
/** Fields every pino line has, shown in the line's head (or not at all). */
const HEAD_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg'])

/** Validates --log-level. */
export function parseLogLevel(value: string): string {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value
  throw new UsageError(`invalid --log-level "${value}" (use ${LOG_LEVELS.join(', ')})`)
}

/** Validates --log-format; without one, pretty on a terminal and JSON otherwise. */
export function parseLogFormat(value: string | undefined, tty: boolean): LogFormat {
  if (value === undefined) return tty ? 'pretty' : 'json'
  if (value === 'pretty' || value === 'json') return value
  throw new UsageError(`invalid --log-format "${value}" (use pretty or json)`)
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)
  return JSON.stringify(v)
}

/** One pino JSON line as a readable line (with ANSI colours when `color`). */
export function prettyLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`
  }
  const level = Number(entry.level)
  const name = (LEVEL_NAMES[level] ?? String(entry.level)).padEnd(5)
  const time = new Date(Number(entry.time)).toTimeString().slice(0, 8)
  const ms = String(Number(entry.time) % 1000).padStart(3, '0')
  const paint = (code: string | undefined, s: string): string => (color && code ? `\x1b[${code}m${s}\x1b[0m` : s)
  let stack = ''
  const fields: string[] = []
  for (const [k, v] of Object.entries(entry)) {
    if (HEAD_FIELDS.has(k)) continue
    if (k === 'err' && typeof v === 'object' && v !== null) {
      const err = v as { message?: string; stack?: string }
      fields.push(`err=${formatValue(err.message ?? '')}`)
      if (err.stack) stack = `\n${err.stack.replace(/^/gm, '    ')}`
      continue
    }
    fields.push(`${k}=${formatValue(v)}`)
  }
  const rest = fields.length > 0 ? ` ${paint('90', fields.join(' '))}` : ''
  return `${paint('90', `${time}.${ms}`)} ${paint(LEVEL_COLORS[level], name)} ${String(entry.msg ?? '')}${rest}${stack}\n`
}

/**
 * pino by require: an `import` of a CommonJS package first has node scan its source for the names
 * it exports, a few ms of `samsa broker`'s start.
 */
const requirePino = (): typeof import('pino') => createRequire(import.meta.url)('pino') as typeof import('pino')

/**
 * The broker's logger: pino at `level`, writing JSON lines or pretty ones to stdout. pino is
 * loaded here, not with the module, so that `samsa broker` loads it while the broker's modules load.
 */
export function createBrokerLogger(level: string, format: LogFormat): Logger {
  const pino = requirePino()
  if (format === 'json') return pino({ level })
  const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
  return pino({ level }, { write: (line: string) => process.stdout.write(prettyLine(line, color)) })
}

/** A broker log that keeps its lines, for tests that assert what the broker logged. */
import type { Log } from '../../src/util/logger.ts'

export interface LogLine {
  level: string
  msg: string
  fields: Record<string, unknown>
}

export class CaptureLog implements Log {
  level = 'debug'
  readonly lines: LogLine[] = []

  #push(level: string, obj: object | string, msg?: string): void {
    if (typeof obj === 'string') this.lines.push({ level, msg: obj, fields: {} })
    else this.lines.push({ level, msg: msg ?? '', fields: obj as Record<string, unknown> })
  }

  debug(obj: object | string, msg?: string): void {
    this.#push('debug', obj, msg)
  }
  info(obj: object | string, msg?: string): void {
    this.#push('info', obj, msg)
  }
  warn(obj: object | string, msg?: string): void {
    this.#push('warn', obj, msg)
  }
  error(obj: object | string, msg?: string): void {
    this.#push('error', obj, msg)
  }

  /** The lines whose message matches. */
  find(pattern: RegExp): LogLine[] {
    return this.lines.filter((l) => pattern.test(l.msg))
  }
}

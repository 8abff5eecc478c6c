/**
 * The logger the broker writes to: the part of pino's API it calls, so any pino logger is one.
 * A silent logger is a no-op that loads pino only once its level is raised (AlterConfigs on the
 * root logger): embedded brokers in test suites are silent and start without pino.
 */
import { createRequire } from 'node:module'

export interface Log {
  /** pino's level name; setting it changes what is written from then on. */
  level: string
  debug(obj: object | string, msg?: string): void
  info(obj: object | string, msg?: string): void
  warn(obj: object | string, msg?: string): void
  error(obj: object | string, msg?: string): void
}

const require = createRequire(import.meta.url)

/** A pino logger writing JSON lines to stdout at `level`. */
function pinoLogger(level: string): Log {
  const pino = require('pino') as typeof import('pino').default
  return pino({ level })
}

/** Silent until its level is raised, then a pino logger. */
class DeferredLog implements Log {
  #pino: Log | undefined

  get level(): string {
    return this.#pino?.level ?? 'silent'
  }

  set level(level: string) {
    if (this.#pino !== undefined) this.#pino.level = level
    else if (level !== 'silent') this.#pino = pinoLogger(level)
  }

  debug(obj: object | string, msg?: string): void {
    this.#pino?.debug(obj, msg)
  }

  info(obj: object | string, msg?: string): void {
    this.#pino?.info(obj, msg)
  }

  warn(obj: object | string, msg?: string): void {
    this.#pino?.warn(obj, msg)
  }

  error(obj: object | string, msg?: string): void {
    this.#pino?.error(obj, msg)
  }
}

/** A logger at `level` ('silent' by default for embedded brokers). */
export function createLog(level: string): Log {
  return level === 'silent' ? new DeferredLog() : pinoLogger(level)
}

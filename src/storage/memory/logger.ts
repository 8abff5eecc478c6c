/** The logger engines accept: the subset of pino's API they call. */
export interface StorageLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

const noop = (): void => {}

/** A logger that drops everything, used when the caller passes none. */
export const silentLogger: StorageLogger = { info: noop, warn: noop, error: noop }

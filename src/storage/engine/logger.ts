import type { Log } from '../../util/logger.ts'

/** The logger engines accept: the part of the broker's log they call. */
export type StorageLogger = Pick<Log, 'info' | 'warn' | 'error'>

const noop = (): void => {}

/** A logger that drops everything, used when the caller passes none. */
export const silentLogger: StorageLogger = { info: noop, warn: noop, error: noop }

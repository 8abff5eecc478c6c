import { ErrorCode } from '../protocol/error-codes.ts'

/**
 * I/O faults from a storage engine (failed write, fsync or read) are answered with
 * KAFKA_STORAGE_ERROR for the affected partitions. Engines mark them with a `code` from the
 * system (EIO, ENOSPC, ...) or by throwing a StorageError.
 */
export class StorageError extends Error {
  override name = 'StorageError'
}

const IO_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EROFS', 'EMFILE', 'ENFILE', 'EBADF'])

export function isStorageError(err: unknown): boolean {
  if (err instanceof StorageError) return true
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' && IO_CODES.has(code)
}

/**
 * The Kafka error code to answer for an error thrown by storage: the engine's own code when it
 * refused the request (unknown partition, offset out of range), KAFKA_STORAGE_ERROR for I/O
 * faults, UNKNOWN_SERVER_ERROR for anything else.
 */
export function kafkaErrorCodeOf(err: unknown): number {
  const code = (err as { errorCode?: unknown } | undefined)?.errorCode
  if (typeof code === 'number') return code
  return isStorageError(err) ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_SERVER_ERROR
}

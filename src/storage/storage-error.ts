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

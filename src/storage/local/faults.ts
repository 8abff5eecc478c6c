/**
 * A fault-injection seam for tests of the local engine: hooks called with the file's path right
 * before the engine writes log data, syncs it, or renames a file while swapping in a cleaned
 * segment. A hook that throws (an Error with code EIO or ENOSPC, say) makes that operation fail
 * exactly as the operating system would have. Production code passes no hooks.
 */

/** Hooks that may throw to simulate a failing disk. */
export interface StorageFaults {
  /** Before log data is written to a segment file. */
  beforeWrite?(file: string): void
  /** Before a segment file is fdatasync'ed. */
  beforeSync?(file: string): void
  /** Before the cleaner renames `from` to `to` while committing a cleaned segment. */
  beforeRename?(from: string, to: string): void
}

/** An Error with a system code, as node:fs would throw it. */
export function systemError(code: string, message = `${code}: simulated fault`): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message)
  err.code = code
  return err
}

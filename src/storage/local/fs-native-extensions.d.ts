/** The part of fs-native-extensions (holepunch, CommonJS, no types of its own) that samsa uses. */
declare module 'fs-native-extensions' {
  /**
   * Takes a lock on a byte range of an open file without waiting (length 0: to the end of the
   * file, however long it grows); false when another open file description holds a conflicting
   * one. Exclusive unless `shared`. On Linux an open-file-description lock (F_OFD_SETLK), flock
   * on macOS, LockFileEx on Windows: released when the file is closed or its process dies.
   */
  export function tryLock(fd: number, offset?: number, length?: number, opts?: { shared?: boolean }): boolean
}

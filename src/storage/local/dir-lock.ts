/**
 * A data directory belongs to one broker at a time. As Kafka locks `.lock` in every log
 * directory, the local engine takes an exclusive OS lock on `<dataDir>/.lock` before it reads or
 * writes anything else there, holds it while the directory is open, and refuses to open the
 * directory when another broker holds it: a second broker would recover the files the first is
 * appending to, and its clean stop would mark a directory the first still writes as cleanly shut.
 *
 * The lock belongs to the open file, not to the process (fs-native-extensions: an
 * open-file-description lock on Linux, flock on macOS, LockFileEx on Windows), so a second
 * broker in the same process is refused too, and a crash or kill -9 releases it: there is no
 * stale lock to clean up, unlike a PID file. The holder writes its pid and host name into the
 * file so that a refused broker can name it; that content is a hint, never what decides.
 */
import { constants } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { tryLock } from 'fs-native-extensions'
import { SamsaError } from '../../errors.ts'
import { LOCK_FILE } from './file-names.ts'
import { readFully, writeFully } from './fs-util.ts'

/** The pid and host a lock file names. */
interface Holder {
  pid: number
  hostname: string | undefined
}

/** The lock on a data directory, held until release. */
export class DataDirLock {
  readonly #fh: FileHandle
  #released: Promise<void> | undefined

  private constructor(fh: FileHandle) {
    this.#fh = fh
  }

  /**
   * Locks `<dataDir>/.lock` (created if missing; the directory must exist). Throws a SamsaError
   * SAMSA_ERR_DATA_DIR_IN_USE, naming the holder when its pid can be read, if another broker
   * (in this process or another) holds it.
   */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const fh = await open(join(dataDir, LOCK_FILE), constants.O_RDWR | constants.O_CREAT, 0o644)
    let locked = false
    try {
      locked = tryLock(fh.fd)
      if (!locked) throw dataDirInUse(dataDir, await readHolder(fh))
    } finally {
      if (!locked) await fh.close()
    }
    await writeHolder(fh)
    return new DataDirLock(fh)
  }

  /** Releases the lock (closing the file does). */
  release(): Promise<void> {
    this.#released ??= this.#fh.close()
    return this.#released
  }
}

/** Replaces the file's content with this process's pid and host name. */
async function writeHolder(fh: FileHandle): Promise<void> {
  try {
    await fh.truncate(0)
    await writeFully(fh, Buffer.from(`pid=${process.pid}\nhostname=${hostname()}\n`), 0)
  } catch {
    // Only a hint for the error message of a refused broker: a full disk must not stop a start.
  }
}

/** The holder a lock file names, or undefined (unreadable, empty, being rewritten). */
async function readHolder(fh: FileHandle): Promise<Holder | undefined> {
  try {
    const buf = Buffer.alloc(512)
    const text = buf.subarray(0, await readFully(fh, buf, 0)).toString('utf8')
    const pid = /^pid=(\d+)$/m.exec(text)?.[1]
    if (pid === undefined) return undefined
    return { pid: Number(pid), hostname: /^hostname=(.+)$/m.exec(text)?.[1] }
  } catch {
    // Windows forbids reading a range another handle has locked.
    return undefined
  }
}

function dataDirInUse(dataDir: string, holder: Holder | undefined): SamsaError {
  const dir = resolve(dataDir)
  let who = ''
  if (holder !== undefined) {
    const here = holder.hostname === undefined || holder.hostname === hostname()
    if (!here) who = ` (pid ${holder.pid} on host ${holder.hostname})`
    else if (holder.pid === process.pid) who = ` (pid ${holder.pid}: this process)`
    else who = ` (pid ${holder.pid})`
  }
  return new SamsaError(
    'SAMSA_ERR_DATA_DIR_IN_USE',
    `data directory ${dir} is in use by another samsa broker${who}; only one broker may open it at a time`,
    {
      details: {
        dataDir: dir,
        ...(holder && { pid: holder.pid }),
        ...(holder?.hostname !== undefined && { hostname: holder.hostname }),
      },
    },
  )
}

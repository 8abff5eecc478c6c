/** File helpers for the local engine: whole reads and writes, directory fsync, atomic replace. */
import { constants } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Writes all of buf at position (a regular-file write may in principle be short). */
export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done)
    done += bytesWritten
  }
}

/** Writes all of bufs back to back from position, with as few writev calls as the kernel allows. */
export async function writevFully(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs
  let at = position
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, at)
    at += bytesWritten
    rest = skipBytes(rest, bytesWritten)
  }
}

/** bufs without their first n bytes. */
function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0
  let left = n
  while (i < bufs.length && left >= (bufs[i] as Buffer).length) left -= (bufs[i++] as Buffer).length
  if (i === bufs.length) return []
  return [(bufs[i] as Buffer).subarray(left), ...bufs.slice(i + 1)]
}

/** Reads up to buf.length bytes at position; returns how many were read (fewer only at end of file). */
export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let done = 0
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done
}

/** Makes a directory's entries (created, renamed, removed files) durable. */
export async function fsyncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Replaces a file so that a crash leaves either the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await writeFully(fh, data, 0)
    await fh.datasync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  await fsyncDir(dirname(path))
}

/** Removes a file or directory tree, ignoring one that is already gone. */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true })
}

/** True for the error a missing file gives. */
export function isNotFound(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT'
}

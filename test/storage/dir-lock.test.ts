/**
 * The data directory's lock in one process: the lock belongs to the open `.lock` file, not to
 * the process, so a second local engine or startBroker on a directory in use is refused too, and
 * the directory is free again once the first is closed (or failed to start).
 */
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { SamsaError } from '../../src/errors.ts'
import { LocalStorage } from '../../src/storage/local/local-storage.ts'
import { freshDirs, topicMeta } from './helpers.ts'

const freshDir = freshDirs('samsa-dir-lock-')

function open(dataDir: string): Promise<LocalStorage> {
  return LocalStorage.open({ dataDir, retentionCheckIntervalMs: 0, cleanerBackoffMs: 0 })
}

/** Asserts that `err` is the refusal of `dataDir`, held by this process. */
function isInUse(dataDir: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof SamsaError)
    assert.equal(err.code, 'SAMSA_ERR_DATA_DIR_IN_USE')
    assert.equal(
      err.message,
      `data directory ${dataDir} is in use by another samsa broker (pid ${process.pid}: this process); ` +
        'only one broker may open it at a time',
    )
    assert.deepEqual(err.details, { dataDir, pid: process.pid, hostname: hostname() })
    return true
  }
}

describe('data directory lock', () => {
  it('refuses a second local engine on a directory in use, before reading or writing anything', async () => {
    const dir = await freshDir()
    const first = await open(dir)
    await first.createTopic(topicMeta('t', 2))
    assert.equal(await readFile(join(dir, '.lock'), 'utf8'), `pid=${process.pid}\nhostname=${hostname()}\n`)
    const before = new Map<string, number>()
    for (const name of await readdir(dir)) before.set(name, (await stat(join(dir, name))).mtimeMs)
    await assert.rejects(open(dir), isInUse(dir))
    const names = await readdir(dir)
    assert.deepEqual(names.sort(), [...before.keys()].sort())
    for (const name of names) assert.equal((await stat(join(dir, name))).mtimeMs, before.get(name), name)
    // The refused open did not release the first engine's lock.
    await assert.rejects(open(dir), isInUse(dir))
    await first.close()
    const again = await open(dir)
    assert.deepEqual(
      (await again.listTopics()).map((t) => t.name),
      ['t'],
    )
    await again.close()
  })

  it('startBroker refuses a data directory another broker of this process has open, and takes it once closed', async () => {
    const dir = await freshDir()
    const first = await startBroker({ storage: 'local', dataDir: dir })
    await assert.rejects(startBroker({ storage: 'local', dataDir: dir }), isInUse(dir))
    // A broker on another directory is not affected.
    const other = await startBroker({ storage: 'local', dataDir: await freshDir() })
    await other.close()
    await first.close()
    const second = await startBroker({ storage: 'local', dataDir: dir })
    await assert.rejects(startBroker({ storage: 'local', dataDir: dir }), isInUse(dir))
    await second.close()
  })

  it('a broker that fails to start releases its data directory', async () => {
    const dir = await freshDir()
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      await assert.rejects(startBroker({ storage: 'local', dataDir: dir, host: '127.0.0.1', port }), {
        code: 'EADDRINUSE',
      })
    } finally {
      taken.close()
    }
    const broker = await startBroker({ storage: 'local', dataDir: dir })
    await broker.close()
  })

  it('a closed engine can be reopened at once, and again after a simulated crash', async () => {
    const dir = await freshDir()
    const first = await open(dir)
    await first.close()
    const crashed = await open(dir)
    await crashed.abandon()
    const reopened = await open(dir)
    await reopened.close()
  })
})

/**
 * Runs the example project (examples/testing) with `node --test`, against this package as its
 * users install it (`samsa` linked into the example's node_modules, resolved through the
 * `./testing` export of package.json), so the example and the documented API stay working.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const example = join(root, 'examples', 'testing')

async function linkSamsa(): Promise<void> {
  await mkdir(join(example, 'node_modules'), { recursive: true })
  try {
    await symlink(root, join(example, 'node_modules', 'samsa'), 'dir')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

test('examples/testing passes its own node --test suite', async () => {
  await linkSamsa()
  // A child of a test file inherits NODE_TEST_CONTEXT and would refuse to run its own files.
  const env = { ...process.env }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, ['--test'], { cwd: example, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, output)
  assert.match(output, /# pass 3/)
  assert.match(output, /# fail 0/)
})

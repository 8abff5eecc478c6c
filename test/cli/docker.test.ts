/**
 * The Dockerfile: the image builds, runs `samsa broker` as a user other than root with its data
 * in the /data volume, and clients reach it; the data outlives the container. Where docker is not
 * installed or its daemon is not reachable, skipped with a message saying so.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Admin } from '../../src/client/admin.ts'
import { cli } from './helpers.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const docker = (args: string[], timeout = 60_000) => spawnSync('docker', args, { cwd: ROOT, encoding: 'utf8', timeout })
const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 })
const NO_DOCKER =
  info.error !== undefined
    ? 'docker is not installed: the image is built and started where it is'
    : info.status !== 0
      ? 'the docker daemon is not reachable here: the image is built and started where it runs'
      : false

const IMAGE = `samsa-test:${process.pid}`
const VOLUME = `samsa-test-data-${process.pid}`

describe('Dockerfile', { skip: NO_DOCKER }, () => {
  const containers: string[] = []
  after(() => {
    for (const c of containers) docker(['rm', '-f', c])
    docker(['volume', 'rm', '-f', VOLUME])
    docker(['rmi', '-f', IMAGE])
  })

  /** Starts the image on a free host port; resolves the bootstrap once a client gets an answer. */
  async function run(port: number): Promise<string> {
    const res = docker([
      'run',
      '-d',
      '-p',
      `127.0.0.1:${port}:${port}`,
      '-v',
      `${VOLUME}:/data`,
      IMAGE,
      '--data-dir',
      '/data',
      '--port',
      String(port),
      '--advertised-host',
      '127.0.0.1',
    ])
    assert.equal(res.status, 0, res.stderr)
    containers.push(res.stdout.trim())
    const bootstrap = `127.0.0.1:${port}`
    const admin = new Admin({ bootstrap, retries: 0 })
    try {
      for (let i = 0; ; i++) {
        try {
          await admin.describeCluster()
          return bootstrap
        } catch (err) {
          if (i > 150) throw err
          await new Promise((r) => setTimeout(r, 200))
        }
      }
    } finally {
      await admin.close()
    }
  }

  test('builds, runs samsa broker as a non-root user, keeps its data in the volume', { timeout: 900_000 }, async () => {
    const build = docker(['build', '-t', IMAGE, '.'], 840_000)
    assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`)
    const port = 30_000 + (process.pid % 20_000)
    let bootstrap = await run(port)
    const id = docker(['exec', containers[0] as string, 'id', '-u'])
    assert.notEqual(id.stdout.trim(), '0', 'the broker does not run as root')
    const samsa = cli(bootstrap)
    const produced = await samsa(['produce', 'kept'], { input: 'one\ntwo\n' })
    assert.equal(produced.code, 0, produced.stderr)
    // Stop the container cleanly; a new one on the same volume has the records.
    assert.equal(docker(['stop', containers[0] as string]).status, 0)
    bootstrap = await run(port)
    const read = await cli(bootstrap)(['consume', 'kept', '--from-beginning'])
    assert.equal(read.code, 0, read.stderr)
    assert.equal(read.stdout, 'one\ntwo\n')
  })
})

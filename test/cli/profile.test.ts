/** `samsa profile`: named client settings used by every command, SAMSA_PROFILE, and what wins over them. */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { runCli } from './helpers.ts'

let broker: Broker
let other: Broker
let dir: string

before(async () => {
  ;[broker, other] = await Promise.all([startBroker(), startBroker()])
  const admin = new Admin({ bootstrap: broker.bootstrap })
  await admin.createTopics([{ name: 'on-first', partitions: 1 }])
  await admin.close()
  dir = await mkdtemp(join(tmpdir(), 'samsa-profiles-'))
})
after(async () => {
  await Promise.all([broker.close(), other.close()])
  await rm(dir, { recursive: true, force: true })
})

describe('samsa profile', () => {
  test('create, use, list; commands then need no --bootstrap', async () => {
    const env = { SAMSA_CONFIG_DIR: join(dir, 'a') }
    const samsa = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extra } })

    const none = await samsa(['profile', 'list'])
    assert.equal(none.code, 0, none.stderr)
    assert.match(none.stderr, /no profiles/)

    let res = await samsa(['profile', 'create', 'first', '--bootstrap', broker.bootstrap, '--use'])
    assert.equal(res.code, 0, res.stderr)
    assert.equal(res.stderr, 'created profile first (current)\n')
    res = await samsa(['profile', 'create', 'second', '-b', other.bootstrap, '--timeout', '5000', '--client-id', 'ops'])
    assert.equal(res.code, 0, res.stderr)
    res = await samsa(['profile', 'create', 'second', '-b', other.bootstrap])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /profile second already exists \(add --force to replace it\)/)

    const list = await samsa(['profile', 'list', '--json'])
    assert.deepEqual(JSON.parse(list.stdout), [
      { name: 'first', current: true, bootstrap: broker.bootstrap, timeout: null, clientId: null },
      { name: 'second', current: false, bootstrap: other.bootstrap, timeout: 5000, clientId: 'ops' },
    ])
    const table = await samsa(['profile', 'list'])
    assert.match(table.stdout, new RegExp(`^\\*first +${broker.bootstrap.replaceAll('.', '\\.')} +- +-$`, 'm'))
    // The file is private to its user: it may hold addresses of production clusters.
    assert.equal((await stat(join(dir, 'a', 'profiles.json'))).mode & 0o777, 0o600)
    const file = await readFile(join(dir, 'a', 'profiles.json'), 'utf8')
    assert.equal((JSON.parse(file) as { current: string }).current, 'first')

    const names = async (extra: string[] = [], extraEnv: Record<string, string> = {}): Promise<string[]> => {
      const r = await samsa(['topics', 'list', '--json', ...extra], extraEnv)
      assert.equal(r.code, 0, r.stderr)
      return (JSON.parse(r.stdout) as { name: string }[]).map((t) => t.name)
    }
    assert.deepEqual(await names(), ['on-first'], 'the current profile')
    assert.deepEqual(await names([], { SAMSA_PROFILE: 'second' }), [], 'SAMSA_PROFILE picks another')
    assert.deepEqual(await names(['--profile', 'second']), [], '--profile picks another')
    assert.deepEqual(await names(['--bootstrap', broker.bootstrap], { SAMSA_PROFILE: 'second' }), ['on-first'])
    assert.deepEqual(await names([], { SAMSA_PROFILE: 'second', SAMSA_BOOTSTRAP: broker.bootstrap }), ['on-first'])

    res = await samsa(['profile', 'use', 'second'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(await names(), [])

    res = await samsa(['topics', 'list'], { SAMSA_PROFILE: 'nope' })
    assert.equal(res.code, 2)
    assert.equal(
      res.stderr,
      'samsa: error: profile nope does not exist (profiles: first, second); see samsa topics list --help\n',
    )
    res = await samsa(['profile', 'use', 'nope'])
    assert.equal(res.code, 2)

    res = await samsa(['profile', 'delete', 'second'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual((JSON.parse((await samsa(['profile', 'list', '--json'])).stdout) as unknown[]).length, 1)
  })

  test('an unreachable broker says the address came from the profile', async () => {
    const env = { SAMSA_CONFIG_DIR: join(dir, 'b') }
    await runCli(['profile', 'create', 'gone', '-b', '127.0.0.1:1', '--use'], { env })
    const res = await runCli(['topics', 'list'], { env })
    assert.equal(res.code, 3)
    assert.match(res.stderr, /is a broker running\? the address comes from profile gone; see --bootstrap\)\n$/)
  })
})

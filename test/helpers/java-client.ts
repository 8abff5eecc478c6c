/**
 * Apache Kafka's Java client (kafka-clients, from Maven Central) as a real client of the tests:
 * test/java holds small programs (JavaClient, ShareConsumerClient) that play one scenario per JVM
 * and print what they saw as JSON.
 * It is built with Maven on first use (.ci/run builds it beforehand); tests that need it are
 * skipped with JAVA_CLIENT_MISSING where java or Maven is missing or the build fails.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** test/java of the source tree (the tests run from dist/test). */
const PROJECT = fileURLToPath(new URL('../../../test/java/', import.meta.url))
const SOURCES = join(PROJECT, 'src/main/java/samsa')
const JAR = join(PROJECT, 'target/java-client-1.jar')
const DEPENDENCIES = join(PROJECT, 'target/dependency')

export const JAVA_CLIENT_MISSING =
  'the Java client cannot be built here (needs java 17+ and Maven reaching Maven Central: mvn -f test/java/pom.xml package dependency:copy-dependencies); CI builds it'

const has = (command: string, arg: string): boolean => spawnSync(command, [arg], { stdio: 'ignore' }).status === 0

/** When the newest of the programs' source files (or their pom, which names their dependencies) changed. */
function sourcesChanged(): number {
  const files = [join(PROJECT, 'pom.xml'), ...readdirSync(SOURCES).map((f) => join(SOURCES, f))]
  return Math.max(...files.map((f) => statSync(f).mtimeMs))
}

/** Builds the programs unless their jar is newer than every source; false where they cannot be built. */
function build(): boolean {
  if (!has('java', '-version')) return false
  const built = existsSync(JAR) && existsSync(DEPENDENCIES) && statSync(JAR).mtimeMs >= sourcesChanged()
  if (built) return true
  if (!has('mvn', '-v')) return false
  const mvn = spawnSync(
    'mvn',
    ['-q', '-B', '-f', join(PROJECT, 'pom.xml'), 'package', 'dependency:copy-dependencies', '-DincludeScope=runtime'],
    { stdio: 'ignore', timeout: 300_000 },
  )
  return mvn.status === 0 && existsSync(JAR)
}

/** True once the Java client is built and runnable. */
export const hasJavaClient = build()

/** The command line running one of the programs (a class of package samsa). */
export function javaCommand(mainClass: string, args: string[]): string[] {
  return ['-cp', [JAR, join(DEPENDENCIES, '*')].join(':'), `samsa.${mainClass}`, ...args]
}

/** Runs one scenario of samsa.JavaClient and returns the JSON it printed. */
export function javaClient<T>(args: string[], timeoutMs = 60_000): Promise<T> {
  return javaProgram('JavaClient', args, timeoutMs)
}

/** Runs one scenario of a program of test/java (samsa.<mainClass>) and returns the JSON it printed last. */
export function javaProgram<T>(mainClass: string, args: string[], timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      'java',
      javaCommand(mainClass, args),
      { timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`Java client ${args.join(' ')} failed: ${err.message}\n${stderr}`))
          return
        }
        const last = stdout.trim().split('\n').at(-1) ?? ''
        try {
          resolve(JSON.parse(last) as T)
        } catch {
          reject(new Error(`Java client ${args[0]} printed no JSON:\n${stdout}\n${stderr}`))
        }
      },
    )
  })
}

/** A long-lived program of test/java that prints one JSON line per event, until its standard input closes. */
export interface JavaProcess<E> {
  readonly child: ChildProcessWithoutNullStreams
  /** Every event printed so far, in order. */
  readonly events: E[]
  /** The end of what it wrote to standard error (kept for failure messages). */
  stderr(): string
  /** Closes its standard input (the program's cue to finish) and resolves once it exited. */
  stop(): Promise<void>
}

/** Starts samsa.<mainClass> of test/java; each line it prints is parsed as JSON into `events`. */
export function startJavaProcess<E>(mainClass: string, args: string[]): JavaProcess<E> {
  const child = spawn('java', javaCommand(mainClass, args))
  const events: E[] = []
  let partial = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line) as E)
  })
  let errors = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    errors = (errors + chunk).slice(-8192)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    events,
    stderr: () => errors,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end()
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(killer)
      }
    },
  }
}

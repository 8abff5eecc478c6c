/**
 * Apache Kafka's Java client (kafka-clients, from Maven Central) as a real client of the tests:
 * test/java holds a small program that plays one scenario per JVM and prints what it saw as JSON.
 * It is built with Maven on first use (.ci/run builds it beforehand); tests that need it are
 * skipped with JAVA_CLIENT_MISSING where java or Maven is missing or the build fails.
 */
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** test/java of the source tree (the tests run from dist/test). */
const PROJECT = fileURLToPath(new URL('../../../test/java/', import.meta.url))
const SOURCE = join(PROJECT, 'src/main/java/samsa/JavaClient.java')
const JAR = join(PROJECT, 'target/java-client-1.jar')
const DEPENDENCIES = join(PROJECT, 'target/dependency')

export const JAVA_CLIENT_MISSING =
  'the Java client cannot be built here (needs java 17+ and Maven reaching Maven Central: mvn -f test/java/pom.xml package dependency:copy-dependencies); CI builds it'

const has = (command: string, arg: string): boolean => spawnSync(command, [arg], { stdio: 'ignore' }).status === 0

/** Builds the program unless its jar is newer than its source; false where it cannot be built. */
function build(): boolean {
  if (!has('java', '-version')) return false
  const built = existsSync(JAR) && existsSync(DEPENDENCIES) && statSync(JAR).mtimeMs >= statSync(SOURCE).mtimeMs
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

/** Runs one scenario of samsa.JavaClient and returns the JSON it printed. */
export function javaClient<T>(args: string[], timeoutMs = 60_000): Promise<T> {
  const classpath = [JAR, join(DEPENDENCIES, '*')].join(':')
  return new Promise((resolve, reject) => {
    execFile(
      'java',
      ['-cp', classpath, 'samsa.JavaClient', ...args],
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

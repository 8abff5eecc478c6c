/**
 * What the kafka-perf section runs besides samsa, built or fetched on first use into a cache
 * directory outside the repository ($SAMSA_BENCH_CACHE, else ~/.cache/samsa-bench), never into
 * the package:
 * - rdkafka_performance, librdkafka's own performance client (its examples/rdkafka_performance.c),
 *   and bench/kafka-perf/mock-cluster.c, both linked with the librdkafka that the install of
 *   @confluentinc/kafka-javascript built under its deps/librdkafka. That npm package ships
 *   librdkafka without its examples, so the example's source is taken from the rdkafka-sys crate
 *   (which carries librdkafka's whole source tree), fetched with cargo.
 * - Apache Kafka's broker: org.apache.kafka:kafka_2.13 and its runtime dependencies from Maven
 *   Central (bench/kafka-perf/pom.xml, mvn dependency:copy-dependencies), run with java ≥ 17.
 * Each returns what it has, or why not, so that the section skips a column instead of failing.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type Found<T> = { ok: true; value: T } | { ok: false; reason: string }

/** The crate whose librdkafka source tree holds examples/rdkafka_performance.c. */
const RDKAFKA_SYS = '4.10.0'
/** Kafka's version: pom.xml names the same one. */
export const KAFKA_VERSION = '4.4.0'
const SOURCES = fileURLToPath(new URL('../../bench/kafka-perf/', import.meta.url))

export function cacheDir(): string {
  return process.env.SAMSA_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'samsa-bench')
}

/** Runs a command to completion; rejects with the end of its output when it fails. */
function run(cmd: string, args: string[], cwd?: string, timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${`${stdout}${stderr}`.slice(-2000)}`))
      else resolve(`${stdout}${stderr}`)
    })
  })
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err))

export interface RdkafkaTools {
  /** The rdkafka_performance binary. */
  perf: string
  /** The mock-cluster binary: args are topics, prints the bootstrap servers, serves until stdin closes. */
  mock: string
  /** librdkafka's version, e.g. 2.15.1. */
  version: string
}

interface Librdkafka {
  root: string
  /** The static library (librdkafka.a). */
  archive: string
  version: string
  /** The libraries librdkafka.a was configured to link with. */
  libs: string[]
}

async function librdkafka(): Promise<Librdkafka> {
  const pkg = createRequire(import.meta.url).resolve('@confluentinc/kafka-javascript/package.json')
  const root = join(dirname(pkg), 'deps', 'librdkafka')
  // The static library stays in the source tree after the build, and is copied beside the binding.
  const archive = [join(root, 'src', 'librdkafka.a'), join(dirname(pkg), 'build', 'deps', 'librdkafka.a')].find((a) =>
    existsSync(a),
  )
  if (archive === undefined || !existsSync(join(root, 'config.h'))) throw new Error(`no built librdkafka in ${root}`)
  const header = await readFile(join(root, 'src', 'rdkafka.h'), 'utf8')
  const hex = /#define RD_KAFKA_VERSION 0x([0-9a-f]{8})/i.exec(header)?.[1]
  if (hex === undefined) throw new Error('no RD_KAFKA_VERSION in rdkafka.h')
  const n = Number.parseInt(hex, 16)
  const version = `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}`
  const config = await readFile(join(root, 'Makefile.config'), 'utf8')
  const libs = [...config.matchAll(/^LIBS\+=(.*)$/gm)].flatMap((m) => (m[1] ?? '').trim().split(/\s+/))
  return { root, archive, version, libs: [...new Set(libs.filter((l) => l !== ''))] }
}

/** examples/rdkafka_performance.c from the rdkafka-sys crate, fetched once with `cargo vendor`. */
async function performanceSource(cache: string): Promise<string> {
  const project = join(cache, 'rdkafka-sys')
  const vendor = join(project, 'vendor')
  const found = (): string | undefined => {
    // --versioned-dirs names it rdkafka-sys-<crate version>+<librdkafka version>.
    const dir = existsSync(vendor)
      ? readdirSync(vendor).find((d) => d.startsWith(`rdkafka-sys-${RDKAFKA_SYS}`))
      : undefined
    const file = dir === undefined ? undefined : join(vendor, dir, 'librdkafka', 'examples', 'rdkafka_performance.c')
    return file !== undefined && existsSync(file) ? file : undefined
  }
  const cached = found()
  if (cached !== undefined) return cached
  await mkdir(join(project, 'src'), { recursive: true })
  await writeFile(
    join(project, 'Cargo.toml'),
    `[package]\nname = "samsa-bench-librdkafka-source"\nversion = "0.0.0"\nedition = "2021"\n\n` +
      `[dependencies]\nrdkafka-sys = { version = "=${RDKAFKA_SYS}", default-features = false }\n`,
  )
  await writeFile(join(project, 'src', 'lib.rs'), '')
  await run('cargo', ['vendor', '--versioned-dirs', 'vendor'], project)
  const file = found()
  if (file === undefined) throw new Error(`cargo vendor left no rdkafka_performance.c under ${vendor}`)
  return file
}

/** Compiles one C file against librdkafka's static library; the output appears only when complete. */
async function compile(lib: Librdkafka, source: string, out: string): Promise<void> {
  const partial = `${out}.partial`
  // -I src: the example includes "../src/rd.h" and "rdkafka.h"; -I root: config.h.
  await run('cc', ['-O2', '-I', join(lib.root, 'src'), '-I', lib.root, source, '-o', partial, lib.archive, ...lib.libs])
  await rename(partial, out)
}

/** Builds (once per librdkafka version) rdkafka_performance and the mock cluster process. */
export async function rdkafkaTools(): Promise<Found<RdkafkaTools>> {
  try {
    const lib = await librdkafka()
    const dir = join(cacheDir(), `librdkafka-${lib.version}`)
    await mkdir(dir, { recursive: true })
    const perf = join(dir, 'rdkafka_performance')
    const mock = join(dir, 'mock-cluster')
    if (!existsSync(perf)) await compile(lib, await performanceSource(cacheDir()), perf)
    // Rebuilt every run: it is small, and its source is the repository's.
    await rm(mock, { force: true })
    await compile(lib, join(SOURCES, 'mock-cluster.c'), mock)
    return { ok: true, value: { perf, mock, version: lib.version } }
  } catch (err) {
    return { ok: false, reason: reason(err) }
  }
}

export interface KafkaDist {
  java: string
  /** The classpath: every jar of the broker. */
  classpath: string
}

/** The major version `java -version` reports, e.g. 17. */
async function javaMajor(java: string): Promise<number> {
  const out = await run(java, ['-version'], undefined, 60_000)
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out)
  const major = Number(m?.[1])
  return major === 1 ? Number(m?.[2]) : major
}

/** Kafka's broker jars (fetched once with Maven) and a java that runs them (Kafka 4 needs 17+). */
export async function kafkaDist(): Promise<Found<KafkaDist>> {
  try {
    const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
    const major = await javaMajor(java)
    if (!(major >= 17)) throw new Error(`${java} is Java ${major}; Kafka ${KAFKA_VERSION}'s broker needs 17 or newer`)
    const dir = join(cacheDir(), `kafka-${KAFKA_VERSION}`)
    const libs = join(dir, 'libs')
    const done = join(dir, 'complete')
    if (!existsSync(done)) {
      await rm(libs, { recursive: true, force: true })
      await run('mvn', [
        '-B',
        '-q',
        '-f',
        join(SOURCES, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${libs}`,
        '-DincludeScope=runtime',
      ])
      await writeFile(done, '')
    }
    return { ok: true, value: { java, classpath: join(libs, '*') } }
  } catch (err) {
    return { ok: false, reason: reason(err) }
  }
}

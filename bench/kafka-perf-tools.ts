/**
 * What the kafka-perf section runs besides samsa, built or fetched on first use into a cache
 * directory outside the repository ($SAMSA_BENCH_CACHE, else ~/.cache/samsa-bench), never into
 * the package:
 * - rdkafka_performance, librdkafka's own performance client (its examples/rdkafka_performance.c),
 *   and bench/kafka-perf/mock-cluster.c, both linked with the librdkafka that the install of
 *   @confluentinc/kafka-javascript built under its deps/librdkafka. That npm package ships
 *   librdkafka without its examples, so the example's source is taken from the rdkafka-sys crate
 *   (which carries librdkafka's whole source tree), fetched with cargo.
 * Apache Kafka's broker comes from test/helpers/apache-kafka.ts, which the differential tests share.
 * Each returns what it has, or why not, so that the section skips a column instead of failing.
 */
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cacheDir, type Found, reason, runCommand as run } from '../test/helpers/apache-kafka.ts'

/** The crate whose librdkafka source tree holds examples/rdkafka_performance.c. */
const RDKAFKA_SYS = '4.10.0'
const SOURCES = fileURLToPath(new URL('../../bench/kafka-perf/', import.meta.url))

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

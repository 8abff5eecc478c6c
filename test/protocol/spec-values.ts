/**
 * Test helpers that read the Kafka JSON message specs directly (independently of the generator):
 * spec loading (both sets of protocol-specs/ merged by scripts/protocol-specs.ts, as the generator
 * sees them), version ranges, defaults, seeded random values for a given version, and a small
 * spec-interpreting reference encoder that follows the rules of Kafka's MessageDataGenerator.
 * The generated codecs are checked against these.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type FieldSpec, loadMergedSpecs, type MessageSpec, PRIMITIVES } from '../../scripts/protocol-specs.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'

export type { FieldSpec, MessageSpec }

export type Value = null | boolean | number | bigint | string | Buffer | Value[] | ValueObject
export interface ValueObject {
  [key: string]: Value
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

/** The repository root, found by walking up from this file (works from src and from dist). */
function repoRoot(): string {
  let dir = new URL('./', import.meta.url)
  for (let i = 0; i < 6; i++) {
    if (existsSync(fileURLToPath(new URL('protocol-specs/', dir)))) return fileURLToPath(dir)
    dir = new URL('../', dir)
  }
  throw new Error('protocol-specs/ not found above the test directory')
}

/** protocol-specs/ of this checkout. */
export const specRoot = `${repoRoot()}protocol-specs/`
let merged: Map<string, MessageSpec> | undefined

/** The merged spec of a message, by its name in the newer set (e.g. `FetchRequest`). */
export function loadSpec(name: string): MessageSpec {
  merged ??= loadMergedSpecs(specRoot)
  const spec = merged.get(name)
  if (spec === undefined) throw new Error(`no spec ${name} in ${specRoot}`)
  return spec
}

/** Whether `version` lies in a spec range such as "0+", "3-7", "5" or "none". */
export function inRange(range: string | undefined, version: number): boolean {
  if (range === undefined || range === 'none') return false
  if (range.endsWith('+')) return version >= Number(range.slice(0, -1))
  const [lo, hi] = range.split('-')
  return version >= Number(lo) && version <= Number(hi ?? lo)
}

export const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1)

/** A field's type resolved: array or not, element type, nested struct fields if any. */
export interface FieldType {
  isArray: boolean
  elem: string
  struct: FieldSpec[] | undefined
}

export function fieldType(spec: MessageSpec, f: FieldSpec): FieldType {
  const isArray = f.type.startsWith('[]')
  const elem = isArray ? f.type.slice(2) : f.type
  let struct = f.fields
  if (struct === undefined && !PRIMITIVES.has(elem)) {
    struct = spec.commonStructs?.find((c) => c.name === elem)?.fields
    if (struct === undefined) throw new Error(`unknown type ${elem} in ${spec.name}`)
  }
  return { isArray, elem, struct }
}

/** The default of a struct: every field at its spec default. */
export function defaultStruct(spec: MessageSpec, fields: FieldSpec[]): ValueObject {
  const o: ValueObject = {}
  for (const f of fields) o[camel(f.name)] = defaultValue(spec, f)
  return o
}

/** A field's spec default, as Kafka's generator defines it. */
export function defaultValue(spec: MessageSpec, f: FieldSpec): Value {
  const d = f.default === undefined ? undefined : String(f.default)
  if (d === 'null') return null
  const t = fieldType(spec, f)
  if (t.isArray) return []
  if (t.struct) return defaultStruct(spec, t.struct)
  switch (t.elem) {
    case 'bool':
      return d === 'true'
    case 'int64':
      return d === undefined || d === '' ? 0n : BigInt(d)
    case 'string':
      return d ?? ''
    case 'uuid':
      return ZERO_UUID
    case 'bytes':
      return Buffer.alloc(0)
    case 'records':
      return null
    default:
      return d === undefined || d === '' ? 0 : Number(d)
  }
}

/** The whole message at its defaults. */
export function defaultMessage(spec: MessageSpec): ValueObject {
  return defaultStruct(spec, spec.fields)
}

/** A small seeded PRNG (mulberry32), so every failure names a reproducible seed. */
export class Rng {
  #s: number
  constructor(seed: number) {
    this.#s = seed >>> 0
  }
  /** A float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0
    let t = this.#s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** An integer in [lo, hi] (both within ±2^53). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255)
    return b
  }
}

/** Integer ranges by type, edges included in the random picks. */
const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
}

const TEXT_PIECES = ['a', 'b', 'z', '0', '-', '.', '_', ' ', 'é', 'ß', '€', '日本', '😀', 'topic', '\u0000']

function randomString(rng: Rng): string {
  const n = rng.int(0, 6)
  let s = ''
  for (let i = 0; i < n; i++) s += rng.pick(TEXT_PIECES)
  return s
}

function randomUuid(rng: Rng): string {
  if (rng.chance(0.1)) return ZERO_UUID
  const h = rng.bytes(16).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function randomInt64(rng: Rng): bigint {
  const r = rng.next()
  if (r < 0.1) return -(2n ** 63n)
  if (r < 0.2) return 2n ** 63n - 1n
  if (r < 0.3) return -1n
  if (r < 0.5) return BigInt(rng.int(-1000, 1000))
  return BigInt.asIntN(64, rng.bytes(8).readBigUInt64BE(0))
}

function randomScalar(rng: Rng, elem: string): Value {
  const range = INT_RANGE[elem]
  if (range !== undefined) {
    const r = rng.next()
    if (r < 0.1) return range[0]
    if (r < 0.2) return range[1]
    if (r < 0.3) return Math.max(range[0], -1)
    if (r < 0.5) return rng.int(Math.max(range[0], -10), Math.min(range[1], 10))
    return rng.int(range[0], range[1])
  }
  switch (elem) {
    case 'bool':
      return rng.chance(0.5)
    case 'int64':
      return randomInt64(rng)
    case 'float64':
      return rng.pick([
        0,
        -0,
        1.5,
        -2.25,
        Number.MAX_VALUE,
        Number.MIN_VALUE,
        Number.POSITIVE_INFINITY,
        rng.next() * 1e6,
      ])
    case 'string':
      return randomString(rng)
    case 'uuid':
      return randomUuid(rng)
    case 'bytes':
      return rng.bytes(rng.int(0, 8))
    case 'records':
      return rng.bytes(rng.int(0, 24))
    default:
      throw new Error(`no random value for ${elem}`)
  }
}

/** Options for random value generation. */
export interface RandomOptions {
  /** Probability that a tagged field keeps its default (and so is left out of the encoding). */
  taggedDefault?: number
  /** Give every tagged field its default. */
  noTags?: boolean
}

/**
 * A random value for `fields` at `version`: every field present in the version gets a random
 * valid value (null only where the version allows it), every absent field its spec default.
 */
export function randomStruct(
  spec: MessageSpec,
  fields: FieldSpec[],
  version: number,
  rng: Rng,
  depth = 0,
  opts: RandomOptions = {},
): ValueObject {
  const o: ValueObject = {}
  for (const f of fields) {
    const key = camel(f.name)
    const tagged = inRange(f.taggedVersions, version)
    if (!inRange(f.versions, version) || (tagged && (opts.noTags || rng.chance(opts.taggedDefault ?? 0.3)))) {
      o[key] = defaultValue(spec, f)
      continue
    }
    if (inRange(f.nullableVersions, version) && rng.chance(0.2)) {
      o[key] = null
      continue
    }
    const t = fieldType(spec, f)
    const one = (): Value =>
      t.struct ? randomStruct(spec, t.struct, version, rng, depth + 1, opts) : randomScalar(rng, t.elem)
    if (t.isArray) {
      const n = rng.int(0, depth >= 3 ? 1 : 3)
      const a: Value[] = []
      for (let i = 0; i < n; i++) a.push(one())
      o[key] = a
    } else o[key] = one()
  }
  return o
}

export function randomMessage(spec: MessageSpec, version: number, rng: Rng, opts: RandomOptions = {}): ValueObject {
  return randomStruct(spec, spec.fields, version, rng, 0, opts)
}

// ---------------------------------------------------------------------------------------------
// Reference encoder: interprets the spec at run time, following Kafka's generated write() rules.

/** Thrown by the reference encoder where Kafka throws UnsupportedVersionException. */
export class ReferenceUnsupported extends Error {}

/** Kafka's "is this field at its default?" check (MessageDataGenerator's non-default checks). */
export function isDefault(spec: MessageSpec, f: FieldSpec, v: Value): boolean {
  const d = defaultValue(spec, f)
  if (d === null) return v === null
  if (v === null) return false
  const t = fieldType(spec, f)
  if (t.isArray) return Array.isArray(v) && v.length === 0
  if (Buffer.isBuffer(d)) return Buffer.isBuffer(v) && v.length === 0
  if (t.struct) return structEquals(v, d)
  // Primitive comparison as Java's `!=` / equals: -0.0 equals 0.0.
  return v === d
}

function structEquals(a: Value, b: Value): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b)
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => structEquals(x, b[i] ?? null))
    )
  }
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => structEquals(a[k] ?? null, b[k] ?? null))
}

function writeScalar(w: Writer, elem: string, v: Value, nullable: boolean, compact: boolean): void {
  switch (elem) {
    case 'bool':
      w.writeBool(v as boolean)
      return
    case 'int8':
      w.writeInt8(v as number)
      return
    case 'int16':
      w.writeInt16(v as number)
      return
    case 'uint16':
      w.writeUInt16(v as number)
      return
    case 'int32':
      w.writeInt32(v as number)
      return
    case 'uint32':
      w.writeUInt32(v as number)
      return
    case 'int64':
      w.writeInt64(v as bigint)
      return
    case 'float64':
      w.writeFloat64(v as number)
      return
    case 'uuid':
      w.writeUuid(v as string)
      return
    case 'string': {
      if (v === null && !nullable) throw new ReferenceUnsupported('null in a non-nullable string')
      const s = v as string | null
      if (compact) w.writeCompactNullableString(s)
      else w.writeNullableString(s)
      return
    }
    default: {
      // bytes, records
      if (v === null && !nullable) throw new ReferenceUnsupported('null in non-nullable bytes')
      const b = v as Buffer | null
      if (compact) w.writeCompactNullableBytes(b)
      else w.writeNullableBytes(b)
    }
  }
}

function writeField(
  spec: MessageSpec,
  w: Writer,
  f: FieldSpec,
  v: Value,
  version: number,
  flexible: boolean,
  tagged: boolean,
): void {
  const t = fieldType(spec, f)
  const nullable = inRange(f.nullableVersions, version)
  const compact = tagged || (f.flexibleVersions === undefined ? flexible : inRange(f.flexibleVersions, version))
  if (v === null && !nullable) throw new ReferenceUnsupported(`${f.name} cannot be null in version ${version}`)
  if (t.isArray) {
    const a = v as Value[] | null
    const n = a === null ? -1 : a.length
    if (compact) w.writeUVarint(n + 1)
    else w.writeInt32(n)
    for (const e of a ?? []) {
      if (t.struct) writeStruct(spec, w, t.struct, e as ValueObject, version, flexible)
      else writeScalar(w, t.elem, e, false, compact)
    }
    return
  }
  if (t.struct) {
    if (nullable) w.writeInt8(v === null ? -1 : 1)
    if (v !== null) writeStruct(spec, w, t.struct, v as ValueObject, version, flexible)
    return
  }
  writeScalar(w, t.elem, v, nullable, compact)
}

export function writeStruct(
  spec: MessageSpec,
  w: Writer,
  fields: FieldSpec[],
  m: ValueObject,
  version: number,
  flexible: boolean,
): void {
  const tags: { tag: number; bytes: Buffer }[] = []
  for (const f of fields) {
    const v = m[camel(f.name)] ?? null
    if (!inRange(f.versions, version)) {
      if (!f.ignorable && !isDefault(spec, f, v)) {
        throw new ReferenceUnsupported(`${f.name} cannot be set in version ${version}`)
      }
      continue
    }
    if (inRange(f.taggedVersions, version)) {
      if (isDefault(spec, f, v)) continue
      const t = new Writer(64)
      writeField(spec, t, f, v, version, flexible, true)
      tags.push({ tag: f.tag as number, bytes: t.toBuffer() })
      continue
    }
    writeField(spec, w, f, v, version, flexible, false)
  }
  if (flexible) {
    tags.sort((a, b) => a.tag - b.tag)
    w.writeUVarint(tags.length)
    for (const t of tags) {
      w.writeUVarint(t.tag)
      w.writeUVarint(t.bytes.length)
      w.writeRaw(t.bytes)
    }
  }
}

/** Encodes `m` as Kafka's generated `write()` would, for comparison with the generated encoders. */
export function referenceEncode(spec: MessageSpec, version: number, m: ValueObject): Buffer {
  const w = new Writer(256)
  writeStruct(spec, w, spec.fields, m, version, inRange(spec.flexibleVersions, version))
  return w.toBuffer()
}

/** Every [lo, hi] of a "lo-hi" / "lo+" validVersions. */
export function validRange(spec: MessageSpec): [number, number] {
  const r = spec.validVersions
  if (r.endsWith('+')) throw new Error(`open validVersions in ${spec.name}`)
  const [lo, hi] = r.split('-')
  return [Number(lo), Number(hi ?? lo)]
}

/**
 * Writes src/protocol/generated/ from the Kafka JSON message specs in protocol-specs/: both sets
 * merged as scripts/protocol-specs.ts describes, so every version either set lists is generated.
 * One module per API (request and response, every version) with typed interfaces, `createX`
 * factories holding the spec defaults, and straight-line `decodeX` / `encodeX` functions that
 * branch on the version number: nothing reads the schema at run time.
 *
 * Run with `npm run gen`; CI regenerates and fails if the checked-in output differs.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type FieldSpec, loadMergedSpecs, type MessageSpec } from './protocol-specs.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const specDir = `${root}protocol-specs/`
const outDir = `${root}src/protocol/generated/`

/** An inclusive version range; an empty range has lo > hi. */
interface Range {
  lo: number
  hi: number
}

const MAX = 0x7fff
const NONE: Range = { lo: 1, hi: 0 }

function parseRange(s: string | undefined): Range {
  if (s === undefined || s === 'none') return NONE
  if (s.endsWith('+')) return { lo: Number(s.slice(0, -1)), hi: MAX }
  const [a, b] = s.split('-')
  return { lo: Number(a), hi: Number(b ?? a) }
}

function intersect(a: Range, b: Range): Range {
  return { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) }
}

function isEmpty(r: Range): boolean {
  return r.lo > r.hi
}

/**
 * A TypeScript condition that is true for versions in `r`, knowing the version lies in `valid`.
 * Returns 'true' or 'false' when the answer does not depend on the version.
 */
function cond(r: Range, valid: Range): string {
  const i = intersect(r, valid)
  if (isEmpty(i)) return 'false'
  const parts: string[] = []
  if (i.lo > valid.lo) parts.push(`version >= ${i.lo}`)
  if (i.hi < valid.hi) parts.push(`version <= ${i.hi}`)
  return parts.length === 0 ? 'true' : parts.join(' && ')
}

const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1)
const kebab = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()

const PRIMITIVE_TS: Record<string, string> = {
  bool: 'boolean',
  int8: 'number',
  int16: 'number',
  uint16: 'number',
  int32: 'number',
  uint32: 'number',
  int64: 'bigint',
  float64: 'number',
  string: 'string',
  uuid: 'string',
  bytes: 'Buffer',
  records: 'Buffer',
}

const FIXED_READ: Record<string, string> = {
  bool: 'Bool',
  int8: 'Int8',
  int16: 'Int16',
  uint16: 'UInt16',
  int32: 'Int32',
  uint32: 'UInt32',
  int64: 'Int64',
  float64: 'Float64',
  uuid: 'Uuid',
}

/** A message or struct after names are resolved. */
interface Struct {
  tsName: string
  fields: Field[]
  about?: string
}

interface Field {
  spec: FieldSpec
  prop: string
  /** Element type for arrays, the type itself otherwise. */
  elem: string
  isArray: boolean
  struct: Struct | undefined
  versions: Range
  nullable: Range
  tagged: Range
  /** Versions in which string lengths are compact (field override of the message's). */
  flexible: Range
}

class ModuleWriter {
  lines: string[] = []
  structs: Struct[] = []
  usedNames = new Set<string>()

  line(s = ''): void {
    this.lines.push(s)
  }
}

/** Resolves a message's fields and nested structs into Struct objects, naming each struct once. */
function buildStruct(
  mod: ModuleWriter,
  tsName: string,
  fields: FieldSpec[],
  common: Map<string, FieldSpec[]>,
  flexible: Range,
  prefix: string,
  about?: string,
): Struct {
  const struct: Struct = { tsName, fields: [], about }
  mod.structs.push(struct)
  for (const f of fields) {
    const isArray = f.type.startsWith('[]')
    const elem = isArray ? f.type.slice(2) : f.type
    let nested: Struct | undefined
    if (!(elem in PRIMITIVE_TS)) {
      const nestedFields = f.fields ?? common.get(elem)
      if (nestedFields === undefined) throw new Error(`unknown type ${elem} in ${tsName}`)
      let name = elem
      if (mod.usedNames.has(name)) name = prefix + elem
      if (mod.usedNames.has(name)) {
        // A third field of one common struct (StreamsGroupDescribe's KeyValue) shares an earlier copy.
        const same = JSON.stringify(nestedFields)
        nested = mod.structs.find(
          (s) => (s.tsName === name || s.tsName === elem) && JSON.stringify(s.fields.map((x) => x.spec)) === same,
        )
        if (nested === undefined) throw new Error(`struct name collision: ${name}`)
      } else {
        mod.usedNames.add(name)
        nested = buildStruct(mod, name, nestedFields, common, flexible, prefix, f.about)
      }
    }
    struct.fields.push({
      spec: f,
      prop: camel(f.name),
      elem,
      isArray,
      struct: nested,
      versions: parseRange(f.versions),
      nullable: parseRange(f.nullableVersions),
      tagged: parseRange(f.taggedVersions),
      flexible: f.flexibleVersions === undefined ? flexible : parseRange(f.flexibleVersions),
    })
  }
  return struct
}

function tsType(f: Field, valid: Range): string {
  const base = f.struct ? f.struct.tsName : (PRIMITIVE_TS[f.elem] as string)
  const t = f.isArray ? `${base}[]` : base
  // A records field defaults to null, as in Kafka, also where no version may send null.
  return isEmpty(intersect(f.nullable, valid)) && f.elem !== 'records' ? t : `${t} | null`
}

/** The spec default of a field as a TypeScript expression. */
function defaultExpr(f: Field): string {
  const d = f.spec.default === undefined ? undefined : String(f.spec.default)
  if (d === 'null') return 'null'
  if (f.isArray) return '[]'
  if (f.struct) return `create${f.struct.tsName}()`
  switch (f.elem) {
    case 'bool':
      return d === 'true' ? 'true' : 'false'
    case 'int64':
      return `${d === undefined || d === '' ? '0' : BigInt(d).toString()}n`
    case 'string':
      return JSON.stringify(d ?? '')
    case 'uuid':
      return 'ZERO_UUID'
    case 'bytes':
      return 'EMPTY_BYTES'
    case 'records':
      return 'null'
    default:
      return d === undefined || d === '' ? '0' : String(Number(d))
  }
}

/** An expression reading one scalar of `type` with reader `r`. */
function readScalar(type: string, r: string, nullable: string, compact: string): string {
  const fixed = FIXED_READ[type]
  if (fixed) return `${r}.read${fixed}()`
  const kind = type === 'string' ? 'String' : 'Bytes'
  const pick = (c: string, n: string): string => `${r}.read${c}${n}${kind}()`
  const byNull = (c: string): string =>
    nullable === 'true'
      ? pick(c, 'Nullable')
      : nullable === 'false'
        ? pick(c, '')
        : `(${nullable} ? ${pick(c, 'Nullable')} : ${pick(c, '')})`
  if (compact === 'true') return byNull('Compact')
  if (compact === 'false') return byNull('')
  return `(${compact} ? ${byNull('Compact')} : ${byNull('')})`
}

function writeScalar(type: string, w: string, v: string, nullable: string, compact: string): string {
  const fixed = FIXED_READ[type]
  if (fixed) return `${w}.write${fixed}(${v})`
  const kind = type === 'string' ? 'String' : 'Bytes'
  const pick = (c: string, n: string, val: string): string => `${w}.write${c}${n}${kind}(${val})`
  const byNull = (c: string): string =>
    nullable === 'true'
      ? pick(c, 'Nullable', v)
      : nullable === 'false'
        ? pick(c, '', `notNull(${v})`)
        : `${nullable} ? ${pick(c, 'Nullable', v)} : ${pick(c, '', `notNull(${v})`)}`
  if (compact === 'true') return byNull('Compact')
  if (compact === 'false') return byNull('')
  return `if (${compact}) ${byNull('Compact')}\n else ${byNull('')}`
}

function emitInterface(mod: ModuleWriter, s: Struct, valid: Range): void {
  if (s.about) mod.line(`/** ${s.about} */`)
  if (s.fields.length === 0) mod.line(`export type ${s.tsName} = Record<string, never>`)
  else mod.line(`export interface ${s.tsName} {`)
  for (const f of s.fields) {
    const notes: string[] = []
    if (f.spec.about) notes.push(f.spec.about)
    notes.push(`Versions ${f.spec.versions}${f.spec.taggedVersions ? ` (tagged ${f.spec.tag})` : ''}.`)
    mod.line(`  /** ${notes.join(' ').replaceAll('*/', '*\\/')} */`)
    mod.line(`  ${f.prop}: ${tsType(f, valid)}`)
  }
  if (s.fields.length > 0) mod.line('}')
  mod.line()
  mod.line(`/** A ${s.tsName} holding the spec defaults, overridden by \`init\`. */`)
  if (s.fields.length === 0) {
    mod.line(`export function create${s.tsName}(): ${s.tsName} {`)
    mod.line('  return {}')
  } else {
    mod.line(`export function create${s.tsName}(init?: Partial<${s.tsName}>): ${s.tsName} {`)
    mod.line('  return {')
    for (const f of s.fields) mod.line(`    ${f.prop}: ${defaultExpr(f)},`)
    mod.line('    ...init,')
    mod.line('  }')
  }
  mod.line('}')
  mod.line()
}

/** Emits statements that read field `f` into the existing variable `target`. */
function emitRead(mod: ModuleWriter, f: Field, valid: Range, r: string, target: string, tagged: boolean): void {
  const fieldValid = intersect(valid, f.versions)
  const nullable = cond(f.nullable, fieldValid)
  const compact = tagged ? 'true' : cond(f.flexible, fieldValid)
  const flexArg = compact
  if (!f.isArray) {
    if (f.struct) {
      if (nullable !== 'false') {
        // A nullable struct is prefixed by an int8: -1 for null, 1 for present.
        const isNull = `${r}.readInt8() < 0`
        mod.line(`if (${nullable === 'true' ? isNull : `(${nullable}) && ${isNull}`}) ${target} = null`)
        mod.line(`else ${target} = decode${f.struct.tsName}(${r}, version)`)
      } else mod.line(`${target} = decode${f.struct.tsName}(${r}, version)`)
      return
    }
    mod.line(`${target} = ${readScalar(f.elem, r, nullable, compact)}`)
    return
  }
  const elemRead = f.struct ? `decode${f.struct.tsName}(${r}, version)` : readScalar(f.elem, r, 'false', compact)
  mod.line('{')
  mod.line(`  const n = ${r}.readArrayLength(${flexArg})`)
  if (nullable === 'false') {
    mod.line(`  if (n < 0) ${r}.fail('null array ${f.spec.name}')`)
  } else if (nullable !== 'true') {
    mod.line(`  if (n < 0 && !(${nullable})) ${r}.fail('null array ${f.spec.name}')`)
  }
  const elemType = f.struct ? f.struct.tsName : (PRIMITIVE_TS[f.elem] as string)
  if (nullable === 'false') {
    mod.line(`  const a: ${elemType}[] = []`)
    mod.line(`  for (let i = 0; i < n; i++) a.push(${elemRead})`)
    mod.line(`  ${target} = a`)
  } else {
    mod.line('  if (n < 0) {')
    mod.line(`    ${target} = null`)
    mod.line('  } else {')
    mod.line(`    const a: ${elemType}[] = []`)
    mod.line(`    for (let i = 0; i < n; i++) a.push(${elemRead})`)
    mod.line(`    ${target} = a`)
    mod.line('  }')
  }
  mod.line('}')
}

function emitWrite(mod: ModuleWriter, f: Field, valid: Range, w: string, v: string, tagged: boolean): void {
  const fieldValid = intersect(valid, f.versions)
  const nullable = cond(f.nullable, fieldValid)
  const compact = tagged ? 'true' : cond(f.flexible, fieldValid)
  if (!f.isArray) {
    if (f.struct) {
      if (nullable !== 'false') {
        mod.line(`if (${v} === null) {`)
        if (nullable !== 'true') mod.line(`  if (!(${nullable})) throw nullInVersion('${f.spec.name}', version)`)
        mod.line(`  ${w}.writeInt8(-1)`)
        mod.line('} else {')
        if (nullable === 'true') mod.line(`  ${w}.writeInt8(1)`)
        else mod.line(`  if (${nullable}) ${w}.writeInt8(1)`)
        mod.line(`  encode${f.struct.tsName}(${w}, version, ${v})`)
        mod.line('}')
      } else mod.line(`encode${f.struct.tsName}(${w}, version, ${v})`)
      return
    }
    mod.line(writeScalar(f.elem, w, v, nullable, compact))
    return
  }
  const elemWrite = (e: string): string =>
    f.struct ? `encode${f.struct.tsName}(${w}, version, ${e})` : writeScalar(f.elem, w, e, 'false', compact)
  mod.line('{')
  mod.line(`  const a = ${v}`)
  if (nullable !== 'false') {
    mod.line('  if (a === null) {')
    if (nullable !== 'true') mod.line(`    if (!(${nullable})) throw nullInVersion('${f.spec.name}', version)`)
    mod.line(`    ${w}.writeArrayLength(-1, ${compact})`)
    mod.line('  } else {')
  }
  mod.line(`  ${w}.writeArrayLength(a.length, ${compact})`)
  mod.line(`  for (const e of a) ${elemWrite('e')}`)
  if (nullable !== 'false') mod.line('  }')
  mod.line('}')
}

/**
 * An expression that is true when `v` differs from the field's default (for tags and absent
 * versions), as Kafka's generator checks it: a null array or bytes differs from an empty default,
 * and a struct differs when it is not equal to a freshly created one.
 */
function differsFromDefault(f: Field, v: string): string {
  const d = defaultExpr(f)
  if (d === 'null') return `${v} !== null`
  if (f.isArray || f.elem === 'bytes') return `(${v} === null || ${v}.length > 0)`
  if (f.struct) return `(${v} === null || differsFromStruct(${v}, ${d}))`
  if (f.elem === 'records') return `${v} !== null`
  return `${v} !== ${d}`
}

function emitDecoder(mod: ModuleWriter, s: Struct, valid: Range, flexible: Range, exported: boolean): void {
  const flex = cond(flexible, valid)
  const body = new ModuleWriter()
  for (const f of s.fields) {
    const when = inlineCond(f, valid)
    const type = tsType(f, valid)
    if (when === 'true' && !f.isArray && (f.struct === undefined || cond(f.nullable, valid) === 'false')) {
      const read = new ModuleWriter()
      emitRead(read, f, valid, 'r', f.prop, false)
      body.line(`const ${(read.lines[0] as string).replace(' = ', `: ${type} = `)}`)
    } else if (when === 'true') {
      body.line(`let ${f.prop}: ${type}`)
      emitRead(body, f, valid, 'r', f.prop, false)
    } else {
      body.line(`let ${f.prop}: ${type} = ${defaultExpr(f)}`)
      if (when !== 'false') {
        body.line(`if (${when}) {`)
        emitRead(body, f, valid, 'r', f.prop, false)
        body.line('}')
      }
    }
  }
  const taggedFields = s.fields.filter((f) => !isEmpty(intersect(f.tagged, valid)))
  if (flex !== 'false' && taggedFields.length === 0) {
    body.line(flex === 'true' ? 'r.skipTaggedFields()' : `if (${flex}) r.skipTaggedFields()`)
  } else if (flex !== 'false') {
    body.line(`if (${flex}) {`)
    body.line('  const tags = r.readUVarint()')
    body.line('  for (let i = 0; i < tags; i++) {')
    body.line('    const tag = r.readUVarint()')
    body.line('    const size = r.readUVarint()')
    body.line('    const t = r.sub(size)')
    body.line('    switch (tag) {')
    for (const f of taggedFields) {
      const when = cond(intersect(f.tagged, f.versions), valid)
      body.line(`      case ${f.spec.tag}:`)
      body.line(`        if (${when}) {`)
      emitRead(body, f, valid, 't', f.prop, true)
      body.line('        }')
      body.line('        break')
    }
    body.line('    }')
    body.line('  }')
    body.line('}')
  }
  body.line(`return { ${s.fields.map((f) => f.prop).join(', ')} }`)
  emitFunction(
    mod,
    `${exported ? 'export ' : ''}function decode${s.tsName}(r: Reader, version: number): ${s.tsName}`,
    body,
  )
}

/** The condition under which a field is encoded inline (not as a tag) at the running version. */
function inlineCond(f: Field, valid: Range): string {
  const regular = intersect(valid, f.versions)
  const tagged = intersect(regular, f.tagged)
  if (isEmpty(tagged)) return cond(regular, valid)
  return tagged.lo > regular.lo ? `version < ${tagged.lo}` : 'false'
}

/** Writes a function, marking `version` as used when the body never needs it. */
function emitFunction(mod: ModuleWriter, signature: string, body: ModuleWriter): void {
  mod.line(`${signature} {`)
  if (!body.lines.some((l) => /\bversion\b/.test(l))) mod.line('  void version')
  if (signature.includes(' m: ') && !body.lines.some((l) => /\bm\./.test(l))) mod.line('  void m')
  for (const l of body.lines) mod.line(`  ${l}`)
  mod.line('}')
  mod.line()
}

/**
 * Writes an encoder. `strict` encoders (requests, data) refuse, like Kafka's generated code, to
 * silently drop a value the version cannot carry. Response encoders drop such values instead:
 * the broker builds each response once for every version, and a field an old client cannot read
 * must not cost that client its connection.
 */
function emitEncoder(
  mod: ModuleWriter,
  s: Struct,
  valid: Range,
  flexible: Range,
  exported: boolean,
  strict: boolean,
): void {
  const flex = cond(flexible, valid)
  const body = new ModuleWriter()
  for (const f of s.fields) {
    const when = inlineCond(f, valid)
    const v = `m.${f.prop}`
    const everTagged = !isEmpty(intersect(f.tagged, valid))
    const checked = strict && !f.spec.ignorable
    const differs = !everTagged && checked ? differsFromDefault(f, v) : undefined
    if (everTagged && checked) {
      // A tagged field is also refused in versions that lack it, as Kafka does.
      const present = cond(f.versions, valid)
      const absent = present === 'false' ? '' : `!(${present}) && `
      if (present !== 'true') {
        body.line(`if (${absent}${differsFromDefault(f, v)}) throw absentInVersion('${f.spec.name}', version)`)
      }
    }
    if (when === 'true') {
      emitWrite(body, f, valid, 'w', v, false)
    } else if (when === 'false') {
      if (differs) body.line(`if (${differs}) throw absentInVersion('${f.spec.name}', version)`)
    } else {
      body.line(`if (${when}) {`)
      emitWrite(body, f, valid, 'w', v, false)
      if (differs) {
        body.line(`} else if (${differs}) {`)
        body.line(`  throw absentInVersion('${f.spec.name}', version)`)
      }
      body.line('}')
    }
  }
  const taggedFields = s.fields
    .filter((f) => !isEmpty(intersect(f.tagged, valid)))
    .sort((a, b) => (a.spec.tag ?? 0) - (b.spec.tag ?? 0))
  if (flex !== 'false') {
    if (taggedFields.length === 0) {
      body.line(flex === 'true' ? 'w.writeUVarint(0)' : `if (${flex}) w.writeUVarint(0)`)
    } else {
      body.line(`if (${flex}) {`)
      const present = (f: Field): string => {
        const when = cond(intersect(f.tagged, f.versions), valid)
        const differs = differsFromDefault(f, `m.${f.prop}`)
        return when === 'true' ? differs : `${when} && ${differs}`
      }
      body.line('  let tags = 0')
      for (const f of taggedFields) body.line(`  if (${present(f)}) tags++`)
      body.line('  w.writeUVarint(tags)')
      for (const f of taggedFields) {
        body.line(`  if (${present(f)}) {`)
        body.line(`    w.writeUVarint(${f.spec.tag})`)
        body.line('    const t = new Writer(64)')
        emitWrite(body, f, valid, 't', `m.${f.prop}`, true)
        body.line('    const b = t.toBuffer()')
        body.line('    w.writeUVarint(b.length)')
        body.line('    w.writeRaw(b)')
        body.line('  }')
      }
      body.line('}')
    }
  }
  emitFunction(
    mod,
    `${exported ? 'export ' : ''}function encode${s.tsName}(w: Writer, version: number, m: ${s.tsName}): void`,
    body,
  )
}

interface ApiEntry {
  key: number
  name: string
  module: string
  valid: Range
  /** Highest version Kafka advertises by default (below an unstable latest version). */
  maxStable: number
  flexible: Range
  deprecated: Range
  request: string
  response: string
}

/** Generates one module holding the given specs (a request and its response, or a data type). */
/** `api`: the API's key and message names, for an exported codec table; absent for data types. */
function generateModule(
  file: string,
  specs: MessageSpec[],
  api?: { key: number; request: string; response: string },
): void {
  const mod = new ModuleWriter()
  const built: { spec: MessageSpec; struct: Struct; valid: Range; flexible: Range; first: number }[] = []
  for (const spec of specs) mod.usedNames.add(spec.name)
  for (const spec of specs) {
    const common = new Map<string, FieldSpec[]>()
    for (const c of spec.commonStructs ?? []) common.set(c.name, c.fields)
    const valid = parseRange(spec.validVersions)
    const flexible = parseRange(spec.flexibleVersions)
    const first = mod.structs.length
    const struct = buildStruct(mod, spec.name, spec.fields, common, flexible, spec.name)
    built.push({ spec, struct, valid, flexible, first })
  }
  const body = new ModuleWriter()
  for (const [i, b] of built.entries()) {
    const end = built[i + 1]?.first ?? mod.structs.length
    const structs = mod.structs.slice(b.first, end)
    body.line(`// ${b.spec.name}: versions ${b.spec.validVersions}, flexible ${b.spec.flexibleVersions}`)
    body.line()
    for (const s of structs) emitInterface(body, s, b.valid)
    for (const s of structs) {
      emitDecoder(body, s, b.valid, b.flexible, s === b.struct)
      emitEncoder(body, s, b.valid, b.flexible, s === b.struct, b.spec.type !== 'response')
    }
  }
  if (api !== undefined) {
    body.line("/** This API's codecs, for the broker's dispatcher and the client. */")
    body.line('export const api: ApiCodec = {')
    body.line(`  apiKey: ${api.key},`)
    body.line(`  decodeRequest: decode${api.request},`)
    body.line(`  encodeRequest: encode${api.request},`)
    body.line(`  decodeResponse: decode${api.response},`)
    body.line(`  encodeResponse: encode${api.response},`)
    body.line('}')
    body.line()
  }
  const text = body.lines.join('\n')
  const helpers = ['absentInVersion', 'differsFromStruct', 'notNull', 'nullInVersion', 'EMPTY_BYTES'].filter((h) =>
    new RegExp(`\\b${h}\\b`).test(text),
  )
  const header = [
    '// Generated by scripts/gen-protocol.ts from the Apache Kafka message specs in protocol-specs/',
    `// (${specs.flatMap((s) => s.sources ?? []).join(', ')}). Do not edit: run \`npm run gen\`.`,
    '',
    "import type { Reader } from '../wire/reader.ts'",
    /\bnew Writer\b/.test(text)
      ? "import { Writer } from '../wire/writer.ts'"
      : "import type { Writer } from '../wire/writer.ts'",
  ]
  if (helpers.length > 0) header.push(`import { ${helpers.join(', ')} } from '../wire/codec-helpers.ts'`)
  if (/\bZERO_UUID\b/.test(text)) header.push("import { ZERO_UUID } from '../wire/uuid.ts'")
  if (api !== undefined) header.push("import type { ApiCodec } from './api-keys.ts'")
  header.push('')
  writeFileSync(`${outDir}${file}`, `${header.join('\n')}\n${text}\n`)
}

function main(): void {
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const specs = loadMergedSpecs(specDir)
  const apis: ApiEntry[] = []
  for (const req of specs.values()) {
    if (req.type !== 'request' || req.apiKey === undefined || !req.listeners?.includes('broker')) continue
    const name = req.name.replace(/Request$/, '')
    const res = specs.get(`${name}Response`)
    if (res === undefined) throw new Error(`no response spec for ${req.name}`)
    const module = kebab(name)
    generateModule(`${module}.ts`, [req, res], { key: req.apiKey, request: req.name, response: res.name })
    const valid = parseRange(req.validVersions)
    apis.push({
      key: req.apiKey,
      name,
      module,
      valid,
      maxStable: req.latestVersionUnstable ? valid.hi - 1 : valid.hi,
      flexible: parseRange(req.flexibleVersions),
      deprecated: parseRange(req.deprecatedVersions),
      request: req.name,
      response: res.name,
    })
  }
  const dataTypes = ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment']
  for (const name of dataTypes) generateModule(`${kebab(name)}.ts`, [specs.get(name) as MessageSpec])
  apis.sort((a, b) => a.key - b.key)
  writeApiKeys(apis)
  writeIndex(apis, dataTypes)
}

/**
 * api-keys.ts: API keys and version facts without any codec, so that code needing only those
 * (frames, handlers) does not load every API's codecs.
 */
function writeApiKeys(apis: ApiEntry[]): void {
  const l: string[] = [
    '// Generated by scripts/gen-protocol.ts. Do not edit: run `npm run gen`.',
    '',
    "import type { Reader } from '../wire/reader.ts'",
    "import type { Writer } from '../wire/writer.ts'",
    '',
    '/** API keys by name, as in the Kafka protocol guide. */',
    'export const ApiKey = {',
  ]
  for (const a of apis) l.push(`  ${a.name}: ${a.key},`)
  l.push('} as const')
  l.push('')
  l.push('/** The version facts of one API. */')
  l.push('export interface ApiInfo {')
  l.push('  apiKey: number')
  l.push('  name: string')
  l.push('  minVersion: number')
  l.push('  maxVersion: number')
  l.push(
    '  /** Highest stable version: maxVersion, or below it when the spec marks its latest version unstable (never advertise those by default). */',
  )
  l.push('  maxStableVersion: number')
  l.push('  /** First flexible version (compact types, tagged fields, request header v2), or -1. */')
  l.push('  firstFlexibleVersion: number')
  l.push('  /** Highest deprecated version, or -1. */')
  l.push('  maxDeprecatedVersion: number')
  l.push('}')
  l.push('')
  l.push("/** One API's codecs (each API module exports its own as `api`). */")
  l.push('export interface ApiCodec {')
  l.push('  apiKey: number')
  l.push('  decodeRequest(r: Reader, version: number): unknown')
  l.push('  encodeRequest(w: Writer, version: number, m: never): void')
  l.push('  decodeResponse(r: Reader, version: number): unknown')
  l.push('  encodeResponse(w: Writer, version: number, m: never): void')
  l.push('}')
  l.push('')
  l.push('/** Every client-facing API of the specs, by key. */')
  l.push('export const API_INFO: readonly ApiInfo[] = [')
  for (const a of apis) {
    l.push('  {')
    l.push(`    apiKey: ${a.key},`)
    l.push(`    name: '${a.name}',`)
    l.push(`    minVersion: ${a.valid.lo},`)
    l.push(`    maxVersion: ${a.valid.hi},`)
    l.push(`    maxStableVersion: ${a.maxStable},`)
    l.push(`    firstFlexibleVersion: ${isEmpty(a.flexible) ? -1 : a.flexible.lo},`)
    l.push(`    maxDeprecatedVersion: ${isEmpty(a.deprecated) ? -1 : a.deprecated.hi},`)
    l.push('  },')
  }
  l.push(']')
  writeFileSync(`${outDir}api-keys.ts`, `${l.join('\n')}\n`)
}

/** index.ts: every API module, and every API's version facts joined with its codecs. */
function writeIndex(apis: ApiEntry[], dataTypes: string[]): void {
  const l: string[] = [
    '// Generated by scripts/gen-protocol.ts. Do not edit: run `npm run gen`.',
    '',
    "import { API_INFO, type ApiCodec, type ApiInfo } from './api-keys.ts'",
  ]
  for (const a of apis) l.push(`import * as ${camel(a.name)} from './${a.module}.ts'`)
  l.push('')
  l.push("export * from './api-keys.ts'")
  for (const a of apis) l.push(`export * as ${camel(a.name)} from './${a.module}.ts'`)
  for (const d of dataTypes) l.push(`export * as ${camel(d)} from './${kebab(d)}.ts'`)
  l.push('')
  l.push('/** What the codec layer knows about one API. */')
  l.push('export type ApiDescriptor = ApiInfo & ApiCodec')
  l.push('')
  l.push('/** The codecs in the order of API_INFO (by key). */')
  l.push('const CODECS: readonly ApiCodec[] = [')
  for (const a of apis) l.push(`  ${camel(a.name)}.api,`)
  l.push(']')
  l.push('')
  l.push('/** Every client-facing API of the specs, by key, with its codecs. */')
  l.push('export const API_DESCRIPTORS: readonly ApiDescriptor[] = API_INFO.map((info, i) => ({')
  l.push('  ...info,')
  l.push('  ...(CODECS[i] as ApiCodec),')
  l.push('}))')
  writeFileSync(`${outDir}index.ts`, `${l.join('\n')}\n`)
}

main()

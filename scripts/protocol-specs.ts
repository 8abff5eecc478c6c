/**
 * The Kafka message specs samsa generates its codecs from: two snapshots of Kafka's message folder
 * in protocol-specs/ (see its README), merged into one spec per message.
 *
 * Kafka 4.0 dropped the oldest versions of many APIs (KIP-896) and the newer set no longer describes
 * them, while samsa still serves the clients that send them. The merge keeps every version either
 * set lists, each version exactly as the set listing it describes it (the newer set where both do):
 * - a version the newer set lists is taken from the newer set; a version only the older set lists
 *   from the older set, except an unstable latest version of the older set (an early-access format
 *   that changed before release, such as the share-group APIs' v0), which is left out;
 * - fields are matched by name, or, for a field renamed between the sets, by its position in a
 *   version both sets list; a field keeps the newer set's name, type name and attributes, and its
 *   version ranges (versions, nullable, tagged, flexible) follow each version's set;
 * - a field only the older set has keeps its place after the field that precedes it there;
 * - `latestVersionUnstable` follows the set that lists the latest version.
 * Nested structs come out inline (`fields`), `commonStructs` resolved. Anything the merge cannot
 * express (a version range with a hole, a type or tag that differs) is an error, not a guess.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** One field of a message spec, as in Kafka's JSON. */
export interface FieldSpec {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  tag?: number
  default?: string | boolean | number
  ignorable?: boolean
  about?: string
  fields?: FieldSpec[]
  flexibleVersions?: string
  entityType?: string
  mapKey?: boolean
}

/** A message spec, as in Kafka's JSON. */
export interface MessageSpec {
  apiKey?: number
  type: string
  name: string
  listeners?: string[]
  validVersions: string
  flexibleVersions: string
  deprecatedVersions?: string
  latestVersionUnstable?: boolean
  fields: FieldSpec[]
  commonStructs?: { name: string; versions: string; fields: FieldSpec[] }[]
  /** Where a merged spec came from (protocol-specs/-relative paths); not a Kafka key. */
  sources?: string[]
}

/** The two sets under protocol-specs/, newest first. */
export const SPEC_SETS = { newer: 'message', older: 'message-4.0-dev' } as const

/** Reads one spec file, dropping the `//` comment lines Kafka's JSON carries. */
export function readSpecFile(path: string): MessageSpec {
  const text = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n')
  return JSON.parse(text) as MessageSpec
}

/** Every spec of one set, each with its source path. */
export function readSpecSet(specRoot: string, set: string): MessageSpec[] {
  return readdirSync(`${specRoot}${set}`)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ ...readSpecFile(`${specRoot}${set}/${f}`), sources: [`${set}/${f}`] }))
}

/** Both sets of `specRoot` (protocol-specs/) merged, by message name (the newer set's names). */
export function loadMergedSpecs(specRoot: string): Map<string, MessageSpec> {
  const merged = mergeSpecSets(readSpecSet(specRoot, SPEC_SETS.newer), readSpecSet(specRoot, SPEC_SETS.older))
  return new Map(merged.map((s) => [s.name, s]))
}

/** The identity of a message across sets: API key and kind, or the name for data and headers. */
function identity(s: MessageSpec): string {
  return s.apiKey === undefined ? s.name : `${s.apiKey}:${s.type}`
}

/**
 * Merges two sets message by message; a message only one set has is kept (older: see mergeSpec).
 * Kafka flags an unstable latest version on the request only; its response follows it.
 */
export function mergeSpecSets(newer: MessageSpec[], older: MessageSpec[]): MessageSpec[] {
  const olderById = new Map(older.map((s) => [identity(s), s]))
  for (const [id, s] of olderById) {
    if (s.type !== 'response' || s.apiKey === undefined) continue
    const unstable = olderById.get(`${s.apiKey}:request`)?.latestVersionUnstable
    if (unstable) olderById.set(id, { ...s, latestVersionUnstable: true })
  }
  const out: MessageSpec[] = []
  for (const n of newer) {
    const m = mergeSpec(n, olderById.get(identity(n)))
    olderById.delete(identity(n))
    if (m !== undefined) out.push(m)
  }
  for (const o of olderById.values()) {
    const m = mergeSpec(undefined, o)
    if (m !== undefined) out.push(m)
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** The versions of a spec range ("0+", "3-7", "5", "none") up to `max`. */
function versionsIn(range: string | undefined, max: number): Set<number> {
  const out = new Set<number>()
  if (range === undefined || range === 'none') return out
  const [lo, hi] = range.endsWith('+') ? [Number(range.slice(0, -1)), max] : range.split('-').map(Number)
  for (let v = lo as number; v <= Math.min(hi ?? (lo as number), max); v++) out.add(v)
  return out
}

function inRange(range: string | undefined, v: number): boolean {
  return versionsIn(range, v).has(v)
}

/** A set of versions written as a spec range, preferring one of `candidates` that means the same. */
function rangeString(
  set: Set<number>,
  valid: Set<number>,
  candidates: (string | undefined)[],
  what: string,
  open = true,
): string {
  const top = Math.max(...valid)
  const same = (r: string | undefined): boolean => [...valid].every((v) => inRange(r, v) === set.has(v))
  for (const c of candidates) if (c !== undefined && same(c)) return c
  if (set.size === 0) return 'none'
  const lo = Math.min(...set)
  const hi = Math.max(...set)
  if (hi - lo + 1 !== set.size) throw new Error(`${what}: versions ${[...set].join(',')} are not one range`)
  if (open && hi === top) return `${lo}+`
  return lo === hi ? String(lo) : `${lo}-${hi}`
}

/** Which side describes each version of a merged message. */
interface Sides {
  /** Versions of the merged message, ascending. */
  valid: Set<number>
  newer: Set<number>
  newerSpec: MessageSpec | undefined
  olderSpec: MessageSpec | undefined
  what: string
}

/** The versions of `valid` where the property of the side describing the version holds. */
function perVersion(sides: Sides, n: string | undefined, o: string | undefined, what: string): string {
  const set = new Set<number>()
  for (const v of sides.valid) if (inRange(sides.newer.has(v) ? n : o, v)) set.add(v)
  return rangeString(set, sides.valid, [n, o], what)
}

/**
 * Merges one message. `older` alone: its unstable latest version is dropped (undefined when
 * nothing is left). `newer` alone: taken as it is, structs inlined.
 */
export function mergeSpec(newer: MessageSpec | undefined, older: MessageSpec | undefined): MessageSpec | undefined {
  const base = (newer ?? older) as MessageSpec
  const top = 0x7fff
  const newerValid = versionsIn(newer?.validVersions, top)
  const olderValid = versionsIn(older?.validVersions, top)
  if (older?.latestVersionUnstable && olderValid.size > 0) {
    const latest = Math.max(...olderValid)
    if (!newerValid.has(latest)) olderValid.delete(latest)
  }
  const valid = new Set([...newerValid, ...olderValid].sort((a, b) => a - b))
  if (valid.size === 0 && newer === undefined) return undefined
  const sides: Sides = { valid, newer: newerValid, newerSpec: newer, olderSpec: older, what: base.name }
  const latest = Math.max(...valid)
  const latestSide = newerValid.has(latest) ? newer : older
  const merged: MessageSpec = {
    ...base,
    validVersions: valid.size === 0 ? 'none' : rangeString(valid, valid, [newer?.validVersions], base.name, false),
    flexibleVersions: perVersion(sides, newer?.flexibleVersions, older?.flexibleVersions, `${base.name} flexible`),
    fields: mergeFields(sides, newer?.fields ?? [], older?.fields ?? [], base.name),
    sources: [...(newer?.sources ?? []), ...(older?.sources ?? [])],
  }
  delete merged.commonStructs
  const deprecated = perVersion(sides, newer?.deprecatedVersions, older?.deprecatedVersions, `${base.name} deprecated`)
  if (deprecated === 'none') delete merged.deprecatedVersions
  else merged.deprecatedVersions = deprecated
  if (latestSide?.latestVersionUnstable && latest === Math.max(...versionsIn(latestSide.validVersions, top))) {
    merged.latestVersionUnstable = true
  } else delete merged.latestVersionUnstable
  return merged
}

/** The spec's types that are not structs. */
export const PRIMITIVES: ReadonlySet<string> = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'uuid',
  'bytes',
  'records',
])

function elemType(f: FieldSpec): string {
  return f.type.startsWith('[]') ? f.type.slice(2) : f.type
}

/** The fields of a struct-typed field, inline or from its spec's common structs. */
function nestedFields(f: FieldSpec, spec: MessageSpec | undefined): FieldSpec[] | undefined {
  const elem = elemType(f)
  if (PRIMITIVES.has(elem)) return undefined
  const fields = f.fields ?? spec?.commonStructs?.find((c) => c.name === elem)?.fields
  if (fields === undefined) throw new Error(`unknown type ${elem} of ${f.name} in ${spec?.name}`)
  return fields
}

/** The fields of `fields` present in version `v`. */
function presentIn(fields: FieldSpec[], v: number): FieldSpec[] {
  return fields.filter((f) => inRange(f.versions, v))
}

/** For each older field, its newer counterpart: by name, else by position in a shared version. */
function matchFields(sides: Sides, newer: FieldSpec[], older: FieldSpec[], what: string): Map<FieldSpec, FieldSpec> {
  const match = new Map<FieldSpec, FieldSpec>()
  for (const o of older) {
    let n = newer.find((f) => f.name === o.name)
    if (n === undefined) {
      const shared = [...sides.newer].find((v) => inRange(o.versions, v) && inRange(sides.olderSpec?.validVersions, v))
      if (shared !== undefined) {
        n = presentIn(newer, shared)[presentIn(older, shared).indexOf(o)]
        if (n === undefined) throw new Error(`${what}.${o.name}: no field in its place in v${shared} of the newer set`)
      }
    }
    if (n === undefined) continue
    const kind = (f: FieldSpec): string =>
      `${f.type.startsWith('[]') ? '[]' : ''}${PRIMITIVES.has(elemType(f)) ? elemType(f) : 'struct'}`
    if (kind(n) !== kind(o))
      throw new Error(`${what}.${n.name}: type ${o.type} in the older set, ${n.type} in the newer`)
    match.set(o, n)
  }
  return match
}

/** Merges two field lists of the same struct (either may be empty). */
function mergeFields(sides: Sides, newer: FieldSpec[], older: FieldSpec[], what: string): FieldSpec[] {
  const match = matchFields(sides, newer, older, what)
  const olderOf = new Map([...match].map(([o, n]) => [n, o]))
  const out: { merged: FieldSpec; from: FieldSpec }[] = []
  for (const n of newer) {
    const merged = mergeField(sides, n, olderOf.get(n), what)
    if (merged !== undefined) out.push({ merged, from: n })
  }
  let after = -1
  for (const o of older) {
    const n = match.get(o)
    if (n !== undefined) {
      after = out.findIndex((e) => e.from === n)
      continue
    }
    const merged = mergeField(sides, undefined, o, what)
    if (merged === undefined) continue
    out.splice(after + 1, 0, { merged, from: o })
    after++
  }
  return out.map((e) => e.merged)
}

/** One field from its two sides; undefined when no version of the merged message has it. */
function mergeField(
  sides: Sides,
  n: FieldSpec | undefined,
  o: FieldSpec | undefined,
  what: string,
): FieldSpec | undefined {
  const base = (n ?? o) as FieldSpec
  const name = `${what}.${base.name}`
  const versions = perVersion(sides, n?.versions, o?.versions, name)
  if (versions === 'none') return undefined
  const merged: FieldSpec = { ...base, versions }
  for (const key of ['nullableVersions', 'taggedVersions', 'flexibleVersions'] as const) {
    if (n?.[key] === undefined && o?.[key] === undefined) continue
    const r = perVersion(sides, n?.[key], o?.[key], `${name} ${key}`)
    if (r === 'none' && key !== 'flexibleVersions') delete merged[key]
    else merged[key] = r
  }
  if (merged.taggedVersions !== undefined) {
    const tags = new Set([n, o].filter((f) => f?.taggedVersions !== undefined).map((f) => Number(f?.tag)))
    if (tags.size > 1) throw new Error(`${name}: tag ${[...tags].join(' and ')} in the two sets`)
    merged.tag = [...tags][0]
  } else delete merged.tag
  if (n !== undefined && o !== undefined && String(n.default ?? '') !== String(o.default ?? '')) {
    throw new Error(`${name}: default ${o.default} in the older set, ${n.default} in the newer`)
  }
  const nNested = n && nestedFields(n, sides.newerSpec)
  const oNested = o && nestedFields(o, sides.olderSpec)
  if (nNested !== undefined || oNested !== undefined) {
    merged.fields = mergeFields(sides, nNested ?? [], oNested ?? [], name)
  }
  return merged
}

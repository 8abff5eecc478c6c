/**
 * The merge of the two Kafka spec sets (scripts/protocol-specs.ts): its rules on hand-made spec
 * fragments, and on the real sets that every version of the merged specs has exactly the wire
 * format of the set that lists it.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type FieldSpec,
  loadMergedSpecs,
  type MessageSpec,
  mergeSpec,
  readSpecSet,
  SPEC_SETS,
} from '../../scripts/protocol-specs.ts'
import { API_INFO } from '../../src/protocol/generated/index.ts'
import { fieldType, inRange, loadSpec, specRoot } from './spec-values.ts'

function spec(validVersions: string, fields: FieldSpec[], extra: Partial<MessageSpec> = {}): MessageSpec {
  return {
    apiKey: 99,
    type: 'request',
    name: 'ExampleRequest',
    validVersions,
    flexibleVersions: '3+',
    fields,
    ...extra,
  }
}

const field = (name: string, type: string, versions: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  type,
  versions,
  ...extra,
})

function merge(newer: MessageSpec | undefined, older: MessageSpec | undefined): MessageSpec {
  const m = mergeSpec(newer, older)
  assert.ok(m)
  return m
}

describe('merging a newer and an older spec of one message', () => {
  test('a version only the older set lists is kept, described as the older set describes it', () => {
    const older = spec('0-4', [field('A', 'int32', '0+'), field('B', 'string', '0+', { nullableVersions: '0' })])
    const newer = spec('2-5', [field('A', 'int32', '2+'), field('B', 'string', '2+')])
    const m = merge(newer, older)
    assert.equal(m.validVersions, '0-5')
    assert.deepEqual(
      m.fields.map((f) => [f.name, f.versions, f.nullableVersions]),
      [
        ['A', '0+', undefined],
        ['B', '0+', '0'],
      ],
    )
  })

  test('a field only the older set has keeps its place and its old versions', () => {
    // ListOffsets v0's MaxNumOffsets, dropped with v0 by KIP-896.
    const older = spec('0-3', [
      field('Timestamp', 'int64', '0+'),
      field('MaxNumOffsets', 'int32', '0'),
      field('Z', 'int8', '0+'),
    ])
    const newer = spec('1-4', [field('Timestamp', 'int64', '1+'), field('Z', 'int8', '1+')])
    const m = merge(newer, older)
    assert.deepEqual(
      m.fields.map((f) => [f.name, f.versions]),
      [
        ['Timestamp', '0+'],
        ['MaxNumOffsets', '0'],
        ['Z', '0+'],
      ],
    )
  })

  test('a field whose versions grew takes each version from the set that lists it', () => {
    const older = spec('0-5', [field('Old', 'int32', '0-5'), field('Grown', 'int64', '4+', { nullableVersions: '5+' })])
    const newer = spec('1-7', [field('Old', 'int32', '1-6'), field('Grown', 'int64', '4+', { nullableVersions: '5+' })])
    const m = merge(newer, older)
    assert.equal(m.validVersions, '0-7')
    assert.deepEqual(
      m.fields.map((f) => [f.name, f.versions, f.nullableVersions]),
      [
        ['Old', '0-6', undefined],
        ['Grown', '4+', '5+'],
      ],
    )
  })

  test('a tagged field the newer set added exists in its versions only, with its tag', () => {
    const older = spec('0-4', [field('A', 'int32', '0+')])
    const newer = spec('1-5', [
      field('A', 'int32', '1+'),
      field('Hint', 'string', '5+', { taggedVersions: '5+', tag: 0, nullableVersions: '5+', default: 'null' }),
    ])
    const m = merge(newer, older)
    const hint = m.fields.find((f) => f.name === 'Hint')
    assert.deepEqual(hint, { ...newer.fields[1], versions: '5+' })
    // A nested struct merges field by field, the same way.
    const nestedOld = spec('0-1', [
      field('Items', '[]Item', '0+', { fields: [field('X', 'int8', '0+'), field('Gone', 'int8', '0')] }),
    ])
    const nestedNew = spec('1-2', [
      field('Items', '[]Item', '1+', {
        fields: [field('X', 'int8', '1+'), field('T', 'int32', '2+', { taggedVersions: '2+', tag: 1 })],
      }),
    ])
    const items = merge(nestedNew, nestedOld).fields[0]
    assert.deepEqual(
      items?.fields?.map((f) => [f.name, f.versions, f.tag]),
      [
        ['X', '0+', undefined],
        ['Gone', '0', undefined],
        ['T', '2+', 1],
      ],
    )
  })

  test("the newer set's unstable latest version is kept and flagged; the older set's, gone from the newer, is left out", () => {
    const newer = spec('0-6', [field('A', 'int32', '0+')], { latestVersionUnstable: true })
    assert.equal(merge(newer, spec('0-5', [field('A', 'int32', '0+')])).latestVersionUnstable, true)
    // EndTxn v5 was unstable in the older set and is stable in the newer one.
    const stable = merge(
      spec('0-5', [field('A', 'int32', '0+')]),
      spec('0-5', [field('A', 'int32', '0+')], { latestVersionUnstable: true }),
    )
    assert.equal(stable.latestVersionUnstable, undefined)
    // The share-group APIs' v0: an early-access format the newer set replaced by v1.
    const share = merge(
      spec('1-2', [field('GroupId', 'string', '1+')]),
      spec('0', [field('GroupId', 'string', '0+'), field('Early', 'int32', '0+')], { latestVersionUnstable: true }),
    )
    assert.equal(share.validVersions, '1-2')
    assert.deepEqual(
      share.fields.map((f) => f.name),
      ['GroupId'],
    )
    assert.equal(
      mergeSpec(undefined, spec('0', [field('A', 'int32', '0+')], { latestVersionUnstable: true })),
      undefined,
    )
  })

  test('a field renamed between the sets is matched by its place in a version both list', () => {
    // TxnOffsetCommit's GenerationId became GenerationIdOrMemberEpoch.
    const older = spec('0-4', [
      field('GroupId', 'string', '0+'),
      field('GenerationId', 'int32', '3+', { default: '-1' }),
    ])
    const newer = spec('0-6', [
      field('GroupId', 'string', '0+'),
      field('GenerationIdOrMemberEpoch', 'int32', '3+', { default: '-1' }),
    ])
    assert.deepEqual(
      merge(newer, older).fields.map((f) => f.name),
      ['GroupId', 'GenerationIdOrMemberEpoch'],
    )
  })

  test('what one spec cannot say is an error, not a guess', () => {
    // Versions 0 and 2 only: a range with a hole.
    assert.throws(
      () => merge(spec('1-3', [field('A', 'int32', '2+')]), spec('0-3', [field('A', 'int32', '0-1')])),
      /not one range/,
    )
    assert.throws(
      () => merge(spec('1-3', [field('A', 'int64', '1+')]), spec('0-3', [field('A', 'int32', '0+')])),
      /type int32 in the older set, int64 in the newer/,
    )
    assert.throws(
      () =>
        merge(
          spec('1-3', [field('A', 'int32', '1+', { taggedVersions: '1+', tag: 2 })]),
          spec('0-3', [field('A', 'int32', '0+', { taggedVersions: '0+', tag: 1 })]),
        ),
      /tag 2 and 1/,
    )
  })
})

/** What a version of a struct puts on the wire, field names left out (renames do not change it). */
function wireShape(s: MessageSpec, fields: FieldSpec[], version: number, flexible: boolean): unknown[] {
  return fields
    .filter((f) => inRange(f.versions, version))
    .map((f) => {
      const t = fieldType(s, f)
      return {
        array: t.isArray,
        type: t.struct ? wireShape(s, t.struct, version, flexible) : t.elem,
        nullable: inRange(f.nullableVersions, version),
        tag: inRange(f.taggedVersions, version) ? Number(f.tag) : undefined,
        compact: f.flexibleVersions === undefined ? flexible : inRange(f.flexibleVersions, version),
        default: f.default === undefined ? undefined : String(f.default),
      }
    })
}

function versionList(range: string): number[] {
  const out: number[] = []
  for (let v = 0; v < 100; v++) if (inRange(range, v)) out.push(v)
  return out
}

describe('the merged specs of protocol-specs/', () => {
  const newer = readSpecSet(specRoot, SPEC_SETS.newer)
  const older = readSpecSet(specRoot, SPEC_SETS.older)
  const id = (s: MessageSpec): string => (s.apiKey === undefined ? s.name : `${s.apiKey}:${s.type}`)
  const olderById = new Map(older.map((s) => [id(s), s]))

  test('every version of a merged message has the wire format of the set that lists it', () => {
    let checked = 0
    for (const n of newer) {
      const o = olderById.get(id(n))
      const m = loadSpec(n.name)
      for (const v of versionList(m.validVersions)) {
        const source = inRange(n.validVersions, v) ? n : (o as MessageSpec)
        assert.ok(inRange(source.validVersions, v), `${n.name} v${v} is in neither set`)
        const flexible = inRange(source.flexibleVersions, v)
        assert.equal(inRange(m.flexibleVersions, v), flexible, `${n.name} v${v} flexible`)
        assert.deepStrictEqual(
          wireShape(m, m.fields, v, flexible),
          wireShape(source, source.fields, v, flexible),
          `${n.name} v${v}`,
        )
        checked++
      }
    }
    assert.ok(checked > 700, `only ${checked} versions checked`)
  })

  test('the merged versions are those of both sets, less the share-group APIs\u2019 unstable v0', () => {
    for (const n of newer) {
      const o = olderById.get(id(n))
      const want = new Set([...versionList(n.validVersions), ...versionList(o?.validVersions ?? 'none')])
      // The request carries the flag for its response too.
      const unstable = o && olderById.get(`${o.apiKey}:request`)?.latestVersionUnstable
      const olderTop = Math.max(...versionList(o?.validVersions ?? 'none'))
      if (unstable && !inRange(n.validVersions, olderTop)) want.delete(olderTop)
      if (n.apiKey !== undefined && [76, 77, 78, 79].includes(n.apiKey))
        assert.ok(!want.has(0) && inRange(o?.validVersions, 0))
      assert.deepEqual(
        versionList(loadSpec(n.name).validVersions),
        [...want].sort((a, b) => a - b),
        n.name,
      )
    }
    // The fields KIP-896 removed with the oldest versions are still there.
    const has = (message: string, path: string[]): boolean => {
      let fields = loadSpec(message).fields
      for (const name of path.slice(0, -1)) fields = fields.find((f) => f.name === name)?.fields ?? []
      return fields.some((f) => f.name === path.at(-1))
    }
    assert.ok(has('ListOffsetsRequest', ['Topics', 'Partitions', 'MaxNumOffsets']))
    assert.ok(has('ListOffsetsResponse', ['Topics', 'Partitions', 'OldStyleOffsets']))
    assert.ok(has('OffsetCommitRequest', ['Topics', 'Partitions', 'CommitTimestamp']))
    assert.ok(has('DescribeConfigsResponse', ['Results', 'Configs', 'IsDefault']))
  })

  test('every client-facing API of the merged specs has generated codecs', () => {
    const keys = [...loadMergedSpecs(specRoot).values()]
      .filter((s) => s.type === 'request' && s.listeners?.includes('broker') && s.apiKey !== undefined)
      .map((s) => s.apiKey)
    assert.deepEqual(
      API_INFO.map((a) => a.apiKey),
      keys.sort((a, b) => (a as number) - (b as number)),
    )
    assert.ok(keys.includes(88) && keys.includes(92), 'streams groups and share-group offsets')
  })

  test('each API marks an unstable latest version, and only that one, below its stable maximum', () => {
    for (const api of API_INFO) {
      const req = loadSpec(`${api.name}Request`)
      assert.equal(api.maxStableVersion, req.latestVersionUnstable ? api.maxVersion - 1 : api.maxVersion, api.name)
    }
    const initProducerId = API_INFO.find((a) => a.name === 'InitProducerId')
    assert.deepEqual([initProducerId?.maxVersion, initProducerId?.maxStableVersion], [6, 5])
  })
})

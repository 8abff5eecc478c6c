/**
 * Spec-driven tests of the generated codecs: every request and response of every API in every
 * version round-trips random values, matches a spec-interpreting reference encoder byte for byte,
 * and hand-written vectors from the Kafka protocol guide pin the wire format.
 * Set SAMSA_SEED to reproduce a failing run; every failure names the seed, API and version.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as apiVersions from '../../src/protocol/generated/api-versions.ts'
import * as fetchApi from '../../src/protocol/generated/fetch.ts'
import * as generated from '../../src/protocol/generated/index.ts'
import { API_DESCRIPTORS, type ApiDescriptor } from '../../src/protocol/generated/index.ts'
import * as listOffsets from '../../src/protocol/generated/list-offsets.ts'
import * as metadata from '../../src/protocol/generated/metadata.ts'
import * as produce from '../../src/protocol/generated/produce.ts'
import { UnsupportedVersionError } from '../../src/protocol/wire/codec-helpers.ts'
import { ProtocolError } from '../../src/protocol/wire/protocol-error.ts'
import { Reader } from '../../src/protocol/wire/reader.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'
import {
  camel,
  defaultMessage,
  type FieldSpec,
  fieldType,
  inRange,
  isDefault,
  loadSpec,
  type MessageSpec,
  ReferenceUnsupported,
  Rng,
  randomMessage,
  randomStruct,
  referenceEncode,
  type Value,
  type ValueObject,
  validRange,
} from './spec-values.ts'

const SEED = Number(process.env.SAMSA_SEED ?? 20240601)
const ROUNDS = Number(process.env.SAMSA_ROUNDS ?? 4)

type Encode = (w: Writer, version: number, m: ValueObject) => void
type Decode = (r: Reader, version: number) => unknown

interface Codec {
  api: ApiDescriptor
  kind: 'Request' | 'Response'
  spec: MessageSpec
  encode: Encode
  decode: Decode
}

function codecs(): Codec[] {
  const out: Codec[] = []
  for (const api of API_DESCRIPTORS) {
    out.push({
      api,
      kind: 'Request',
      spec: loadSpec(`${api.name}Request`),
      encode: api.encodeRequest as unknown as Encode,
      decode: api.decodeRequest,
    })
    out.push({
      api,
      kind: 'Response',
      spec: loadSpec(`${api.name}Response`),
      encode: api.encodeResponse as unknown as Encode,
      decode: api.decodeResponse,
    })
  }
  return out
}

function versions(api: ApiDescriptor): number[] {
  const vs: number[] = []
  for (let v = api.minVersion; v <= api.maxVersion; v++) vs.push(v)
  return vs
}

function seedFor(apiKey: number, kind: string, version: number, round: number): number {
  return (SEED ^ Math.imul(apiKey + 1, 0x9e3779b1) ^ Math.imul(version + 1, 0x85ebca6b) ^ (round << 20)) + kind.length
}

function encode(c: Codec, version: number, m: ValueObject): Buffer {
  const w = new Writer(64)
  c.encode(w, version, m)
  return w.toBuffer()
}

function decodeAll(c: Codec, version: number, bytes: Buffer): unknown {
  const r = new Reader(bytes)
  const m = c.decode(r, version)
  assert.equal(r.remaining(), 0, 'decoder left bytes unread')
  return m
}

function hex(b: Buffer): string {
  return b.toString('hex').replace(/(..)/g, '$1 ').trim()
}

/** Runs `fn`, prefixing any failure with the context needed to reproduce it. */
function withContext(ctx: string, fn: () => void): void {
  try {
    fn()
  } catch (e) {
    if (e instanceof Error) e.message = `${ctx}: ${e.message}`
    throw e
  }
}

const ALL = codecs()

describe('generated codecs match the specs', () => {
  test('API_DESCRIPTORS agree with the JSON specs', () => {
    assert.ok(ALL.length >= 100, `only ${ALL.length} messages`)
    for (const c of ALL) {
      assert.equal(c.spec.apiKey, c.api.apiKey, c.spec.name)
      assert.deepEqual(validRange(c.spec), [c.api.minVersion, c.api.maxVersion], c.spec.name)
      const flex = c.spec.flexibleVersions === 'none' ? -1 : Number(c.spec.flexibleVersions.replace('+', ''))
      assert.equal(c.api.firstFlexibleVersion, flex, c.spec.name)
    }
    const keys = API_DESCRIPTORS.map((a) => a.apiKey)
    assert.deepEqual(
      keys,
      [...keys].sort((a, b) => a - b),
      'sorted by key',
    )
    assert.equal(new Set(keys).size, keys.length, 'unique keys')
  })

  test('createX factories hold the spec defaults', () => {
    const modules = generated as unknown as Record<string, Record<string, unknown>>
    for (const c of ALL) {
      const mod = modules[camel(c.api.name)]
      assert.ok(mod, `no module for ${c.api.name}`)
      const create = mod[`create${c.spec.name}`]
      assert.equal(typeof create, 'function', `create${c.spec.name}`)
      assert.deepStrictEqual((create as () => unknown)(), defaultMessage(c.spec), c.spec.name)
    }
  })
})

describe('round trip of every message in every version', () => {
  for (const c of ALL) {
    test(`${c.spec.name} v${c.api.minVersion}-${c.api.maxVersion}`, () => {
      for (const version of versions(c.api)) {
        for (let round = 0; round < ROUNDS; round++) {
          const seed = seedFor(c.api.apiKey, c.kind, version, round)
          withContext(`${c.spec.name} v${version} seed ${seed} (SAMSA_SEED=${SEED})`, () => {
            // Round 0 has every field at its default, later rounds random values.
            const value = round === 0 ? randomMessage(c.spec, version, new Rng(seed), { noTags: true }) : undefined
            const m = value ?? randomMessage(c.spec, version, new Rng(seed))
            const bytes = encode(c, version, m)
            const decoded = decodeAll(c, version, bytes)
            assert.deepStrictEqual(decoded, m, 'decode(encode(m)) differs from m')
            const again = encode(c, version, decoded as ValueObject)
            assert.equal(hex(again), hex(bytes), 're-encoding the decoded value changed the bytes')
          })
        }
      }
    })
  }
})

describe('generated encoders match a spec-interpreting reference encoder byte for byte', () => {
  for (const c of ALL) {
    test(`${c.spec.name} v${c.api.minVersion}-${c.api.maxVersion}`, () => {
      for (const version of versions(c.api)) {
        for (let round = 0; round < ROUNDS; round++) {
          const seed = seedFor(c.api.apiKey, c.kind, version, round)
          withContext(`${c.spec.name} v${version} seed ${seed} (SAMSA_SEED=${SEED})`, () => {
            const m = randomMessage(c.spec, version, new Rng(seed), { noTags: round === 0 })
            assert.equal(hex(encode(c, version, m)), hex(referenceEncode(c.spec, version, m)))
          })
        }
      }
    })
  }
})

/** Fields of the top-level message that are tagged in at least one version. */
function taggedFields(spec: MessageSpec): FieldSpec[] {
  return spec.fields.filter((f) => f.taggedVersions !== undefined)
}

/** A random value of field `f` at `version` that differs from the field's default. */
function nonDefault(spec: MessageSpec, f: FieldSpec, version: number, rng: Rng): Value {
  for (let i = 0; i < 200; i++) {
    const o = randomStruct(spec, [f], version, rng, 0, { taggedDefault: 0 })
    const v = o[camel(f.name)] ?? null
    if (!isDefault(spec, f, v)) return v
  }
  throw new Error(`no non-default value for ${f.name}`)
}

describe('tagged fields', () => {
  test('a message with every tagged field at its default ends in an empty tag section', () => {
    for (const c of ALL) {
      for (const version of versions(c.api)) {
        if (!inRange(c.spec.flexibleVersions, version)) continue
        const m = randomMessage(c.spec, version, new Rng(seedFor(c.api.apiKey, c.kind, version, 7)), { noTags: true })
        const bytes = encode(c, version, m)
        assert.equal(bytes.at(-1), 0, `${c.spec.name} v${version}: trailing tag count`)
      }
    }
  })

  test('each top-level tagged field round-trips when set and is written as one tag', () => {
    let checked = 0
    for (const c of ALL) {
      for (const f of taggedFields(c.spec)) {
        for (const version of versions(c.api)) {
          if (!inRange(f.taggedVersions, version) || !inRange(f.versions, version)) continue
          const rng = new Rng(seedFor(c.api.apiKey, c.kind, version, 11))
          withContext(`${c.spec.name}.${f.name} v${version}`, () => {
            const base = randomMessage(c.spec, version, rng, { noTags: true })
            const withTag = { ...base, [camel(f.name)]: nonDefault(c.spec, f, version, rng) }
            const plain = encode(c, version, base)
            const tagged = encode(c, version, withTag)
            assert.deepStrictEqual(decodeAll(c, version, tagged), withTag)
            // Everything before the tag section is unchanged; the section now holds one tag.
            assert.equal(hex(tagged.subarray(0, plain.length - 1)), hex(plain.subarray(0, -1)))
            const r = new Reader(tagged, plain.length - 1)
            assert.equal(r.readUVarint(), 1, 'tag count')
            assert.equal(r.readUVarint(), f.tag, 'tag number')
            assert.equal(r.readUVarint(), r.remaining(), 'tag size')
            checked++
          })
        }
      }
    }
    assert.ok(checked > 20, `only ${checked} tagged fields checked`)
  })

  test('an unknown tag in a flexible message is skipped on decode', () => {
    for (const c of ALL) {
      for (const version of versions(c.api)) {
        if (!inRange(c.spec.flexibleVersions, version)) continue
        withContext(`${c.spec.name} v${version}`, () => {
          const m = randomMessage(c.spec, version, new Rng(seedFor(c.api.apiKey, c.kind, version, 13)), {
            noTags: true,
          })
          const bytes = encode(c, version, m)
          // Replace the empty tag section with two unknown tags: 1000 (3 bytes) and 16383 (0 bytes).
          const unknown = Buffer.from([0x02, 0xe8, 0x07, 0x03, 0xaa, 0xbb, 0xcc, 0xff, 0x7f, 0x00])
          const withUnknown = Buffer.concat([bytes.subarray(0, -1), unknown])
          assert.deepStrictEqual(decodeAll(c, version, withUnknown), m)
        })
      }
    }
  })

  test('an unknown tag inside a nested struct is skipped (ApiVersionsResponse v3)', () => {
    const bytes = Buffer.from([
      0x00,
      0x00, // error_code
      0x02, // api_keys: compact array of 1
      0x00,
      0x12,
      0x00,
      0x00,
      0x00,
      0x04, // api_key 18, min 0, max 4
      0x01,
      0x09,
      0x02,
      0x01,
      0x02, // element tag section: tag 9, 2 bytes
      0x00,
      0x00,
      0x00,
      0x00, // throttle_time_ms
      0x00, // tag section
    ])
    const r = new Reader(bytes)
    assert.deepStrictEqual(
      apiVersions.decodeApiVersionsResponse(r, 3),
      apiVersions.createApiVersionsResponse({
        apiKeys: [apiVersions.createApiVersion({ apiKey: 18, minVersion: 0, maxVersion: 4 })],
      }),
    )
    assert.equal(r.remaining(), 0)
  })

  test('a tagged struct at its default is omitted, as Kafka does (FetchResponse v12 partition)', () => {
    // Kafka's generator writes a tagged struct only when it differs from `new Struct()`.
    const m = fetchApi.createFetchResponse({
      responses: [
        fetchApi.createFetchableTopicResponse({
          topic: 't',
          partitions: [fetchApi.createPartitionData({ partitionIndex: 0, records: null })],
        }),
      ],
    })
    const w = new Writer()
    fetchApi.encodeFetchResponse(w, 12, m)
    assert.equal(hex(w.toBuffer()), hex(referenceEncode(loadSpec('FetchResponse'), 12, m as unknown as ValueObject)))
  })
})

describe('values a version cannot carry', () => {
  test('a request with a non-default value in a field the version lacks (not ignorable) throws UnsupportedVersionError', () => {
    let checked = 0
    for (const c of ALL) {
      if (c.kind === 'Response') continue
      for (const version of versions(c.api)) {
        for (const f of c.spec.fields) {
          if (inRange(f.versions, version) || f.ignorable) continue
          // A value from a version that has the field.
          let other = c.api.maxVersion
          while (other >= c.api.minVersion && !inRange(f.versions, other)) other--
          if (other < c.api.minVersion) continue
          const rng = new Rng(seedFor(c.api.apiKey, c.kind, version, 17))
          const m = { ...defaultMessage(c.spec), [camel(f.name)]: nonDefault(c.spec, f, other, rng) }
          withContext(`${c.spec.name}.${f.name} at v${version}`, () => {
            assert.throws(() => referenceEncode(c.spec, version, m), ReferenceUnsupported)
            assert.throws(() => encode(c, version, m), UnsupportedVersionError)
          })
          checked++
        }
      }
    }
    assert.ok(checked > 100, `only ${checked} cases`)
  })

  test('a response drops a field the version lacks, even a non-ignorable one', () => {
    const m = listOffsets.createListOffsetsResponse({
      topics: [
        {
          name: 't',
          partitions: [
            listOffsets.createListOffsetsPartitionResponse({ partitionIndex: 0, offset: 5n, leaderEpoch: 3 }),
          ],
        },
      ],
    })
    const v3 = new Writer()
    listOffsets.encodeListOffsetsResponse(v3, 3, m) // LeaderEpoch is v4+
    const decoded = listOffsets.decodeListOffsetsResponse(new Reader(v3.toBuffer()), 3)
    assert.equal(decoded.topics[0]?.partitions[0]?.offset, 5n)
    assert.equal(decoded.topics[0]?.partitions[0]?.leaderEpoch, -1)
  })

  test('an ignorable field the version lacks is silently dropped', () => {
    const m = metadata.createMetadataRequest({
      topics: [metadata.createMetadataRequestTopic({ name: 'a', topicId: '01234567-89ab-cdef-0123-456789abcdef' })],
    })
    const w = new Writer()
    metadata.encodeMetadataRequest(w, 9, m) // TopicId is v10+ and ignorable
    assert.equal(hex(w.toBuffer()), '02 02 61 00 01 00 00 00')
  })

  test('null in a field not nullable at the version throws UnsupportedVersionError', () => {
    let checked = 0
    for (const c of ALL) {
      for (const version of versions(c.api)) {
        for (const f of c.spec.fields) {
          if (!inRange(f.versions, version) || f.nullableVersions === undefined) continue
          if (inRange(f.nullableVersions, version) || inRange(f.taggedVersions, version)) continue
          const m = { ...randomMessage(c.spec, version, new Rng(1), { noTags: true }), [camel(f.name)]: null }
          withContext(`${c.spec.name}.${f.name} null at v${version}`, () => {
            assert.throws(() => encode(c, version, m), UnsupportedVersionError)
          })
          checked++
        }
      }
    }
    assert.ok(checked > 0)
    assert.throws(() => {
      metadata.encodeMetadataRequest(new Writer(), 0, metadata.createMetadataRequest({ topics: null }))
    }, UnsupportedVersionError)
  })

  test('a field with a non-nullable type rejects a null string on decode', () => {
    // Metadata v1 topic name is a non-nullable STRING: length -1 is malformed.
    const bytes = Buffer.from([0x00, 0x00, 0x00, 0x01, 0xff, 0xff])
    assert.throws(() => metadata.decodeMetadataRequest(new Reader(bytes), 1), ProtocolError)
  })
})

function bytesOf(...parts: (number[] | string)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))))
}

/** Asserts that `m` encodes to exactly `expected` at `version` and that `expected` decodes to `m`. */
function assertVector<T>(
  enc: (w: Writer, version: number, m: T) => void,
  dec: (r: Reader, version: number) => T,
  version: number,
  m: T,
  expected: Buffer,
): void {
  const w = new Writer()
  enc(w, version, m)
  assert.equal(hex(w.toBuffer()), hex(expected), 'encoding')
  const r = new Reader(expected)
  assert.deepStrictEqual(dec(r, version), m, 'decoding')
  assert.equal(r.remaining(), 0, 'all bytes consumed')
}

describe('byte-exact vectors from the Kafka protocol guide', () => {
  test('ApiVersions Request v0 and v1-v2: empty body', () => {
    for (const v of [0, 1, 2]) {
      assertVector(
        apiVersions.encodeApiVersionsRequest,
        apiVersions.decodeApiVersionsRequest,
        v,
        apiVersions.createApiVersionsRequest(),
        Buffer.alloc(0),
      )
    }
  })

  test('ApiVersions Request v3 => client_software_name client_software_version TAG_BUFFER', () => {
    assertVector(
      apiVersions.encodeApiVersionsRequest,
      apiVersions.decodeApiVersionsRequest,
      3,
      apiVersions.createApiVersionsRequest({ clientSoftwareName: 'samsa', clientSoftwareVersion: '0.1.0' }),
      // COMPACT_STRING: unsigned varint length+1, then UTF-8; TAG_BUFFER: 0 tags.
      bytesOf([0x06], 'samsa', [0x06], '0.1.0', [0x00]),
    )
    // The request as a client sends it, e.g. librdkafka's name and version.
    assertVector(
      apiVersions.encodeApiVersionsRequest,
      apiVersions.decodeApiVersionsRequest,
      3,
      apiVersions.createApiVersionsRequest({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' }),
      bytesOf([0x0b], 'librdkafka', [0x06], '2.3.0', [0x00]),
    )
  })

  test('ApiVersions Response v0 and v3', () => {
    const m = apiVersions.createApiVersionsResponse({
      apiKeys: [
        apiVersions.createApiVersion({ apiKey: 0, minVersion: 3, maxVersion: 11 }),
        apiVersions.createApiVersion({ apiKey: 18, minVersion: 0, maxVersion: 4 }),
      ],
    })
    // v0: error_code INT16, [api_keys] as INT32 count + (INT16 api_key, INT16 min, INT16 max).
    assertVector(
      apiVersions.encodeApiVersionsResponse,
      apiVersions.decodeApiVersionsResponse,
      0,
      m,
      bytesOf([0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 11, 0, 18, 0, 0, 0, 4]),
    )
    // v3: COMPACT_ARRAY (count+1), each element with a TAG_BUFFER, throttle_time_ms INT32, TAG_BUFFER.
    assertVector(
      apiVersions.encodeApiVersionsResponse,
      apiVersions.decodeApiVersionsResponse,
      3,
      { ...m, throttleTimeMs: 100 },
      bytesOf([0, 0, 3, 0, 0, 0, 3, 0, 11, 0, 0, 18, 0, 0, 0, 4, 0, 0, 0, 0, 100, 0]),
    )
    // Tagged FinalizedFeaturesEpoch (tag 1, INT64) and ZkMigrationReady (tag 3, BOOLEAN), in tag order.
    assertVector(
      apiVersions.encodeApiVersionsResponse,
      apiVersions.decodeApiVersionsResponse,
      3,
      { ...m, apiKeys: [], finalizedFeaturesEpoch: 5n, zkMigrationReady: true },
      bytesOf([0, 0, 1, 0, 0, 0, 0, 2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 5, 3, 1, 1]),
    )
  })

  test('Metadata Request v1 with two topics => [topics] as ARRAY of STRING', () => {
    const m = metadata.createMetadataRequest({
      topics: [
        metadata.createMetadataRequestTopic({ name: 'foo' }),
        metadata.createMetadataRequestTopic({ name: 'bar' }),
      ],
    })
    const expected = bytesOf([0, 0, 0, 2], [0, 3], 'foo', [0, 3], 'bar')
    assertVector(metadata.encodeMetadataRequest, metadata.decodeMetadataRequest, 1, m, expected)
    assertVector(metadata.encodeMetadataRequest, metadata.decodeMetadataRequest, 0, m, expected)
    // v1+: a null array (-1) asks for all topics.
    assertVector(
      metadata.encodeMetadataRequest,
      metadata.decodeMetadataRequest,
      1,
      metadata.createMetadataRequest({ topics: null }),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    )
    // v4 adds allow_auto_topic_creation BOOLEAN.
    assertVector(
      metadata.encodeMetadataRequest,
      metadata.decodeMetadataRequest,
      4,
      { ...m, allowAutoTopicCreation: false },
      Buffer.concat([expected, Buffer.from([0])]),
    )
    // v9 (flexible): COMPACT_ARRAY, COMPACT_STRING, per-element TAG_BUFFER, the v8 booleans, TAG_BUFFER.
    assertVector(
      metadata.encodeMetadataRequest,
      metadata.decodeMetadataRequest,
      9,
      { ...m, includeTopicAuthorizedOperations: true },
      bytesOf([3, 4], 'foo', [0, 4], 'bar', [0, 1, 0, 1, 0]),
    )
    // v10: topic_id UUID before a COMPACT_NULLABLE_STRING name.
    const id = '0123456789abcdef0123456789abcdef'.replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5')
    assertVector(
      metadata.encodeMetadataRequest,
      metadata.decodeMetadataRequest,
      10,
      metadata.createMetadataRequest({ topics: [metadata.createMetadataRequestTopic({ topicId: id, name: null })] }),
      Buffer.concat([
        Buffer.from([2]),
        Buffer.from('0123456789abcdef0123456789abcdef', 'hex'),
        Buffer.from([0, 0, 1, 0, 0, 0]),
      ]),
    )
  })

  test('Produce Request v3 => transactional_id acks timeout_ms [topic_data]', () => {
    const records = Buffer.from([0xde, 0xad, 0xbe, 0xef])
    const m = produce.createProduceRequest({
      transactionalId: 'tx-1',
      acks: -1,
      timeoutMs: 30000,
      topicData: [
        produce.createTopicProduceData({
          name: 'events',
          partitionData: [
            produce.createPartitionProduceData({ index: 0, records }),
            produce.createPartitionProduceData({ index: 7, records: null }),
          ],
        }),
      ],
    })
    const expected = bytesOf(
      [0x00, 0x04],
      'tx-1', // transactional_id NULLABLE_STRING
      [0xff, 0xff], // acks INT16 -1
      [0x00, 0x00, 0x75, 0x30], // timeout_ms INT32 30000
      [0x00, 0x00, 0x00, 0x01], // topic_data count
      [0x00, 0x06],
      'events',
      [0x00, 0x00, 0x00, 0x02], // partition_data count
      [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef], // index 0, RECORDS
      [0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff], // index 7, null RECORDS
    )
    assertVector(produce.encodeProduceRequest, produce.decodeProduceRequest, 3, m, expected)
    // A non-transactional producer sends a null transactional_id (INT16 -1).
    const plain = { ...m, transactionalId: null }
    assertVector(
      produce.encodeProduceRequest,
      produce.decodeProduceRequest,
      3,
      plain,
      Buffer.concat([Buffer.from([0xff, 0xff]), expected.subarray(6)]),
    )
    // v2 has no transactional_id: same bytes without it.
    assertVector(produce.encodeProduceRequest, produce.decodeProduceRequest, 2, plain, expected.subarray(6))
    assert.throws(() => produce.encodeProduceRequest(new Writer(), 2, m), UnsupportedVersionError)
  })

  test('Produce Request v9 (flexible) => COMPACT_NULLABLE_STRING, COMPACT_ARRAY, COMPACT_RECORDS, TAG_BUFFERs', () => {
    const m = produce.createProduceRequest({
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [
        produce.createTopicProduceData({
          name: 't',
          partitionData: [produce.createPartitionProduceData({ index: 2, records: Buffer.from([1, 2, 3]) })],
        }),
      ],
    })
    assertVector(
      produce.encodeProduceRequest,
      produce.decodeProduceRequest,
      9,
      m,
      bytesOf([0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0x02, 0x02], 't', [0x02, 0, 0, 0, 2, 4, 1, 2, 3, 0, 0, 0]),
    )
  })
})

describe('decoding rejects malformed input with ProtocolError', () => {
  test('a non-nullable array of -1 elements', () => {
    // ApiVersionsResponse v0 api_keys is not nullable.
    const bytes = Buffer.from([0, 0, 0xff, 0xff, 0xff, 0xff])
    assert.throws(() => apiVersions.decodeApiVersionsResponse(new Reader(bytes), 0), ProtocolError)
  })

  test('every message at every version fails with ProtocolError on an empty buffer, or decodes', () => {
    for (const c of ALL) {
      for (const version of versions(c.api)) {
        try {
          c.decode(new Reader(Buffer.alloc(0)), version)
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `${c.spec.name} v${version}: ${String(e)}`)
        }
      }
    }
  })

  test('field types of the specs are all known to the helpers', () => {
    for (const c of ALL) {
      const walk = (fields: FieldSpec[]): void => {
        for (const f of fields) {
          const t = fieldType(c.spec, f)
          if (t.struct) walk(t.struct)
        }
      }
      walk(c.spec.fields)
    }
  })
})

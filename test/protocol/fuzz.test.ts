/**
 * Decoder robustness: random, truncated and mutated encodings of valid messages, for every API and
 * version. Each decode either returns a value or throws ProtocolError, never anything else, and a
 * decoded value re-encodes and decodes to itself. Set SAMSA_SEED to reproduce a failing run.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { API_DESCRIPTORS, type ApiDescriptor } from '../../src/protocol/generated/index.ts'
import { ProtocolError } from '../../src/protocol/wire/protocol-error.ts'
import { Reader } from '../../src/protocol/wire/reader.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'
import { fieldType, inRange, loadSpec, type MessageSpec, Rng, randomMessage, type ValueObject } from './spec-values.ts'

const SEED = Number(process.env.SAMSA_SEED ?? 777)
/** Valid encodings per message and version, and mutants of each. */
const BASES = 2
const MUTANTS = Number(process.env.SAMSA_FUZZ_MUTANTS ?? 30)

type Encode = (w: Writer, version: number, m: ValueObject) => void
type Decode = (r: Reader, version: number) => unknown

interface Codec {
  api: ApiDescriptor
  spec: MessageSpec
  encode: Encode
  decode: Decode
}

const CODECS: Codec[] = API_DESCRIPTORS.flatMap((api) => [
  {
    api,
    spec: loadSpec(`${api.name}Request`),
    encode: api.encodeRequest as unknown as Encode,
    decode: api.decodeRequest,
  },
  {
    api,
    spec: loadSpec(`${api.name}Response`),
    encode: api.encodeResponse as unknown as Encode,
    decode: api.decodeResponse,
  },
])

function encode(c: Codec, version: number, m: ValueObject): Buffer {
  const w = new Writer(64)
  c.encode(w, version, m)
  return w.toBuffer()
}

const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]

/** One random corruption of `b`. */
function mutate(b: Buffer, rng: Rng): Buffer {
  const out = Buffer.from(b)
  switch (rng.int(0, 5)) {
    case 0: // truncate
      return out.subarray(0, rng.int(0, Math.max(0, b.length - 1)))
    case 1: {
      // flip 1-3 bits
      if (out.length === 0) return out
      for (let i = rng.int(1, 3); i > 0; i--) {
        const at = rng.int(0, out.length - 1)
        out[at] = (out[at] as number) ^ (1 << rng.int(0, 7))
      }
      return out
    }
    case 2: {
      // overwrite a byte with an edge value (lengths become -1, huge, 0...)
      if (out.length === 0) return out
      out[rng.int(0, out.length - 1)] = rng.pick(EDGE_BYTES)
      return out
    }
    case 3: {
      // insert a byte
      const at = rng.int(0, out.length)
      return Buffer.concat([out.subarray(0, at), Buffer.from([rng.pick(EDGE_BYTES)]), out.subarray(at)])
    }
    case 4: {
      // delete a run of bytes
      const at = rng.int(0, out.length)
      return Buffer.concat([out.subarray(0, at), out.subarray(at + rng.int(1, 4))])
    }
    default:
      // random garbage
      return rng.bytes(rng.int(0, 48))
  }
}

/** Decodes `input`; a ProtocolError is fine, anything else fails with the context to reproduce it. */
function decodeOrProtocolError(c: Codec, version: number, input: Buffer, ctx: string): unknown {
  try {
    return c.decode(new Reader(input), version)
  } catch (e) {
    if (e instanceof ProtocolError) return undefined
    const err = e instanceof Error ? e : new Error(String(e))
    err.message = `${ctx}: ${err.name} (not ProtocolError) decoding ${input.toString('hex')}: ${err.message}`
    throw err
  }
}

describe('fuzzed decoders throw only ProtocolError', () => {
  let total = 0
  const started = performance.now()
  for (const c of CODECS) {
    test(`${c.spec.name} v${c.api.minVersion}-${c.api.maxVersion}`, () => {
      for (let version = c.api.minVersion; version <= c.api.maxVersion; version++) {
        const seed = (SEED * 31 + c.api.apiKey * 1009 + version * 17 + c.spec.type.length) >>> 0
        const rng = new Rng(seed)
        const ctx = `${c.spec.name} v${version} seed ${seed} (SAMSA_SEED=${SEED})`
        for (let b = 0; b < BASES; b++) {
          const valid = encode(c, version, randomMessage(c.spec, version, rng))
          for (let i = 0; i < MUTANTS; i++) {
            const input = mutate(valid, rng)
            total++
            const decoded = decodeOrProtocolError(c, version, input, ctx)
            if (decoded === undefined) continue
            // Whatever decodes is a valid value of the version: it re-encodes and decodes to itself.
            const again = encode(c, version, decoded as ValueObject)
            const r = new Reader(again)
            assert.deepStrictEqual(c.decode(r, version), decoded, `${ctx}: re-decode of ${input.toString('hex')}`)
            assert.equal(r.remaining(), 0)
          }
        }
      }
    })
  }
  test('ran thousands of decodes within the time budget', (t) => {
    assert.ok(total >= 5000, `only ${total} fuzzed decodes`)
    const ms = performance.now() - started
    t.diagnostic(`${total} fuzzed decodes in ${ms.toFixed(0)} ms`)
    assert.ok(ms < 10000, `fuzzing took ${ms.toFixed(0)} ms`)
  })
})

describe('lying array lengths', () => {
  test('a short buffer claiming an array of 2^31-1 elements throws ProtocolError quickly', () => {
    let checked = 0
    const started = performance.now()
    for (const c of CODECS) {
      for (let version = c.api.minVersion; version <= c.api.maxVersion; version++) {
        // Messages whose first field in this version is an inline array.
        const first = c.spec.fields.find((f) => inRange(f.versions, version) && !inRange(f.taggedVersions, version))
        if (first === undefined || !fieldType(c.spec, first).isArray) continue
        const compact = inRange(c.spec.flexibleVersions, version)
        // 2^31-1 as INT32, or as UNSIGNED_VARINT 2^31 (count + 1) for a COMPACT_ARRAY.
        const count = compact ? Buffer.from([0x80, 0x80, 0x80, 0x80, 0x08]) : Buffer.from([0x7f, 0xff, 0xff, 0xff])
        const input = Buffer.concat([count, Buffer.alloc(16, 0x01)])
        const t0 = performance.now()
        assert.throws(
          () => c.decode(new Reader(input), version),
          (e: unknown) => e instanceof ProtocolError,
          `${c.spec.name} v${version}`,
        )
        assert.ok(performance.now() - t0 < 50, `${c.spec.name} v${version} was slow`)
        checked++
      }
    }
    assert.ok(checked > 100, `only ${checked} messages start with an array`)
    assert.ok(performance.now() - started < 1000)
  })

  test('nested lying counts (ApiVersionsResponse v0 api_keys, Metadata v9 compact topics)', () => {
    const apiVersions = API_DESCRIPTORS.find((a) => a.name === 'ApiVersions')
    const metadata = API_DESCRIPTORS.find((a) => a.name === 'Metadata')
    assert.ok(apiVersions && metadata)
    const isProtocolError = (e: unknown): boolean => e instanceof ProtocolError
    // error_code 0, then api_keys claiming 2^31-1 entries in 6 bytes.
    const av = Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 0, 0, 0, 4])
    assert.throws(() => apiVersions.decodeResponse(new Reader(av), 0), isProtocolError)
    // Metadata v9 request: COMPACT_ARRAY of 2^32-2 topics.
    const md = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x02, 0x61, 0x00])
    assert.throws(() => metadata.decodeRequest(new Reader(md), 9), isProtocolError)
    // Every element takes at least a byte, so even a count equal to the bytes left fails fast.
    const mdInt32 = Buffer.from([0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00])
    assert.throws(() => metadata.decodeRequest(new Reader(mdInt32), 1), isProtocolError)
  })
})

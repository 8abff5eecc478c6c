/**
 * Reader/Writer primitives against the byte layouts of the Kafka protocol guide
 * (https://kafka.apache.org/protocol#protocol_types): big-endian fixed-width integers,
 * UNSIGNED_VARINT (LEB128), zigzag VARINT/VARLONG, (COMPACT_)(NULLABLE_)STRING/BYTES,
 * ARRAY / COMPACT_ARRAY lengths and TAG_BUFFER.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { notNull, UnsupportedVersionError } from '../../src/protocol/wire/codec-helpers.ts'
import { ProtocolError } from '../../src/protocol/wire/protocol-error.ts'
import { Reader } from '../../src/protocol/wire/reader.ts'
import { uuidFromBytes, uuidToBytes, ZERO_UUID } from '../../src/protocol/wire/uuid.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'

function hex(b: Buffer): string {
  return b.toString('hex').replace(/(..)/g, '$1 ').trim()
}

function bytes(spaced: string): Buffer {
  return Buffer.from(spaced.replaceAll(' ', ''), 'hex')
}

/** Encodes with `write`, checks the exact bytes, then decodes them back with `read`, consuming all. */
function roundTrip<T>(write: (w: Writer) => void, expected: string, read: (r: Reader) => T, value: T): void {
  const w = new Writer(1)
  write(w)
  const out = w.toBuffer()
  assert.equal(hex(out), expected, `encoding of ${String(value)}`)
  assert.equal(w.length, out.length)
  const r = new Reader(out)
  assert.deepStrictEqual(read(r), value)
  assert.equal(r.remaining(), 0, 'all bytes consumed')
}

/** Asserts that `fn` throws a ProtocolError (not a RangeError or anything else). */
function assertProtocolError(fn: () => unknown, what = ''): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError, what)
}

describe("fixed-width integers (big-endian, two's complement)", () => {
  test('INT8', () => {
    for (const [v, h] of [
      [0, '00'],
      [1, '01'],
      [-1, 'ff'],
      [127, '7f'],
      [-128, '80'],
    ] as const) {
      roundTrip(
        (w) => w.writeInt8(v),
        h,
        (r) => r.readInt8(),
        v,
      )
    }
  })

  test('INT16 and UINT16', () => {
    for (const [v, h] of [
      [0, '00 00'],
      [-1, 'ff ff'],
      [32767, '7f ff'],
      [-32768, '80 00'],
      [258, '01 02'],
    ] as const) {
      roundTrip(
        (w) => w.writeInt16(v),
        h,
        (r) => r.readInt16(),
        v,
      )
    }
    for (const [v, h] of [
      [0, '00 00'],
      [65535, 'ff ff'],
      [33000, '80 e8'],
    ] as const) {
      roundTrip(
        (w) => w.writeUInt16(v),
        h,
        (r) => r.readUInt16(),
        v,
      )
    }
  })

  test('INT32 and UINT32', () => {
    for (const [v, h] of [
      [0, '00 00 00 00'],
      [-1, 'ff ff ff ff'],
      [2147483647, '7f ff ff ff'],
      [-2147483648, '80 00 00 00'],
      [30000, '00 00 75 30'],
    ] as const) {
      roundTrip(
        (w) => w.writeInt32(v),
        h,
        (r) => r.readInt32(),
        v,
      )
    }
    for (const [v, h] of [
      [0, '00 00 00 00'],
      [4294967295, 'ff ff ff ff'],
      [2147483648, '80 00 00 00'],
    ] as const) {
      roundTrip(
        (w) => w.writeUInt32(v),
        h,
        (r) => r.readUInt32(),
        v,
      )
    }
  })

  test('INT64 as bigint', () => {
    for (const [v, h] of [
      [0n, '00 00 00 00 00 00 00 00'],
      [-1n, 'ff ff ff ff ff ff ff ff'],
      [2n ** 63n - 1n, '7f ff ff ff ff ff ff ff'],
      [-(2n ** 63n), '80 00 00 00 00 00 00 00'],
      [2n ** 32n, '00 00 00 01 00 00 00 00'],
    ] as const) {
      roundTrip(
        (w) => w.writeInt64(v),
        h,
        (r) => r.readInt64(),
        v,
      )
    }
    assert.throws(() => new Writer().writeInt64(2n ** 63n), RangeError, 'out of range is a programming error')
  })

  test('FLOAT64 (IEEE 754 binary64, big-endian)', () => {
    for (const [v, h] of [
      [0, '00 00 00 00 00 00 00 00'],
      [-0, '80 00 00 00 00 00 00 00'],
      [1.5, '3f f8 00 00 00 00 00 00'],
      [-2, 'c0 00 00 00 00 00 00 00'],
      [Number.POSITIVE_INFINITY, '7f f0 00 00 00 00 00 00'],
      [Number.MAX_VALUE, '7f ef ff ff ff ff ff ff'],
      [Number.MIN_VALUE, '00 00 00 00 00 00 00 01'],
    ] as const) {
      roundTrip(
        (w) => w.writeFloat64(v),
        h,
        (r) => r.readFloat64(),
        v,
      )
    }
    const r = new Reader(bytes('7f f8 00 00 00 00 00 00'))
    assert.ok(Number.isNaN(r.readFloat64()))
  })

  test('BOOLEAN: 0 is false, any other byte reads as true', () => {
    roundTrip(
      (w) => w.writeBool(true),
      '01',
      (r) => r.readBool(),
      true,
    )
    roundTrip(
      (w) => w.writeBool(false),
      '00',
      (r) => r.readBool(),
      false,
    )
    assert.equal(new Reader(bytes('02')).readBool(), true)
    assert.equal(new Reader(bytes('ff')).readBool(), true)
  })
})

describe('UUID', () => {
  test('16 bytes, canonical lowercase 8-4-4-4-12 form', () => {
    const id = '01234567-89ab-cdef-fedc-ba9876543210'
    roundTrip(
      (w) => w.writeUuid(id),
      '01 23 45 67 89 ab cd ef fe dc ba 98 76 54 32 10',
      (r) => r.readUuid(),
      id,
    )
    roundTrip(
      (w) => w.writeUuid(ZERO_UUID),
      '00 '.repeat(16).trim(),
      (r) => r.readUuid(),
      ZERO_UUID,
    )
    const upper = new Writer()
    upper.writeUuid('01234567-89AB-CDEF-FEDC-BA9876543210')
    assert.equal(new Reader(upper.toBuffer()).readUuid(), id, 'decodes to lowercase')
  })

  test('uuidToBytes/uuidFromBytes at an offset; malformed strings are rejected', () => {
    const b = Buffer.alloc(20)
    uuidToBytes('ffffffff-0000-0000-0000-00000000000f', b, 2)
    assert.equal(hex(b), '00 00 ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 0f 00 00')
    assert.equal(uuidFromBytes(b, 2), 'ffffffff-0000-0000-0000-00000000000f')
    for (const bad of [
      '',
      'xyz',
      '01234567-89ab-cdef-fedc-ba987654321',
      '01234567-89ab-cdef-fedc-ba98765432100',
      'g'.repeat(32),
    ]) {
      assert.throws(() => new Writer().writeUuid(bad), TypeError, bad)
    }
  })
})

describe('UNSIGNED_VARINT (LEB128, 7 bits per byte, low group first)', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '80 01'],
    [300, 'ac 02'],
    [16383, 'ff 7f'],
    [16384, '80 80 01'],
    [2 ** 31 - 1, 'ff ff ff ff 07'],
    [2 ** 31, '80 80 80 80 08'],
    [2 ** 32 - 1, 'ff ff ff ff 0f'],
  ]
  test('edges encode to the expected bytes and back', () => {
    for (const [v, h] of cases)
      roundTrip(
        (w) => w.writeUVarint(v),
        h,
        (r) => r.readUVarint(),
        v,
      )
  })

  test('a non-minimal encoding still decodes (as Kafka does)', () => {
    assert.equal(new Reader(bytes('80 00')).readUVarint(), 0)
    assert.equal(new Reader(bytes('81 80 80 80 00')).readUVarint(), 1)
  })

  test('more than 5 bytes, or a truncated varint, is a ProtocolError', () => {
    assertProtocolError(() => new Reader(bytes('80 80 80 80 80 01')).readUVarint(), '6 bytes')
    assertProtocolError(() => new Reader(bytes('ff ff ff ff ff ff ff ff ff ff ff')).readUVarint(), 'endless')
    assertProtocolError(() => new Reader(bytes('80')).readUVarint(), 'truncated')
    assertProtocolError(() => new Reader(Buffer.alloc(0)).readUVarint(), 'empty')
  })
})

describe('VARINT / VARLONG (zigzag)', () => {
  test('VARINT edges', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [-1, '01'],
      [1, '02'],
      [-2, '03'],
      [63, '7e'],
      [-64, '7f'],
      [64, '80 01'],
      [-65, '81 01'],
      [2147483647, 'fe ff ff ff 0f'],
      [-2147483648, 'ff ff ff ff 0f'],
    ]
    for (const [v, h] of cases)
      roundTrip(
        (w) => w.writeVarint(v),
        h,
        (r) => r.readVarint(),
        v,
      )
  })

  test('VARINT decodes to a 32-bit value even when the 5th byte carries extra bits (as Kafka)', () => {
    // Kafka's ByteUtils.readVarint accumulates in an int, so bits above 32 are dropped.
    const v = new Reader(bytes('fe ff ff ff 7f')).readVarint()
    assert.ok(v >= -2147483648 && v <= 2147483647, `got ${v}`)
    assert.equal(v, 2147483647)
  })

  test('VARLONG edges', () => {
    const cases: [bigint, string][] = [
      [0n, '00'],
      [-1n, '01'],
      [1n, '02'],
      [63n, '7e'],
      [-64n, '7f'],
      [64n, '80 01'],
      [2147483647n, 'fe ff ff ff 0f'],
      [-2147483648n, 'ff ff ff ff 0f'],
      [2n ** 63n - 1n, 'fe ff ff ff ff ff ff ff ff 01'],
      [-(2n ** 63n), 'ff ff ff ff ff ff ff ff ff 01'],
    ]
    for (const [v, h] of cases)
      roundTrip(
        (w) => w.writeVarlong(v),
        h,
        (r) => r.readVarlong(),
        v,
      )
  })

  test('VARLONG decodes to a 64-bit value even when the 10th byte carries extra bits (as Kafka)', () => {
    const v = new Reader(bytes('fe ff ff ff ff ff ff ff ff 7f')).readVarlong()
    assert.ok(v >= -(2n ** 63n) && v <= 2n ** 63n - 1n, `got ${v}`)
    assert.equal(v, 2n ** 63n - 1n)
  })

  test('VARLONG longer than 10 bytes, or truncated, is a ProtocolError', () => {
    assertProtocolError(() => new Reader(bytes('80 80 80 80 80 80 80 80 80 80 01')).readVarlong())
    assertProtocolError(() => new Reader(bytes('ff ff')).readVarlong())
    assertProtocolError(() => new Reader(bytes('ff ff')).readVarint())
  })
})

describe('strings', () => {
  test('STRING: INT16 length N, then N bytes of UTF-8', () => {
    roundTrip(
      (w) => w.writeString('abc'),
      '00 03 61 62 63',
      (r) => r.readString(),
      'abc',
    )
    roundTrip(
      (w) => w.writeString(''),
      '00 00',
      (r) => r.readString(),
      '',
    )
    // Multi-byte UTF-8: the length counts bytes, not UTF-16 units (é 2, € 3, 😀 4 bytes).
    roundTrip(
      (w) => w.writeString('é€😀'),
      '00 09 c3 a9 e2 82 ac f0 9f 98 80',
      (r) => r.readString(),
      'é€😀',
    )
  })

  test('NULLABLE_STRING: length -1 is null', () => {
    roundTrip(
      (w) => w.writeNullableString(null),
      'ff ff',
      (r) => r.readNullableString(),
      null,
    )
    roundTrip(
      (w) => w.writeNullableString('k'),
      '00 01 6b',
      (r) => r.readNullableString(),
      'k',
    )
    assertProtocolError(() => new Reader(bytes('ff ff')).readString(), 'null where a STRING is required')
  })

  test('COMPACT_STRING: UNSIGNED_VARINT N+1, then N bytes ("abc" = 04 61 62 63)', () => {
    roundTrip(
      (w) => w.writeCompactString('abc'),
      '04 61 62 63',
      (r) => r.readCompactString(),
      'abc',
    )
    roundTrip(
      (w) => w.writeCompactString(''),
      '01',
      (r) => r.readCompactString(),
      '',
    )
    roundTrip(
      (w) => w.writeCompactString('日本'),
      '07 e6 97 a5 e6 9c ac',
      (r) => r.readCompactString(),
      '日本',
    )
    const long = 'x'.repeat(200)
    roundTrip(
      (w) => w.writeCompactString(long),
      `c9 01 ${'78 '.repeat(200).trim()}`,
      (r) => r.readCompactString(),
      long,
    )
  })

  test('COMPACT_NULLABLE_STRING: 0 is null', () => {
    roundTrip(
      (w) => w.writeCompactNullableString(null),
      '00',
      (r) => r.readCompactNullableString(),
      null,
    )
    roundTrip(
      (w) => w.writeCompactNullableString('a'),
      '02 61',
      (r) => r.readCompactNullableString(),
      'a',
    )
    assertProtocolError(() => new Reader(bytes('00')).readCompactString(), 'null where a COMPACT_STRING is required')
  })

  test('a length beyond the buffer is a ProtocolError', () => {
    assertProtocolError(() => new Reader(bytes('00 05 61 62')).readString())
    assertProtocolError(() => new Reader(bytes('00 05 61 62')).readNullableString())
    assertProtocolError(() => new Reader(bytes('7f ff')).readString())
    assertProtocolError(() => new Reader(bytes('06 61')).readCompactString())
    assertProtocolError(() => new Reader(bytes('ff ff ff ff 0f')).readCompactNullableString())
    assertProtocolError(() => new Reader(bytes('00')).readString(), 'truncated length')
  })
})

describe('bytes', () => {
  test('BYTES / NULLABLE_BYTES: INT32 length, -1 is null', () => {
    const b = Buffer.from([1, 2, 3])
    roundTrip(
      (w) => w.writeBytes(b),
      '00 00 00 03 01 02 03',
      (r) => r.readBytes(),
      b,
    )
    roundTrip(
      (w) => w.writeBytes(Buffer.alloc(0)),
      '00 00 00 00',
      (r) => r.readBytes(),
      Buffer.alloc(0),
    )
    roundTrip(
      (w) => w.writeNullableBytes(null),
      'ff ff ff ff',
      (r) => r.readNullableBytes(),
      null,
    )
    roundTrip(
      (w) => w.writeNullableBytes(b),
      '00 00 00 03 01 02 03',
      (r) => r.readNullableBytes(),
      b,
    )
    assertProtocolError(() => new Reader(bytes('ff ff ff ff')).readBytes())
    assertProtocolError(() => new Reader(bytes('00 00 00 04 01 02 03')).readBytes())
    assertProtocolError(() => new Reader(bytes('7f ff ff ff 00')).readNullableBytes())
  })

  test('COMPACT_BYTES / COMPACT_NULLABLE_BYTES: UNSIGNED_VARINT N+1, 0 is null', () => {
    const b = Buffer.from([0xde, 0xad])
    roundTrip(
      (w) => w.writeCompactBytes(b),
      '03 de ad',
      (r) => r.readCompactBytes(),
      b,
    )
    roundTrip(
      (w) => w.writeCompactNullableBytes(null),
      '00',
      (r) => r.readCompactNullableBytes(),
      null,
    )
    roundTrip(
      (w) => w.writeCompactNullableBytes(b),
      '03 de ad',
      (r) => r.readCompactNullableBytes(),
      b,
    )
    assertProtocolError(() => new Reader(bytes('00')).readCompactBytes())
    assertProtocolError(() => new Reader(bytes('05 01')).readCompactBytes())
  })

  test('decoded bytes are views of the frame, not copies', () => {
    const frame = bytes('00 00 00 02 aa bb')
    const v = new Reader(frame).readBytes()
    assert.equal(v.buffer, frame.buffer)
    assert.equal(v.byteOffset, frame.byteOffset + 4)
  })

  test('large byte fields are written by reference and concatenated correctly', () => {
    const big = Buffer.alloc(10000, 7)
    const w = new Writer(8)
    w.writeInt16(1)
    w.writeBytes(big)
    w.writeInt8(-1)
    const chunks = w.finish()
    assert.ok(
      chunks.some((c) => c === big),
      'the large buffer is one of the chunks (no copy)',
    )
    const out = Buffer.concat(chunks)
    assert.equal(out.length, 2 + 4 + 10000 + 1)
    const r = new Reader(out)
    assert.equal(r.readInt16(), 1)
    assert.deepStrictEqual(r.readBytes(), big)
    assert.equal(r.readInt8(), -1)
    assert.equal(r.remaining(), 0)
  })

  test('a writer grows from a tiny buffer and keeps every byte', () => {
    const w = new Writer(1)
    for (let i = 0; i < 1000; i++) {
      w.writeInt32(i)
      w.writeCompactString(`s${i}`)
    }
    const out = w.toBuffer()
    assert.equal(out.length, w.length)
    const r = new Reader(out)
    for (let i = 0; i < 1000; i++) {
      assert.equal(r.readInt32(), i)
      assert.equal(r.readCompactString(), `s${i}`)
    }
    assert.equal(r.remaining(), 0)
    assert.equal(new Writer().toBuffer().length, 0, 'an empty writer')
  })
})

describe('array lengths', () => {
  test('ARRAY: INT32 count, -1 is null; COMPACT_ARRAY: UNSIGNED_VARINT count+1, 0 is null', () => {
    const cases: [number, boolean, string][] = [
      [0, false, '00 00 00 00'],
      [3, false, '00 00 00 03'],
      [-1, false, 'ff ff ff ff'],
      [0, true, '01'],
      [3, true, '04'],
      [-1, true, '00'],
      [200, true, 'c9 01'],
    ]
    for (const [n, compact, h] of cases) {
      const w = new Writer()
      w.writeArrayLength(n, compact)
      assert.equal(hex(w.toBuffer()), h)
      // Reading checks the count against the bytes left, so give it room.
      const r = new Reader(Buffer.concat([w.toBuffer(), Buffer.alloc(Math.max(n, 0))]))
      assert.equal(r.readArrayLength(compact), n)
    }
  })

  test('a count larger than the remaining bytes is a ProtocolError, without allocating', () => {
    assertProtocolError(() => new Reader(bytes('7f ff ff ff 00 00')).readArrayLength(false), 'INT32 2^31-1')
    assertProtocolError(() => new Reader(bytes('00 00 00 03 00 00')).readArrayLength(false), '3 in 2 bytes')
    assertProtocolError(() => new Reader(bytes('80 80 80 80 08 00')).readArrayLength(true), 'compact 2^31-1')
    assertProtocolError(() => new Reader(bytes('ff ff ff ff 0f')).readArrayLength(true), 'compact 2^32-2')
    assertProtocolError(() => new Reader(bytes('ff ff ff fe')).readArrayLength(false), 'negative -2')
    assertProtocolError(() => new Reader(bytes('80 00 00 00')).readArrayLength(false), 'INT32 min')
    assertProtocolError(() => new Reader(bytes('00 00')).readArrayLength(false), 'truncated count')
  })
})

describe('TAG_BUFFER', () => {
  test('skipTaggedFields skips every (tag, size, data) entry', () => {
    // 2 fields: tag 0 with 2 bytes, tag 300 (ac 02) with 0 bytes; then a trailing INT8 42.
    const r = new Reader(bytes('02 00 02 aa bb ac 02 00 2a'))
    r.skipTaggedFields()
    assert.equal(r.readInt8(), 42)
    assert.equal(r.remaining(), 0)
    const empty = new Reader(bytes('00'))
    empty.skipTaggedFields()
    assert.equal(empty.remaining(), 0)
  })

  test('truncated tag sections are ProtocolErrors', () => {
    for (const h of ['', '01', '01 00', '01 00 05 aa', '02 00 00', '01 00 ff ff ff ff 0f']) {
      assertProtocolError(() => new Reader(bytes(h)).skipTaggedFields(), h)
    }
  })

  test('sub() reads a tagged value inside its own bounds', () => {
    const r = new Reader(bytes('03 01 02 03 09'))
    const t = r.sub(r.readUVarint())
    assert.equal(t.readInt16(), 0x0102)
    assertProtocolError(() => t.readInt16(), 'past the end of the tag')
    assert.equal(r.readInt8(), 9)
  })
})

describe('bounds and errors', () => {
  test('every read on a short buffer is a ProtocolError, never a RangeError', () => {
    const reads: [string, (r: Reader) => unknown, number][] = [
      ['int8', (r) => r.readInt8(), 1],
      ['int16', (r) => r.readInt16(), 2],
      ['uint16', (r) => r.readUInt16(), 2],
      ['int32', (r) => r.readInt32(), 4],
      ['uint32', (r) => r.readUInt32(), 4],
      ['int64', (r) => r.readInt64(), 8],
      ['float64', (r) => r.readFloat64(), 8],
      ['bool', (r) => r.readBool(), 1],
      ['uuid', (r) => r.readUuid(), 16],
      ['raw', (r) => r.readRaw(3), 3],
      ['skip', (r) => r.skip(3), 3],
      ['sub', (r) => r.sub(3), 3],
    ]
    for (const [name, read, size] of reads) {
      for (let have = 0; have < size; have++) {
        assertProtocolError(() => read(new Reader(Buffer.alloc(have, 0x7f))), `${name} with ${have} bytes`)
      }
      // The reader honours its end bound even when the underlying buffer has more bytes.
      assertProtocolError(() => read(new Reader(Buffer.alloc(32), 30, 30 + size - 1)), `${name} past end`)
      const r = new Reader(Buffer.alloc(size + 1), 1)
      read(r)
      assert.equal(r.remaining(), 0, name)
    }
  })

  test('ProtocolError records the offset and the message context', () => {
    const r = new Reader(bytes('00 01 02'))
    r.readInt16()
    try {
      r.readInt32()
      assert.fail('expected a ProtocolError')
    } catch (e) {
      assert.ok(e instanceof ProtocolError)
      assert.equal(e.offset, 2)
      e.withContext(3, 12)
      assert.equal(e.apiKey, 3)
      assert.equal(e.apiVersion, 12)
      assert.match(e.message, /api 3 v12, offset 2/)
      assert.equal(e.name, 'ProtocolError')
    }
  })

  test('notNull throws UnsupportedVersionError on null', () => {
    assert.equal(notNull('x'), 'x')
    assert.throws(() => notNull(null), UnsupportedVersionError)
  })
})

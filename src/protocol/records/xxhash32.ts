/**
 * XXH32, needed only to compute (or repair) the one-byte header checksum of LZ4 frame
 * descriptors; the lz4 codec itself hashes block data natively. Inputs here are < 20 bytes.
 */

const P1 = 2654435761
const P2 = 2246822519
const P3 = 3266489917
const P4 = 668265263
const P5 = 374761393

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1)
}

/** XXH32 of buf[start, end) with the given seed, as an unsigned 32-bit number. */
export function xxhash32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  const len = end - start
  let p = start
  let h: number
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0
    let v2 = (seed + P2) | 0
    let v3 = seed | 0
    let v4 = (seed - P1) | 0
    const limit = end - 16
    while (p <= limit) {
      v1 = round(v1, readU32LE(buf, p))
      v2 = round(v2, readU32LE(buf, p + 4))
      v3 = round(v3, readU32LE(buf, p + 8))
      v4 = round(v4, readU32LE(buf, p + 12))
      p += 16
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0
  } else {
    h = (seed + P5) | 0
  }
  h = (h + len) | 0
  while (p + 4 <= end) {
    h = (h + Math.imul(readU32LE(buf, p), P3)) | 0
    h = Math.imul(rotl(h, 17), P4)
    p += 4
  }
  while (p < end) {
    h = (h + Math.imul(buf[p] ?? 0, P5)) | 0
    h = Math.imul(rotl(h, 11), P1)
    p++
  }
  h ^= h >>> 15
  h = Math.imul(h, P2)
  h ^= h >>> 13
  h = Math.imul(h, P3)
  h ^= h >>> 16
  return h >>> 0
}

function readU32LE(buf: Uint8Array, p: number): number {
  return ((buf[p] ?? 0) | ((buf[p + 1] ?? 0) << 8) | ((buf[p + 2] ?? 0) << 16) | ((buf[p + 3] ?? 0) << 24)) >>> 0
}

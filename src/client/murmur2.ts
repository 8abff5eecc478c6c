/**
 * The 32-bit murmur2 hash exactly as the Java client computes it (seed 0x9747b28c, little-endian
 * 4-byte blocks, signed int result), so keyed records land on the partitions Java producers pick.
 */

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** murmur2 of the bytes, as a signed 32-bit integer (the value Java's Utils.murmur2 returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const blocks = length & ~3
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const rest = length & 3
  if (rest > 0) {
    if (rest === 3) h ^= (data[blocks + 2] as number) << 16
    if (rest >= 2) h ^= (data[blocks + 1] as number) << 8
    h ^= data[blocks] as number
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Java's Utils.toPositive: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/**
 * The native compression add-ons, loaded on first use: most brokers and test suites never see a
 * snappy, lz4 or zstd batch, and loading all three costs tens of milliseconds and ~18 MB of
 * memory at start.
 */
import { createRequire } from 'node:module'

type Snappy = typeof import('snappy')
type Lz4 = typeof import('lz4-napi')
type Zstd = typeof import('@toondepauw/node-zstd')

const require = createRequire(import.meta.url)
let snappy: Snappy | undefined
let lz4: Lz4 | undefined
let zstd: Zstd | undefined

export function snappyCodec(): Snappy {
  snappy ??= require('snappy') as Snappy
  return snappy
}

export function lz4Codec(): Lz4 {
  lz4 ??= require('lz4-napi') as Lz4
  return lz4
}

export function zstdCodec(): Zstd {
  zstd ??= require('@toondepauw/node-zstd') as Zstd
  return zstd
}

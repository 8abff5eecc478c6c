/** Flags `samsa produce` and `samsa perf produce` share, parsed once so both say the same. */

import type { CompressionName } from '../client/producer.ts'
import { COMPRESSION_NAMES } from '../protocol/records/compression.ts'
import { UsageError } from './common.ts'

/** Parses --acks: all (or -1), 1 or 0. */
export function parseAcks(value: string): number {
  if (value === 'all' || value === '-1') return -1
  if (value === '0' || value === '1') return Number(value)
  throw new UsageError(`invalid --acks "${value}" (use all, 1 or 0)`)
}

/** Validates --compression against the producer's codecs. */
export function parseCompression(value: string): CompressionName {
  if ((COMPRESSION_NAMES as readonly string[]).includes(value)) return value as CompressionName
  throw new UsageError(`unknown compression "${value}" (use ${COMPRESSION_NAMES.join(', ')})`)
}

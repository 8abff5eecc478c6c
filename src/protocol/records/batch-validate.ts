/**
 * The produce/fetch hot path: walk concatenated record batches, checking lengths, magic and
 * CRC32C without decoding records. Failures are returned as RecordsError values (not thrown),
 * so a handler maps them to a partition's error code with a plain `instanceof` check.
 */
import { crc32c } from '@node-rs/crc32'
import { type BatchInfo, readBatchHeader } from './batch-header.ts'
import * as L from './batch-layout.ts'
import { corrupt, invalid, RecordsError } from './errors.ts'

/** The smallest possible encoded record (length, attributes, deltas, key, value, header count). */
const MIN_RECORD_SIZE = 7

/**
 * Validate the batch at `pos`: complete within `end`, magic 2, sane length, known codec and a
 * matching CRC32C. Returns its header, or the error ('corrupt' for bytes, 'invalid' for magic/codec).
 */
export function validateBatch(buf: Buffer, pos = 0, end = buf.length): BatchInfo | RecordsError {
  const left = end - pos
  if (left < L.MAGIC + 1) return corrupt('TRUNCATED', `record batch needs at least ${L.RECORDS} bytes, ${left} left`)
  const magic = buf.readInt8(pos + L.MAGIC)
  if (magic !== L.CURRENT_MAGIC) return invalid('UNSUPPORTED_MAGIC', `record batch has magic ${magic}, expected 2`)
  const batchLength = buf.readInt32BE(pos + L.BATCH_LENGTH)
  if (batchLength < L.MIN_BATCH_LENGTH) return corrupt('BAD_LENGTH', `record batch length ${batchLength} is too small`)
  const size = L.LOG_OVERHEAD + batchLength
  if (size > left) return corrupt('TRUNCATED', `record batch of ${size} bytes but only ${left} left`)
  const stored = buf.readUInt32BE(pos + L.CRC)
  const actual = crc32c(buf.subarray(pos + L.ATTRIBUTES, pos + size))
  if (stored !== actual) return corrupt('CRC_MISMATCH', `record batch CRC is ${stored}, computed ${actual}`)
  const info = readBatchHeader(buf, pos, end) as BatchInfo
  if (info.compression > 4) return invalid('UNKNOWN_COMPRESSION', `unknown compression codec ${info.compression}`)
  return info
}

/** Validate every batch in buf[start, end); an empty range gives []. */
export function validateBatches(buf: Buffer, start = 0, end = buf.length): BatchInfo[] | RecordsError {
  const batches: BatchInfo[] = []
  let pos = start
  while (pos < end) {
    const info = validateBatch(buf, pos, end)
    if (info instanceof RecordsError) return info
    batches.push(info)
    pos += info.size
  }
  return batches
}

/**
 * Kafka's rules for a batch a client appends (LogValidator.validateBatch): at least one record,
 * record count matching the offset range, no control batch, and consistent producer state.
 * Broker policies (batch count per request, zstd needing Produce v7, max.message.bytes) stay
 * with the caller. Returns null when the batch is acceptable.
 */
export function checkClientBatch(info: BatchInfo): RecordsError | null {
  if (info.recordCount <= 0) return invalid('BAD_COUNT', `record batch declares ${info.recordCount} records`)
  if (info.lastOffsetDelta < 0)
    return invalid('BAD_OFFSETS', `record batch has lastOffsetDelta ${info.lastOffsetDelta}`)
  if (info.lastOffsetDelta + 1 !== info.recordCount) {
    return invalid(
      'BAD_COUNT',
      `record count ${info.recordCount} does not match lastOffsetDelta ${info.lastOffsetDelta}`,
    )
  }
  if (info.compression === 0 && info.recordCount > (info.size - L.RECORDS) / MIN_RECORD_SIZE) {
    return corrupt('BAD_COUNT', `record count ${info.recordCount} cannot fit in ${info.size - L.RECORDS} bytes`)
  }
  if (info.isControl) return invalid('BAD_CONTROL_RECORD', 'clients may not write control batches')
  if (info.producerId >= 0 && info.baseSequence < 0)
    return invalid('BAD_PRODUCER_STATE', 'producer id without sequence')
  if (info.isTransactional && info.producerId < 0) {
    return invalid('BAD_PRODUCER_STATE', 'transactional batch without producer id')
  }
  return null
}

/**
 * Everything a Produce (v3+) partition's `records` needs before append: validateBatches plus
 * checkClientBatch on each batch.
 */
export function validateProducedRecords(buf: Buffer, start = 0, end = buf.length): BatchInfo[] | RecordsError {
  const batches = validateBatches(buf, start, end)
  if (batches instanceof RecordsError) return batches
  for (const info of batches) {
    const err = checkClientBatch(info)
    if (err !== null) return err
  }
  return batches
}

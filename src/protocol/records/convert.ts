/**
 * Conversions between legacy message sets and record batches, as Kafka's broker does them:
 * - up: Produce v0-v2 clients send message sets; the log stores only v2 batches.
 * - down: Fetch v0-v3 clients read message sets of magic 0 or 1 (RecordsUtil.downConvert).
 * Both decode records, so they are slow paths by nature.
 */
import {
  asRecordsError,
  type BatchInput,
  decodeBatches,
  decodeBatchesSync,
  encodeBatch,
  encodeBatchSync,
  type RecordBatch,
} from './batch.ts'
import { Compression, type CompressionCodec } from './compression.ts'
import { invalid } from './errors.ts'
import {
  decodeMessageSet,
  decodeMessageSetSync,
  encodeMessageSet,
  encodeMessageSetSync,
  type LegacyMagic,
  type LegacyMessage,
  type LegacyMessageInput,
  type MessageSetInput,
} from './legacy.ts'

/** Options for messageSetToBatch. */
export interface UpConvertOptions {
  /** Codec of the new batch; default: the codec the client used (its first wrapper's). */
  compression?: CompressionCodec
  maxDecompressedBytes?: number
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

function toBatchInput(messages: readonly LegacyMessage[], options: UpConvertOptions): BatchInput {
  if (messages.length === 0) throw invalid('BAD_COUNT', 'message set holds no messages')
  const compression = options.compression ?? messages.find((m) => m.compression !== 0)?.compression ?? Compression.NONE
  for (const m of messages) {
    // Batch timestamps are handled as numbers; refuse what would lose precision.
    if (m.timestamp > MAX_SAFE || m.timestamp < -MAX_SAFE)
      throw invalid('BAD_RECORD', `timestamp ${m.timestamp} out of range`)
  }
  // Offsets in a produced message set are placeholders: the broker assigns consecutive ones.
  // Magic 0 messages have no timestamp and keep Kafka's NO_TIMESTAMP (-1).
  return {
    compression,
    baseOffset: 0,
    records: messages.map((m, i) => ({ key: m.key, value: m.value, timestamp: m.timestamp, offsetDelta: i })),
  }
}

/**
 * Up-convert a produced message set (magic 0/1) into one v2 batch with baseOffset 0 and no
 * producer id, ready for validateBatch and the normal append path. Throws RecordsError.
 */
export async function messageSetToBatch(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: UpConvertOptions = {},
): Promise<Buffer> {
  const messages = await decodeMessageSet(buf, start, end, { maxDecompressedBytes: options.maxDecompressedBytes })
  try {
    return await encodeBatch(toBatchInput(messages, options))
  } catch (err) {
    throw asRecordsError(err)
  }
}

/** Synchronous messageSetToBatch. */
export function messageSetToBatchSync(
  buf: Buffer,
  start = 0,
  end = buf.length,
  options: UpConvertOptions = {},
): Buffer {
  const messages = decodeMessageSetSync(buf, start, end, { maxDecompressedBytes: options.maxDecompressedBytes })
  try {
    return encodeBatchSync(toBatchInput(messages, options))
  } catch (err) {
    throw asRecordsError(err)
  }
}

/** Options for batchesToMessageSet. */
export interface DownConvertOptions {
  magic: LegacyMagic
  /**
   * Drop records below this offset from uncompressed batches (Kafka does so because old clients
   * only skip earlier offsets inside compressed wrappers).
   */
  firstOffset?: number | bigint
  /** Codec for the messages; default: each batch keeps its own codec, as Kafka does. */
  compression?: CompressionCodec
  maxDecompressedBytes?: number
}

/** One MessageSetInput per batch that has something to send. */
function plan(batches: readonly RecordBatch[], options: DownConvertOptions): MessageSetInput[] {
  const first = BigInt(options.firstOffset ?? -1)
  const sets: MessageSetInput[] = []
  for (const batch of batches) {
    // Control records (transaction markers) do not exist for old clients.
    if (batch.isControl) continue
    const compression = options.compression ?? batch.compression
    const logAppend = batch.timestampType === 1
    const messages: LegacyMessageInput[] = []
    for (const r of batch.records) {
      const offset = batch.baseOffset + BigInt(r.offsetDelta)
      if (compression === Compression.NONE && offset < first) continue
      const timestamp = logAppend ? batch.maxTimestamp : batch.baseTimestamp + BigInt(r.timestampDelta)
      messages.push({ key: r.key, value: r.value, timestamp, offset })
    }
    if (messages.length === 0) continue
    // Record headers cannot be represented in magic 0/1 and are dropped, as in Kafka.
    sets.push({
      magic: options.magic,
      messages,
      compression,
      timestampType: logAppend ? 1 : 0,
      logAppendTime: batch.maxTimestamp,
    })
  }
  return sets
}

/** Down-convert v2 batches (e.g. a fetch's stored bytes) into a message set; throws RecordsError. */
export async function batchesToMessageSet(
  buf: Buffer,
  start: number,
  end: number,
  options: DownConvertOptions,
): Promise<Buffer> {
  const batches = await decodeBatches(buf, start, end, { maxDecompressedBytes: options.maxDecompressedBytes })
  const parts = await Promise.all(plan(batches, options).map((set) => encodeMessageSet(set)))
  return Buffer.concat(parts)
}

/** Synchronous batchesToMessageSet. */
export function batchesToMessageSetSync(buf: Buffer, start: number, end: number, options: DownConvertOptions): Buffer {
  const batches = decodeBatchesSync(buf, start, end, { maxDecompressedBytes: options.maxDecompressedBytes })
  return Buffer.concat(plan(batches, options).map((set) => encodeMessageSetSync(set)))
}

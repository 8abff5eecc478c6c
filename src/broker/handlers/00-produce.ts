// Produce: v0-11
// Validates each partition's batches from their headers alone (length, magic, CRC32C, counts,
// timestamps, size), stamps LogAppendTime where the topic asks for it, and appends the bytes as
// they came: no record is decoded (except on compacted topics, where every record needs a key:
// CORRUPT_MESSAGE before v8, INVALID_RECORD with the record's index from v8). Appends are issued synchronously, in request order, so
// pipelined requests on one connection land in the order they were sent.
// acks=0 gets no response; acks=-1 waits for the data to be durable (fsync, group commit).
// Version notes: v0-2 carry legacy message sets, up-converted to one v2 batch; v3+ must carry
// exactly one v2 batch per partition; zstd needs v7+; v8+ report record errors and a message.
// Idempotent and transactional batches (producer id ≥ 0) go through the producer state
// (coordinator/producer), which checks epoch and sequence and appends in the same ordered step:
// a retried batch among the producer's last 5 gets its original offset; a transactional batch
// needs its partition in the producer's open transaction (KIP-890 verification, INVALID_TXN_STATE).
// Partitions led by another node of a multi-broker view answer NOT_LEADER_OR_FOLLOWER with the
// current leader and its address (v10+, KIP-951), so the client need not refresh its metadata.
// Deliberate gaps: INVALID_TIMESTAMP is judged on the batch's first and max timestamps, not on every record.
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  api,
  createPartitionProduceResponse,
  createProduceResponse,
  type PartitionProduceData,
  type PartitionProduceResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../protocol/generated/produce.ts'
import { decodeBatchesSync } from '../../protocol/records/batch.ts'
import type { BatchInfo } from '../../protocol/records/batch-header.ts'
import { setLogAppendTime } from '../../protocol/records/batch-patch.ts'
import { batchTimestampsWithin, validateProducedRecords } from '../../protocol/records/batch-validate.ts'
import { Compression } from '../../protocol/records/compression.ts'
import { messageSetToBatchSync } from '../../protocol/records/convert.ts'
import { asRecordsError, kafkaErrorCode, RecordsError } from '../../protocol/records/index.ts'
import { kafkaErrorCodeOf } from '../../storage/storage-error.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { currentLeader, nodeEndpoints, partitionError } from '../routing.ts'

const VALID_ACKS = new Set([0, 1, -1])

export default defineHandler<ProduceRequest, ProduceResponse>({
  api,
  minVersion: 0,
  maxVersion: 11,
  async handle(ctx, req) {
    const core = ctx.broker
    const pending: Promise<void>[] = []
    const responses = req.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((p) => {
        const res = createPartitionProduceResponse({ index: p.index, baseOffset: -1n, logAppendTimeMs: -1n })
        if (!VALID_ACKS.has(req.acks)) res.errorCode = ErrorCode.INVALID_REQUIRED_ACKS
        else {
          const appended = produceToPartition(ctx, topic.name, p, req, res)
          if (appended) pending.push(appended)
        }
        return res
      }),
    }))
    if (req.acks === 0) {
      // No response is owed, but a failed append must still be seen by someone.
      Promise.all(pending).catch((err) => ctx.log.error({ err }, 'acks=0 append failed'))
      return null
    }
    await Promise.all(pending)
    const leaders = responses.flatMap((t) =>
      t.partitionResponses.filter((p) => p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER).map((p) => p.currentLeader),
    )
    return createProduceResponse({ responses, nodeEndpoints: nodeEndpoints(core, leaders) })
  },
  errorResponse(_ctx, req, errorCode) {
    return createProduceResponse({
      responses: req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => createPartitionProduceResponse({ index: p.index, errorCode })),
      })),
    })
  },
})

function fail(res: PartitionProduceResponse, errorCode: number, message: string | null): undefined {
  res.errorCode = errorCode
  res.errorMessage = message
  return undefined
}

/** Validates and starts the append of one partition's data; returns the append in flight, if any. */
function produceToPartition(
  ctx: RequestContext,
  topic: string,
  p: PartitionProduceData,
  req: ProduceRequest,
  res: PartitionProduceResponse,
): Promise<void> | undefined {
  const core = ctx.broker
  const version = ctx.apiVersion
  const acks = req.acks
  const notServed = partitionError(ctx, topic, p.index)
  if (notServed === ErrorCode.NOT_LEADER_OR_FOLLOWER) res.currentLeader = currentLeader(core, topic, p.index)
  if (notServed !== ErrorCode.NONE) return fail(res, notServed, errorInfo(notServed).message)
  if (p.records === null || p.records.length === 0) {
    return fail(res, ErrorCode.INVALID_RECORD, 'Produce requests must carry at least one record batch per partition')
  }
  let data = p.records
  if (version < 3) {
    try {
      data = messageSetToBatchSync(p.records)
    } catch (err) {
      const e = asRecordsError(err)
      return fail(res, kafkaErrorCode(e), e.message)
    }
  }
  const batches = validateProducedRecords(data)
  if (batches instanceof RecordsError) return fail(res, kafkaErrorCode(batches), batches.message)
  if (version >= 3 && batches.length !== 1) {
    return fail(res, ErrorCode.INVALID_RECORD, `Produce v${version} must carry exactly one record batch per partition`)
  }
  const config = core.topics.logConfig(topic)
  const now = core.now()
  for (const info of batches) {
    const err = checkBatch(info, version, config.maxMessageBytes, config.segmentBytes)
    if (err) return fail(res, err[0], err[1])
    if (config.messageTimestampType === 'CreateTime') {
      if (!batchTimestampsWithin(info, now, config.timestampBeforeMaxMs, config.timestampAfterMaxMs)) {
        return fail(res, ErrorCode.INVALID_TIMESTAMP, `Timestamp out of the range accepted by topic ${topic}`)
      }
    } else {
      setLogAppendTime(data, info, now)
      res.logAppendTimeMs = BigInt(now)
    }
  }
  if (config.cleanupPolicy.compact) {
    let keyless: number | undefined
    try {
      keyless = recordWithoutKey(data)
    } catch (err) {
      const e = asRecordsError(err)
      return fail(res, kafkaErrorCode(e), e.message)
    }
    if (keyless !== undefined) {
      const message = `Compacted topic cannot accept message without key in topic partition ${topic}-${p.index}.`
      if (version < 8) return fail(res, ErrorCode.CORRUPT_MESSAGE, message)
      res.recordErrors = [{ batchIndex: keyless, batchIndexErrorMessage: message }]
      return fail(res, ErrorCode.INVALID_RECORD, message)
    }
  }
  const first = batches[0] as BatchInfo
  if (batches.length === 1 && first.producerId >= 0) {
    if (first.isTransactional && req.transactionalId === null) {
      return fail(res, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactional records need a transactional id')
    }
    return core.producers.append(topic, p.index, data, first, acks === -1).then(
      (r) => {
        if (r.errorCode !== ErrorCode.NONE) {
          fail(res, r.errorCode, 'message' in r ? r.message : null)
          return
        }
        if ('baseOffset' in r) {
          res.baseOffset = BigInt(r.baseOffset)
          res.logStartOffset = BigInt(r.logStartOffset)
        }
      },
      (err) => {
        core.log.error({ err, topic, partition: p.index }, 'append failed')
        fail(res, kafkaErrorCodeOf(err), null)
      },
    )
  }
  return core.storage.append(topic, p.index, { data, batches }, { durable: acks === -1 }).then(
    (result) => {
      res.baseOffset = BigInt(result.baseOffset)
      res.logStartOffset = BigInt(result.logStartOffset)
    },
    (err) => {
      core.log.error({ err, topic, partition: p.index }, 'append failed')
      fail(res, kafkaErrorCodeOf(err), null)
    },
  )
}

/**
 * The index of the first record without a key, or undefined. Compacted topics need a key on every
 * record; this is the one produce check that decodes records, and only compacted topics pay it.
 */
function recordWithoutKey(data: Buffer): number | undefined {
  let index = 0
  for (const batch of decodeBatchesSync(data)) {
    for (const record of batch.records) {
      if (record.key === null) return index
      index++
    }
  }
  return undefined
}

function checkBatch(
  info: BatchInfo,
  version: number,
  maxMessageBytes: number,
  segmentBytes: number,
): [number, string] | undefined {
  if (info.compression === Compression.ZSTD && version < 7) {
    return [ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd compression needs Produce v7 or later']
  }
  if (info.size > segmentBytes) {
    return [ErrorCode.RECORD_LIST_TOO_LARGE, `Batch of ${info.size} bytes is larger than segment.bytes ${segmentBytes}`]
  }
  if (info.size > maxMessageBytes) {
    return [
      ErrorCode.MESSAGE_TOO_LARGE,
      `Batch of ${info.size} bytes is larger than max.message.bytes ${maxMessageBytes}`,
    ]
  }
  return undefined
}

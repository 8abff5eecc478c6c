// Produce: v0-13
// Validates each partition's batches from their headers alone (length, magic, CRC32C, counts,
// timestamps, size), walks the records (protocol/records/record-check.ts: a few varints each, no
// decoding; compressed batches are decompressed, as Kafka does) for Kafka's per-record rules and
// the batch's true max timestamp, stamps LogAppendTime where the topic asks for it, and appends
// the bytes as they came. Every refused record is reported (KIP-467). Appends are issued
// synchronously, in request order, so pipelined requests on one connection land in the order
// they were sent.
// acks=0 gets no response; acks=-1 waits for the data to be durable (fsync, group commit).
// Version notes: v0-2 carry legacy message sets, up-converted to one v2 batch; v3+ must carry
// exactly one v2 batch per partition; zstd needs v7+; v8+ report record errors and a message;
// v12+ is transaction version 2 (KIP-890 part 2): a transactional batch adds its partition to
// the producer's transaction at the coordinator before it is written (txn-verification.ts), where
// older versions are verified to be in it; v13 names topics by id (KIP-516).
// Idempotent and transactional batches (producer id ≥ 0) go through the producer state
// (coordinator/producer), which checks epoch and sequence and appends in the same ordered step:
// a retried batch among the producer's last 5 gets its original offset; a transactional batch
// needs its partition in the producer's open transaction (KIP-890 verification, INVALID_TXN_STATE).
// Partitions led by another node of a multi-broker view answer NOT_LEADER_OR_FOLLOWER with the
// current leader and its address (v10+, KIP-951), so the client need not refresh its metadata.
// Deliberate gaps: batches whose offset deltas do not count 0, 1, 2... are refused (Kafka rewrites them).
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
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '../../protocol/records/batch.ts'
import type { BatchInfo } from '../../protocol/records/batch-header.ts'
import { TimestampType } from '../../protocol/records/batch-layout.ts'
import { setLogAppendTime, setMaxTimestamp } from '../../protocol/records/batch-patch.ts'
import { validateProducedRecords } from '../../protocol/records/batch-validate.ts'
import { Compression } from '../../protocol/records/compression.ts'
import { messageSetToBatchSync } from '../../protocol/records/convert.ts'
import { asRecordsError, kafkaErrorCode, RecordsError } from '../../protocol/records/index.ts'
import {
  checkBatchRecords,
  type RecordProblem,
  type RecordRules,
  type RecordsCheck,
} from '../../protocol/records/record-check.ts'
import { kafkaErrorCodeOf } from '../../storage/storage-error.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized, txnAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { currentLeader, nodeEndpoints, partitionError } from '../routing.ts'
import type { Verdict } from '../txn-verification.ts'

const VALID_ACKS = new Set([0, 1, -1])

export default defineHandler<ProduceRequest, ProduceResponse>({
  api,
  minVersion: 0,
  maxVersion: 13,
  async handle(ctx, req) {
    const core = ctx.broker
    if (req.transactionalId !== null && !txnAuthorized(ctx, AclOperation.WRITE, req.transactionalId))
      return req.acks === 0 ? null : everyPartition(req, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    const pending: Promise<void>[] = []
    const running: RunningAppends = { count: 0 }
    const byId = ctx.apiVersion >= 13
    const responses = req.topicData.map((topic) => {
      // v13+ names topics by id only: an id no topic has is UNKNOWN_TOPIC_ID.
      const name = byId ? (core.topics.getById(topic.topicId)?.name ?? '') : topic.name
      return {
        name: topic.name,
        topicId: topic.topicId,
        partitionResponses: topic.partitionData.map((p) => {
          const res = createPartitionProduceResponse({ index: p.index, baseOffset: -1n, logAppendTimeMs: -1n })
          if (!VALID_ACKS.has(req.acks)) res.errorCode = ErrorCode.INVALID_REQUIRED_ACKS
          else if (byId && name === '') res.errorCode = ErrorCode.UNKNOWN_TOPIC_ID
          else if (!topicAuthorized(ctx, AclOperation.WRITE, name)) res.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
          else {
            const appended = produceToPartition(ctx, running, name, p, req, res)
            if (appended) pending.push(appended)
          }
          return res
        }),
      }
    })
    if (req.acks === 0) {
      // No response is owed, but a failed append must still be seen by someone.
      Promise.all(pending).catch((err) => ctx.log.error({ err }, 'acks=0 append failed'))
      return null
    }
    await Promise.all(pending)
    // The request's bytes are free once storage is done with them; an answer given early (leadership
    // lost meanwhile) leaves them to an append still running, and to the garbage collector after it.
    if (running.count === 0 && !core.storage.capabilities.keepsAppendedBytes) ctx.recycleFrame?.()
    const leaders = responses.flatMap((t) =>
      t.partitionResponses.filter((p) => p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER).map((p) => p.currentLeader),
    )
    return createProduceResponse({ responses, nodeEndpoints: nodeEndpoints(core, leaders, ctx.listener) })
  },
  errorResponse(_ctx, req, errorCode) {
    return everyPartition(req, errorCode)
  },
})

/** A response with every partition answered `errorCode`. */
function everyPartition(req: ProduceRequest, errorCode: number): ProduceResponse {
  return createProduceResponse({
    responses: req.topicData.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      partitionResponses: t.partitionData.map((p) => createPartitionProduceResponse({ index: p.index, errorCode })),
    })),
  })
}

/**
 * An append storage refused or failed. A stale leader epoch means another broker leads the
 * partition now: the client hears NOT_LEADER_OR_FOLLOWER and looks the leader up again.
 */
function appendFailed(
  ctx: RequestContext,
  topic: string,
  partition: number,
  res: PartitionProduceResponse,
  err: unknown,
): void {
  const errorCode = kafkaErrorCodeOf(err)
  if (errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
    ctx.broker.log.debug({ topic, partition, err }, 'append fenced: another broker leads the partition')
    ctx.broker.leadership.fenced(topic, partition)
    res.currentLeader = currentLeader(ctx.broker, topic, partition)
    fail(res, ErrorCode.NOT_LEADER_OR_FOLLOWER, (err as Error).message)
    return
  }
  ctx.broker.log.error({ err, topic, partition }, 'append failed')
  fail(res, errorCode, null)
}

/**
 * The producer state refused a batch (out-of-order sequence, fenced producer epoch...). That
 * state is this broker's as leader, so the refusal stands only if the broker still leads: where
 * another broker claimed the partition meanwhile, its state is the one that counts, and the client
 * is sent there instead.
 */
async function refusedByProducerState(
  ctx: RequestContext,
  topic: string,
  partition: number,
  res: PartitionProduceResponse,
  refusal: { errorCode: number; message?: string },
): Promise<void> {
  const core = ctx.broker
  const message = refusal.message ?? null
  const leads = await core.leadership.confirm(topic, partition).catch(() => false)
  core.log.debug({ topic, partition, errorCode: refusal.errorCode, message, leads }, 'produce refused')
  if (leads) {
    // As Kafka, a refusal by the partition's producer state still tells its log start offset.
    res.logStartOffset = BigInt((await core.storage.offsets(topic, partition)).logStartOffset)
    fail(res, refusal.errorCode, message)
    return
  }
  res.currentLeader = currentLeader(core, topic, partition)
  fail(res, ErrorCode.NOT_LEADER_OR_FOLLOWER, `${topic}-${partition} is led by another broker now`)
}

function fail(res: PartitionProduceResponse, errorCode: number, message: string | null): undefined {
  res.errorCode = errorCode
  res.errorMessage = message
  return undefined
}

/** How many of a request's appends storage has not finished (their bytes may still be read). */
interface RunningAppends {
  count: number
}

function track<T>(running: RunningAppends, append: Promise<T>): Promise<T> {
  running.count++
  const done = (): void => {
    running.count--
  }
  append.then(done, done)
  return append
}

/** Validates and starts the append of one partition's data; returns the append in flight, if any. */
function produceToPartition(
  ctx: RequestContext,
  running: RunningAppends,
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
  const createTime = config.messageTimestampType === 'CreateTime'
  const rules: RecordRules = {
    requireKey: config.cleanupPolicy.compact,
    checkTimestamps: createTime,
    minTimestamp: now - config.timestampBeforeMaxMs,
    maxTimestamp: now + config.timestampAfterMaxMs,
    maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
  }
  for (const info of batches) {
    const err = checkBatch(info, version, config.maxMessageBytes, config.segmentBytes)
    if (err) return fail(res, err[0], err[1])
    const refused = checkRecordsOf(data, info, rules, createTime)
    if (refused !== undefined) return refuse(res, refused, version, `${topic}-${p.index}`)
    if (!createTime) {
      setLogAppendTime(data, info, now)
      res.logAppendTimeMs = BigInt(now)
    }
  }
  const first = batches[0] as BatchInfo
  if (batches.length === 1 && first.producerId >= 0) {
    if (first.isTransactional && req.transactionalId === null) {
      return fail(res, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactional records need a transactional id')
    }
    const appendStateful = (): Promise<void> => {
      const append = track(running, core.producers.append(topic, p.index, data, first, acks === -1))
      return core.leadership.whileLeading(topic, p.index, append).then(
        (r) => {
          if (r.errorCode !== ErrorCode.NONE) return refusedByProducerState(ctx, topic, p.index, res, r)
          if ('baseOffset' in r) {
            res.baseOffset = BigInt(r.baseOffset)
            res.logStartOffset = BigInt(r.logStartOffset)
          }
        },
        (err) => {
          appendFailed(ctx, topic, p.index, res, err)
        },
      )
    }
    const txnId = req.transactionalId
    const { txnVerification } = core
    let asked: Promise<Verdict> | undefined
    const { producerId, producerEpoch } = first
    if (
      first.isTransactional &&
      version >= 12 &&
      txnVerification.addNeeded(txnId, topic, p.index, producerId, producerEpoch)
    ) {
      asked = txnVerification.add(txnId as string, producerId, producerEpoch, topic, p.index)
    } else if (first.isTransactional && txnVerification.needed(txnId, topic, p.index, producerId)) {
      asked = txnVerification.verify(txnId as string, producerId, producerEpoch, topic, p.index)
    }
    if (asked === undefined) return appendStateful()
    return asked.then((v) =>
      v.errorCode === ErrorCode.NONE ? appendStateful() : fail(res, v.errorCode, v.message ?? null),
    )
  }
  const leaderEpoch = core.leadership.appendEpoch(topic, p.index)
  const append = track(
    running,
    core.storage.append(topic, p.index, { data, batches }, { durable: acks === -1, leaderEpoch }),
  )
  return core.leadership.whileLeading(topic, p.index, append).then(
    (result) => {
      res.baseOffset = BigInt(result.baseOffset)
      res.logStartOffset = BigInt(result.logStartOffset)
    },
    (err) => {
      appendFailed(ctx, topic, p.index, res, err)
    },
  )
}

/**
 * Kafka's per-record rules (key on compacted topics, timestamps, offset deltas) on one batch, and
 * its max timestamp made the largest record timestamp: older clients send -1 there, and the time
 * index, ListOffsets and retention go by it. The walk is skipped only where nothing depends on it
 * (LogAppendTime topics that do not compact). Returns the refusal, if any.
 */
function checkRecordsOf(
  data: Buffer,
  info: BatchInfo,
  rules: RecordRules,
  createTime: boolean,
): RecordProblem[] | RecordsError | undefined {
  if (!createTime && !rules.requireKey && info.timestampType !== TimestampType.LOG_APPEND_TIME) return undefined
  let check: RecordsCheck
  try {
    check = checkBatchRecords(data, info, rules)
  } catch (err) {
    return asRecordsError(err)
  }
  if (check.problems.length > 0) return check.problems
  if (createTime && (info.maxTimestamp !== check.maxTimestamp || info.timestampType !== TimestampType.CREATE_TIME)) {
    setMaxTimestamp(data, info.position, TimestampType.CREATE_TIME, check.maxTimestamp)
    info.maxTimestamp = check.maxTimestamp
    info.timestampType = TimestampType.CREATE_TIME
  }
  return undefined
}

/**
 * Fails the partition for refused records. Every refused record is listed (KIP-467, v8+), so a
 * client fails exactly those and the rest of the batch with INVALID_DIFFERENT_RECORD; one bad
 * timestamp makes the partition's error INVALID_TIMESTAMP, as in Kafka.
 */
function refuse(
  res: PartitionProduceResponse,
  refused: RecordProblem[] | RecordsError,
  version: number,
  partition: string,
): undefined {
  if (refused instanceof RecordsError) return fail(res, kafkaErrorCode(refused), refused.message)
  const timestamp = refused.some((r) => r.kind === 'timestamp')
  const shown = refused
    .slice(0, 3)
    .map((r) => r.message)
    .join('; ')
  const message = `${refused.length} of the records sent to ${partition} were refused: ${shown}${refused.length > 3 ? '; ...' : ''}`
  res.recordErrors = refused.map((r) => ({ batchIndex: r.batchIndex, batchIndexErrorMessage: r.message }))
  // INVALID_RECORD came with v8; older clients know a bad record as CORRUPT_MESSAGE.
  if (timestamp) return fail(res, ErrorCode.INVALID_TIMESTAMP, message)
  return fail(res, version < 8 ? ErrorCode.CORRUPT_MESSAGE : ErrorCode.INVALID_RECORD, message)
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

// Fetch: v0-18
// Returns stored batches as they are (never split, never decoded, except down-conversion for
// v0-3 clients), at least one batch for the first partition with data even when it exceeds the
// byte limits (KIP-74), and long-polls until min_bytes arrive or max_wait_ms passes, woken by
// appends. Incremental fetch sessions (KIP-227, v7+) are kept in memory.
// Version notes: v0-3 get legacy message sets (magic 0 for v0-1, magic 1 for v2-3); v4+ add
// isolation level and the last stable offset; v5+ the log start offset; v13+ name topics by id;
// v18 adds the follower's high watermark (KIP-1166), which consumers leave unset.
// read_committed (v4+) reads only below the last stable offset and lists the aborted
// transactions overlapping the returned batches, so clients drop their records: the producer
// state reads the partition at the request's isolation level (coordinator/producer/isolated-read.ts).
// Partitions led by another node of a multi-broker view answer NOT_LEADER_OR_FOLLOWER with the
// current leader (v12+) and its address (v16+, KIP-951); leadership is checked on every round of
// a long poll, as it may move meanwhile.
// A connection's fetches are answered one at a time (server/large-responses.ts), so a client
// that pipelines fetches and does not read holds a bounded amount of memory.
// A consumer with a consumer_byte_rate gets at most one window of its quota per response, and a
// throttled one gets no records (quotas/throttle.ts), as in Kafka.
// Deliberate gaps: no preferred read replica (one copy per partition).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createFetchableTopicResponse,
  createFetchResponse,
  createPartitionData,
  type FetchRequest,
  type FetchResponse,
  type PartitionData,
} from '../../protocol/generated/fetch.ts'
import { batchesToMessageSet } from '../../protocol/records/convert.ts'
import { EMPTY_BYTES } from '../../protocol/wire/codec-helpers.ts'
import { takeLargeResponseTurn } from '../../server/large-responses.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import type { RequestContext } from '../context.ts'
import { FetchSession, type SessionPartition } from '../fetch-sessions.ts'
import { defineHandler } from '../handler.ts'
import { userOf } from '../quotas/throttle.ts'
import { currentLeader, nodeEndpoints, preferredReadReplica, readError } from '../routing.ts'

const READ_COMMITTED = 1

export default defineHandler<FetchRequest, FetchResponse>({
  api,
  minVersion: 0,
  maxVersion: 18,
  async handle(ctx, req) {
    const release = await takeLargeResponseTurn(ctx.connection)
    try {
      return await answerFetch(ctx, req)
    } finally {
      release()
    }
  },
  errorResponse(_ctx, _req, errorCode) {
    return createFetchResponse({ errorCode })
  },
})

async function answerFetch(ctx: RequestContext, req: FetchRequest): Promise<FetchResponse> {
  const core = ctx.broker
  const v = ctx.apiVersion
  const lookup = v >= 7 ? core.fetchSessions.lookup(req.sessionId, req.sessionEpoch, core.now()) : undefined
  if (lookup?.kind === 'error') return createFetchResponse({ errorCode: lookup.errorCode })
  const session = lookup?.kind === 'full' || lookup?.kind === 'incremental' ? lookup.session : undefined
  const readable = (topic: string): boolean => topicAuthorized(ctx, AclOperation.READ, topic)
  const wanted = collectPartitions(core, req, v, session, lookup?.kind === 'incremental', readable)
  // A consumer with a byte-rate quota gets no more than one window of it (as Kafka caps it).
  const maxBytes = Math.min(v >= 3 ? req.maxBytes : 0x7fffffff, core.quotas.fetchLimit(userOf(ctx), ctx.clientId ?? ''))
  const minBytes = Math.min(req.minBytes, maxBytes)
  const deadline = core.now() + req.maxWaitMs
  for (;;) {
    const round = await readPartitions(ctx, wanted, maxBytes, req.isolationLevel, v >= 11 ? req.rackId : '')
    const remaining = deadline - core.now()
    const closing = core.closing.signal
    if (round.bytes >= minBytes || round.errors > 0 || remaining <= 0 || closing.aborted) {
      const response = buildResponse(wanted, round.results, v, session, lookup?.kind === 'incremental')
      const leaders = round.results.filter((r) => r.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER)
      response.nodeEndpoints = nodeEndpoints(
        core,
        leaders.map((r) => r.currentLeader),
        ctx.listener,
      )
      return response
    }
    await core.waiters.wait(wanted, remaining, closing)
  }
}

interface Wanted extends SessionPartition {
  /** Error found while resolving the topic (unknown name or id), or NONE. */
  errorCode: number
}

/** The partitions this request fetches: the request's own, or the whole session's. */
function collectPartitions(
  core: BrokerCore,
  req: FetchRequest,
  v: number,
  session: FetchSession | undefined,
  incremental: boolean,
  readable: (topic: string) => boolean,
): Wanted[] {
  const byId = v >= 13
  const requested: Wanted[] = []
  for (const t of req.topics) {
    const meta = byId ? core.topics.getById(t.topicId) : core.topics.get(t.topic)
    const name = byId ? (meta?.name ?? '') : t.topic
    for (const p of t.partitions) {
      let errorCode: number = ErrorCode.NONE
      if (meta === undefined && byId) errorCode = ErrorCode.UNKNOWN_TOPIC_ID
      else if (!readable(name)) errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
      else if (meta === undefined) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      else if (p.partition < 0 || p.partition >= meta.partitionCount) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      requested.push({
        topic: name,
        topicId: byId ? t.topicId : (meta?.topicId ?? ''),
        partition: p.partition,
        fetchOffset: Number(p.fetchOffset),
        maxBytes: p.partitionMaxBytes,
        sentHighWatermark: -1,
        sentLastStableOffset: -1,
        sentLogStartOffset: -1,
        errorCode,
      })
    }
  }
  if (session === undefined) return requested
  const parts = session.partitions as Map<string, Wanted>
  if (!incremental) parts.clear()
  for (const f of req.forgottenTopicsData) {
    const name = byId ? core.topics.getById(f.topicId)?.name : f.topic
    if (name !== undefined) for (const p of f.partitions) parts.delete(FetchSession.key(name, p))
  }
  for (const w of requested) {
    const key = FetchSession.key(w.topic || w.topicId, w.partition)
    const known = parts.get(key)
    if (known) {
      known.fetchOffset = w.fetchOffset
      known.maxBytes = w.maxBytes
      known.errorCode = w.errorCode
    } else parts.set(key, w)
  }
  return [...parts.values()]
}

interface Round {
  results: PartitionData[]
  bytes: number
  errors: number
}

/**
 * A partition's error at this fetch: its topic's resolution, READ on the topic (checked at every
 * fetch, also for a session's partitions the request does not name, since ACLs change), then
 * whether this broker may serve it.
 */
function partitionError(ctx: RequestContext, w: Wanted, readCommitted: boolean): number {
  if (w.errorCode !== ErrorCode.NONE && w.errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED) return w.errorCode
  if (!topicAuthorized(ctx, AclOperation.READ, w.topic)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED
  return readError(ctx, w.topic, w.partition, readCommitted)
}

async function readPartitions(
  ctx: RequestContext,
  wanted: Wanted[],
  maxBytes: number,
  isolation: number,
  clientRack: string,
): Promise<Round> {
  const core = ctx.broker
  const v = ctx.apiVersion
  const results: PartitionData[] = []
  let budget = maxBytes
  let bytes = 0
  let errors = 0
  for (const w of wanted) {
    // Never null records: librdkafka refuses a whole flexible response holding one (Kafka always
    // sends an empty set for a partition without data, errors included).
    const res = createPartitionData({
      partitionIndex: w.partition,
      records: EMPTY_BYTES,
      abortedTransactions: v >= 4 && isolation === READ_COMMITTED ? [] : null,
    })
    results.push(res)
    const readCommitted = v >= 4 && isolation === READ_COMMITTED
    const errorCode = partitionError(ctx, w, readCommitted)
    if (errorCode !== ErrorCode.NONE) {
      // As Kafka: a partition refused before any read has no offsets to tell (-1) and an empty
      // aborted-transactions list.
      res.errorCode = errorCode
      res.highWatermark = -1n
      if (v >= 4) res.abortedTransactions = []
      if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) res.currentLeader = currentLeader(core, w.topic, w.partition)
      errors++
      continue
    }
    // The leader sends a read_uncommitted consumer of another rack to a replica in its own
    // (KIP-392), with the partition's offsets and no records: nothing is read for it.
    const preferred = readCommitted ? -1 : preferredReadReplica(ctx, w.topic, w.partition, clientRack)
    if (preferred >= 0) {
      const offsets = await core.storage.offsets(w.topic, w.partition)
      res.preferredReadReplica = preferred
      res.highWatermark = BigInt(offsets.highWatermark)
      res.lastStableOffset = BigInt(core.producers.lastStableOffset(w.topic, w.partition, offsets.highWatermark))
      res.logStartOffset = BigInt(offsets.logStartOffset)
      continue
    }
    const limit = Math.min(w.maxBytes, budget)
    const read = await core.producers.read(w.topic, w.partition, w.fetchOffset, limit, {
      minOneBatch: bytes === 0,
      readCommitted,
    })
    res.errorCode = read.errorCode
    if (read.errorCode !== ErrorCode.NONE) {
      // As Kafka: a failed read (an offset out of range) tells no offsets; clients ask ListOffsets.
      res.highWatermark = -1n
      errors++
      continue
    }
    res.highWatermark = BigInt(read.offsets.highWatermark)
    res.lastStableOffset = BigInt(read.lastStableOffset)
    res.logStartOffset = BigInt(read.offsets.logStartOffset)
    if (read.abortedTransactions !== null) {
      res.abortedTransactions = read.abortedTransactions.map((a) => ({
        producerId: BigInt(a.producerId),
        firstOffset: BigInt(a.firstOffset),
      }))
    }
    let records = read.records
    if (v <= 3 && records.length > 0) {
      records = await batchesToMessageSet(records, 0, records.length, {
        magic: v <= 1 ? 0 : 1,
        firstOffset: w.fetchOffset,
      })
    }
    res.records = records
    bytes += records.length
    budget = Math.max(0, budget - records.length)
  }
  return { results, bytes, errors }
}

function buildResponse(
  wanted: Wanted[],
  results: PartitionData[],
  v: number,
  session: FetchSession | undefined,
  incremental: boolean,
): FetchResponse {
  const topics = new Map<string, ReturnType<typeof createFetchableTopicResponse>>()
  for (const [i, w] of wanted.entries()) {
    const res = results[i] as PartitionData
    if (session) {
      const changed =
        !incremental ||
        res.errorCode !== ErrorCode.NONE ||
        (res.records?.length ?? 0) > 0 ||
        Number(res.highWatermark) !== w.sentHighWatermark ||
        Number(res.lastStableOffset) !== w.sentLastStableOffset ||
        Number(res.logStartOffset) !== w.sentLogStartOffset
      w.sentHighWatermark = Number(res.highWatermark)
      w.sentLastStableOffset = Number(res.lastStableOffset)
      w.sentLogStartOffset = Number(res.logStartOffset)
      if (!changed) continue
    }
    const key = v >= 13 ? w.topicId : w.topic
    let topic = topics.get(key)
    if (topic === undefined) {
      topic = createFetchableTopicResponse(v >= 13 ? { topicId: w.topicId } : { topic: w.topic })
      topics.set(key, topic)
    }
    topic.partitions.push(res)
  }
  return createFetchResponse({ sessionId: session?.id ?? 0, responses: [...topics.values()] })
}

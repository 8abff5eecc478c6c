// ShareFetch: v1-2
// Reads a share group's partitions for one member (KIP-932): applies the acknowledgements it
// carries first (ACCEPT, RELEASE, REJECT, and RENEW in v2), then acquires available and new
// records for the member under the group's record lock (share.record.lock.duration.ms) and returns
// the whole stored batches holding them with the acquired offset ranges and delivery counts;
// clients skip the records of a batch that were not acquired. Long-polls up to max_wait_ms when
// nothing could be acquired, woken by appends and by records becoming available again. A
// read_committed group (share.isolation.level) is handed committed records only: nothing past
// the last stable offset, no record of an aborted transaction (share-partitions.ts).
// Share sessions: epoch 0 opens one (acknowledgements then are INVALID_REQUEST), later epochs
// add and forget partitions incrementally, -1 acknowledges and closes it, releasing what the
// member still holds; SHARE_SESSION_NOT_FOUND and INVALID_SHARE_SESSION_EPOCH as in Kafka.
// Version notes: v1 max_records and batch_size; v2 share_acquire_mode (1: record_limit, never
// more than max_records, KIP-1206) and is_renew_ack (a request that renews locks fetches
// nothing, KIP-1222). batch_size is a hint samsa does not need: acquisition follows the stored
// batches. v0 (early access, Kafka 4.0) is not served.
import type { AcquiredRange } from '../../coordinator/share/share-partition.ts'
import { FINAL_SHARE_EPOCH, INITIAL_SHARE_EPOCH, ShareSession } from '../../coordinator/share/share-sessions.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createPartitionData,
  createShareFetchResponse,
  type PartitionData,
  type ShareFetchRequest,
  type ShareFetchResponse,
} from '../../protocol/generated/share-fetch.ts'
import { takeLargeResponseTurn } from '../../server/large-responses.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { currentLeader, nodeEndpoints } from '../routing.ts'
import {
  ackBatches,
  acknowledgePartition,
  endShareSession,
  type ResolvedPartition,
  resolveSharePartition,
  watchShareConnection,
} from '../share-requests.ts'

/** Kafka's max.poll.records default, for a request that sets no record limit. */
const DEFAULT_MAX_RECORDS = 500
const RECORD_LIMIT_MODE = 1

interface Served {
  p: ResolvedPartition
  /** Included in the response even without records (it was named, acknowledged or failed). */
  listed: boolean
  acknowledgeErrorCode: number
  records: Buffer[]
  ranges: AcquiredRange[]
}

export default defineHandler<ShareFetchRequest, ShareFetchResponse>({
  api,
  minVersion: 1,
  maxVersion: 2,
  refuse: (ctx, req) =>
    groupAuthorized(ctx, AclOperation.READ, req.groupId ?? '') ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED,
  async handle(ctx, req) {
    const release = await takeLargeResponseTurn(ctx.connection)
    try {
      return await answer(ctx, req)
    } finally {
      release()
    }
  },
  errorResponse(_ctx, _req, errorCode) {
    return createShareFetchResponse({ errorCode })
  },
})

async function answer(ctx: RequestContext, req: ShareFetchRequest): Promise<ShareFetchResponse> {
  const core = ctx.broker
  const fail = (errorCode: number, errorMessage: string | null = null): ShareFetchResponse =>
    createShareFetchResponse({ errorCode, errorMessage })
  if (req.groupId === null || req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID)
  if (req.memberId === null || req.memberId === '') return fail(ErrorCode.INVALID_REQUEST, 'Member id is empty.')
  const groupId = req.groupId
  const memberId = req.memberId
  const hasAcks = req.topics.some((t) => t.partitions.some((p) => p.acknowledgementBatches.length > 0))
  let session: ShareSession | number
  if (req.shareSessionEpoch === INITIAL_SHARE_EPOCH) {
    if (hasAcks)
      return fail(ErrorCode.INVALID_REQUEST, 'Acknowledgements are not allowed when opening a share session.')
    session = core.shareSessions.open(ctx.nodeId, groupId, memberId, ctx.connection)
  } else {
    session = core.shareSessions.use(ctx.nodeId, groupId, memberId, req.shareSessionEpoch, ctx.connection)
  }
  if (typeof session === 'number') return fail(session)
  watchShareConnection(core, ctx.connection)
  const served = new Map<string, Served>()
  const entry = (p: ResolvedPartition, listed: boolean): Served => {
    const k = ShareSession.partitionKey(p.topicId, p.partition)
    let s = served.get(k)
    if (s === undefined) {
      s = { p, listed, acknowledgeErrorCode: ErrorCode.NONE, records: [], ranges: [] }
      served.set(k, s)
    }
    return s
  }
  // Acknowledgements first, each partition's answered once durable.
  const renew = ctx.apiVersion >= 2 && req.isRenewAck
  await Promise.all(
    req.topics.flatMap((t) =>
      t.partitions.map(async (rp) => {
        const p = resolveSharePartition(ctx, groupId, t.topicId, rp.partitionIndex)
        const s = entry(p, true)
        if (rp.acknowledgementBatches.length === 0) return
        s.acknowledgeErrorCode = await acknowledgePartition(
          core,
          p,
          memberId,
          ackBatches(rp.acknowledgementBatches),
          renew,
        )
      }),
    ),
  )
  if (req.shareSessionEpoch === FINAL_SHARE_EPOCH) {
    await endShareSession(core, session)
    return respond(ctx, req, [...served.values()])
  }
  for (const f of req.forgottenTopicsData)
    for (const p of f.partitions) session.partitions.delete(ShareSession.partitionKey(f.topicId, p))
  for (const s of served.values())
    if (s.p.key) session.partitions.set(ShareSession.partitionKey(s.p.topicId, s.p.partition), s.p.key)
  if (!renew) await acquire(ctx, req, session, served, entry)
  return respond(ctx, req, [...served.values()])
}

/** Acquires records of the session's partitions, long-polling while there are none. */
async function acquire(
  ctx: RequestContext,
  req: ShareFetchRequest,
  session: ShareSession,
  served: Map<string, Served>,
  entry: (p: ResolvedPartition, listed: boolean) => Served,
): Promise<void> {
  const core = ctx.broker
  const strict = ctx.apiVersion >= 2 && req.shareAcquireMode === RECORD_LIMIT_MODE
  const deadline = core.now() + req.maxWaitMs
  for (;;) {
    let records = req.maxRecords > 0 ? req.maxRecords : DEFAULT_MAX_RECORDS
    let bytes = 0
    for (const key of session.partitions.values()) {
      if (records <= 0 || (bytes > 0 && bytes >= req.maxBytes)) break
      const p = resolveSharePartition(ctx, key.groupId, key.topicId, key.partition)
      const s = entry(p, false)
      if (p.key === undefined) {
        s.listed = true
        continue
      }
      const got = await core.shares.acquire(p.key, session.memberId, {
        maxBytes: Math.max(1, req.maxBytes - bytes),
        maxRecords: records,
        strict,
      })
      if (got.errorCode !== ErrorCode.NONE) {
        s.p = { ...p, errorCode: got.errorCode }
        s.listed = true
        continue
      }
      if (got.ranges.length === 0) continue
      s.records.push(got.records)
      s.ranges.push(...got.ranges)
      bytes += got.records.length
      for (const r of got.ranges) records -= r.lastOffset - r.firstOffset + 1
    }
    const remaining = deadline - core.now()
    const failed = [...served.values()].some((s) => s.p.errorCode !== ErrorCode.NONE)
    if (bytes > 0 || failed || remaining <= 0 || core.closing.signal.aborted || session.partitions.size === 0) return
    await core.waiters.wait(
      [...session.partitions.values()].map((k) => ({ topic: k.topic, partition: k.partition })),
      remaining,
      core.closing.signal,
    )
  }
}

function respond(ctx: RequestContext, req: ShareFetchRequest, served: Served[]): ShareFetchResponse {
  const core = ctx.broker
  const byTopic = new Map<string, PartitionData[]>()
  const leaders = []
  for (const s of served) {
    if (!s.listed && s.ranges.length === 0 && req.shareSessionEpoch !== INITIAL_SHARE_EPOCH) continue
    const { p } = s
    const notLeader = p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER
    const leader = notLeader ? leaderOf(ctx, p) : { leaderId: -1, leaderEpoch: -1 }
    if (notLeader) leaders.push(leader)
    const data = createPartitionData({
      partitionIndex: p.partition,
      errorCode: p.errorCode,
      acknowledgeErrorCode: s.acknowledgeErrorCode,
      currentLeader: leader,
      records: Buffer.concat(s.records),
      acquiredRecords: s.ranges.map((r) => ({
        firstOffset: BigInt(r.firstOffset),
        lastOffset: BigInt(r.lastOffset),
        deliveryCount: r.deliveryCount,
      })),
    })
    const list = byTopic.get(p.topicId)
    if (list) list.push(data)
    else byTopic.set(p.topicId, [data])
  }
  const groupId = req.groupId ?? ''
  return createShareFetchResponse({
    acquisitionLockTimeoutMs: core.shareSettings(groupId).recordLockDurationMs,
    responses: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
    nodeEndpoints: nodeEndpoints(core, leaders, ctx.listener),
  })
}

function leaderOf(ctx: RequestContext, p: ResolvedPartition): { leaderId: number; leaderEpoch: number } {
  const name = ctx.broker.topics.getById(p.topicId)?.name
  return name === undefined ? { leaderId: -1, leaderEpoch: -1 } : currentLeader(ctx.broker, name, p.partition)
}

// OffsetFetch: v0-9
// Committed offsets of a group: the requested partitions (offset -1 and empty metadata where
// nothing is committed), or every committed partition when topics is null (v2+).
// require_stable (v7+): a partition with a transactional offset pending (TxnOffsetCommit of an
// open transaction) answers UNSTABLE_OFFSET_COMMIT and offset -1, as Kafka; the client retries.
// Version notes: v0-1 errors per partition only; v2+ a top-level error; v5+ leader epoch;
// v8+ several groups per request, each answered in groups[]; v9+ member id and epoch, checked
// against KIP-848 groups (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH). A group another node
// coordinates is NOT_COORDINATOR (per group in v8+).
import type { FetchedTopic } from '../../coordinator/group/group-coordinator.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createOffsetFetchResponse,
  createOffsetFetchResponseTopics,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type OffsetFetchResponseTopic,
} from '../../protocol/generated/offset-fetch.ts'
import type { BrokerCore } from '../broker-core.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  api,
  minVersion: 0,
  maxVersion: 9,
  coordinatorKey: (ctx, req) => (ctx.apiVersion < 8 ? req.groupId : undefined),
  handle(ctx, req) {
    const groups = ctx.broker.groups
    if (ctx.apiVersion >= 8) {
      return createOffsetFetchResponse({
        groups: req.groups.map((g) => {
          if (!isCoordinator(ctx, g.groupId))
            return { groupId: g.groupId, errorCode: ErrorCode.NOT_COORDINATOR, topics: [] }
          const r = g.groupId === '' ? invalid() : groups.fetchOffsets(g.groupId, g.topics, g)
          const topics = toResponse(r.topics, ErrorCode.NONE)
          if (req.requireStable) markUnstable(ctx.broker, g.groupId, topics)
          return { groupId: g.groupId, errorCode: r.errorCode, topics: topics.map(createOffsetFetchResponseTopics) }
        }),
      })
    }
    const topics = ctx.apiVersion < 2 && req.topics !== null && req.topics.length === 0 ? [] : req.topics
    const r = req.groupId === '' ? invalid() : groups.fetchOffsets(req.groupId, topics)
    const perPartition = ctx.apiVersion < 2 ? r.errorCode : ErrorCode.NONE
    const out = toResponse(r.topics, perPartition)
    if (ctx.apiVersion >= 7 && req.requireStable) markUnstable(ctx.broker, req.groupId, out)
    return createOffsetFetchResponse({ errorCode: r.errorCode, topics: out })
  },
  errorResponse(ctx, req, errorCode) {
    if (ctx.apiVersion >= 8) {
      return createOffsetFetchResponse({
        groups: req.groups.map((g) => ({ groupId: g.groupId, errorCode, topics: [] })),
      })
    }
    return createOffsetFetchResponse({ errorCode })
  },
})

function invalid(): { errorCode: number; topics: FetchedTopic[] } {
  return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] }
}

function markUnstable(core: BrokerCore, groupId: string, topics: OffsetFetchResponseTopic[]): void {
  for (const t of topics) {
    for (const p of t.partitions) {
      if (core.groups.hasPendingOffset(groupId, t.name, p.partitionIndex)) {
        p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT
        p.committedOffset = -1n
      }
    }
  }
}

function toResponse(topics: FetchedTopic[], errorCode: number): OffsetFetchResponseTopic[] {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map(({ partitionIndex, committed }) => ({
      partitionIndex,
      committedOffset: committed?.offset ?? -1n,
      committedLeaderEpoch: committed?.leaderEpoch ?? -1,
      metadata: committed?.metadata ?? '',
      errorCode,
    })),
  }))
}

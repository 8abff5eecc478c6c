// OffsetFetch: v0-10
// Committed offsets of a group: the requested partitions (offset -1 and empty metadata where
// nothing is committed), or every committed partition when topics is null (v2+).
// require_stable (v7+): a partition with a transactional offset pending (TxnOffsetCommit of an
// open transaction) answers UNSTABLE_OFFSET_COMMIT and offset -1, as Kafka; the client retries.
// Version notes: v0-1 errors per partition only; v2+ a top-level error; v5+ leader epoch;
// v8+ several groups per request, each answered in groups[]; v9+ member id and epoch, checked
// against KIP-848 groups (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH). A group another node
// coordinates is NOT_COORDINATOR (per group in v8+). v10+ names topics by id: an id no topic has
// answers UNKNOWN_TOPIC_ID, and committed offsets of a topic that is gone are left out of all.
// Authorization (Kafka's): DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) and on each topic
// (its partitions TOPIC_AUTHORIZATION_FAILED; left out when every topic is asked for).
import type { FetchedTopic } from '../../coordinator/group/group-coordinator.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createOffsetFetchResponse,
  createOffsetFetchResponseTopics,
  type OffsetFetchRequest,
  type OffsetFetchRequestTopics,
  type OffsetFetchResponse,
  type OffsetFetchResponseTopic,
  type OffsetFetchResponseTopics,
} from '../../protocol/generated/offset-fetch.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<OffsetFetchRequest, OffsetFetchResponse>({
  api,
  minVersion: 0,
  maxVersion: 10,
  coordinatorKey: (ctx, req) => (ctx.apiVersion < 8 ? req.groupId : undefined),
  handle(ctx, req) {
    const groups = ctx.broker.groups
    if (ctx.apiVersion >= 8) {
      return createOffsetFetchResponse({
        groups: req.groups.map((g) => {
          if (!groupAuthorized(ctx, AclOperation.DESCRIBE, g.groupId))
            return { groupId: g.groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] }
          if (!isCoordinator(ctx, g.groupId))
            return { groupId: g.groupId, errorCode: ErrorCode.NOT_COORDINATOR, topics: [] }
          const byId = ctx.apiVersion >= 10
          const asked = byId ? namedById(ctx.broker, g.topics) : { known: g.topics, unknown: [] }
          const r = g.groupId === '' ? invalid() : groups.fetchOffsets(g.groupId, asked.known, g)
          const topics = toResponse(ctx, r.topics, ErrorCode.NONE, g.topics === null)
          if (req.requireStable) markUnstable(ctx.broker, g.groupId, topics)
          return {
            groupId: g.groupId,
            errorCode: r.errorCode,
            topics: [
              ...topics
                .map((t) =>
                  createOffsetFetchResponseTopics({
                    ...t,
                    topicId: ctx.broker.topics.get(t.name)?.topicId ?? ZERO_UUID,
                  }),
                )
                .filter((t) => !byId || t.topicId !== ZERO_UUID),
              ...asked.unknown,
            ],
          }
        }),
      })
    }
    const topics = ctx.apiVersion < 2 && req.topics !== null && req.topics.length === 0 ? [] : req.topics
    const r = !groupAuthorized(ctx, AclOperation.DESCRIBE, req.groupId)
      ? denied(topics)
      : req.groupId === ''
        ? invalid()
        : groups.fetchOffsets(req.groupId, topics)
    const perPartition = ctx.apiVersion < 2 ? r.errorCode : ErrorCode.NONE
    const out = toResponse(ctx, r.topics, perPartition, topics === null)
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

/**
 * The asked topics of v10+ by name, where their ids name a topic (null: all), and the answer for
 * those whose ids do not: UNKNOWN_TOPIC_ID for each partition.
 */
function namedById(
  core: BrokerCore,
  topics: OffsetFetchRequestTopics[] | null,
): { known: { name: string; partitionIndexes: number[] }[] | null; unknown: OffsetFetchResponseTopics[] } {
  if (topics === null) return { known: null, unknown: [] }
  const known = []
  const unknown = []
  for (const t of topics) {
    const name = core.topics.getById(t.topicId)?.name
    if (name !== undefined) known.push({ name, partitionIndexes: t.partitionIndexes })
    else {
      unknown.push(
        createOffsetFetchResponseTopics({
          topicId: t.topicId,
          partitions: t.partitionIndexes.map((partitionIndex) => ({
            partitionIndex,
            committedOffset: -1n,
            committedLeaderEpoch: -1,
            metadata: '',
            errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
          })),
        }),
      )
    }
  }
  return { known, unknown }
}

function invalid(): { errorCode: number; topics: FetchedTopic[] } {
  return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] }
}

/** A group the principal may not describe: the asked partitions, none committed (v0-1 carry the error in each). */
function denied(topics: { name: string; partitionIndexes: number[] }[] | null): {
  errorCode: number
  topics: FetchedTopic[]
} {
  return {
    errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    topics: (topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committed: undefined })),
    })),
  }
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

/** The response topics; a topic the principal may not describe is left out of all topics, else refused. */
function toResponse(
  ctx: RequestContext,
  topics: FetchedTopic[],
  errorCode: number,
  all: boolean,
): OffsetFetchResponseTopic[] {
  const out: OffsetFetchResponseTopic[] = []
  for (const t of topics) {
    const allowed = topicAuthorized(ctx, AclOperation.DESCRIBE, t.name)
    if (!allowed && all) continue
    out.push({
      name: t.name,
      partitions: t.partitions.map(({ partitionIndex, committed }) => {
        const shown = allowed ? committed : undefined
        return {
          partitionIndex,
          committedOffset: shown?.offset ?? -1n,
          committedLeaderEpoch: shown?.leaderEpoch ?? -1,
          metadata: shown?.metadata ?? '',
          errorCode: allowed ? errorCode : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        }
      }),
    })
  }
  return out
}

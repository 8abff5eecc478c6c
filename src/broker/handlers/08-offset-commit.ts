// OffsetCommit: v0-10
// Commits offsets for a group; they are durable (storage key-value store) before the response.
// Group checks come first and apply to every partition: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS (classic), STALE/FENCED_MEMBER_EPOCH (KIP-848).
// A commit with generation -1 and an empty member id is accepted for a group without members
// (admin tools, consumers using assign()), creating the group if needed. Then per partition:
// UNKNOWN_TOPIC_OR_PARTITION, OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes).
// Version notes: v1 per-partition commit timestamp; v2-4 retention_time_ms (an explicit expiry);
// v6+ leader epoch; v7+ group.instance.id; v9+ GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION
// for a missing group, and the member epoch of KIP-848 groups; v10+ topics by id (UNKNOWN_TOPIC_ID).

import type { OffsetToCommit } from '../../coordinator/group/offset-store.ts'
import {
  api,
  createOffsetCommitResponse,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../../protocol/generated/offset-commit.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { checkCommitPartitions, commitResults } from '../offset-commit-items.ts'

export default defineHandler<OffsetCommitRequest, OffsetCommitResponse>({
  api,
  minVersion: 0,
  maxVersion: 10,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const core = ctx.broker
    const v = ctx.apiVersion
    const now = core.now()
    const retention = v >= 2 && v <= 4 && req.retentionTimeMs !== -1n ? Number(req.retentionTimeMs) : undefined
    const offsets: OffsetToCommit[] = []
    const errors = checkCommitPartitions(ctx, req.topics, v >= 10, (topic, p) => {
      const commitTimestamp = v === 1 && p.commitTimestamp !== -1n ? Number(p.commitTimestamp) : now
      offsets.push({
        topic,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
        metadata: p.committedMetadata ?? '',
        commitTimestamp,
        expireTimestamp: retention === undefined ? null : commitTimestamp + retention,
      })
    })
    const groupError = await core.groups.commitOffsets(
      req.groupId,
      {
        generationIdOrMemberEpoch: v >= 1 ? req.generationIdOrMemberEpoch : -1,
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        offsets,
      },
      v,
    )
    return createOffsetCommitResponse({ topics: commitResults(req.topics, groupError, errors) })
  },
  errorResponse(_ctx, req, errorCode) {
    return createOffsetCommitResponse({ topics: commitResults(req.topics, errorCode) })
  },
})

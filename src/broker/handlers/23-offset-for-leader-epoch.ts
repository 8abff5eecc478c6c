// OffsetForLeaderEpoch: v0-4
// Consumers (KIP-320) ask where a leader epoch ended to detect log truncation. A samsa log is
// never truncated: a new leader continues the one shared log, so every epoch up to the current
// one is answered as ending at the high watermark (the log end), and no consumer ever finds its
// position past it. A larger, unknown epoch gives epoch -1 and offset -1 (UNDEFINED); -1 gives
// the same; an epoch below -1 (older than any known) ends at the log start offset.
// current_leader_epoch (v2+, -1 when absent) older than the partition's epoch is
// FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH. Unknown partitions UNKNOWN_TOPIC_OR_PARTITION,
// partitions led by another node NOT_LEADER_OR_FOLLOWER.
// Version notes: v1 returns the leader epoch; v2 current_leader_epoch; v3 replica_id (ignored:
// followers do not exist); v4 flexible.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createOffsetForLeaderEpochResponse,
  type EpochEndOffset,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
  type OffsetForLeaderPartition,
} from '../../protocol/generated/offset-for-leader-epoch.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { partitionError } from '../routing.ts'

const NO_EPOCH = -1

export default defineHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>({
  api,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req) {
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        topic: t.topic,
        partitions: await Promise.all(t.partitions.map((p) => endOffset(ctx, t.topic, p))),
      })),
    )
    return createOffsetForLeaderEpochResponse({ topics })
  },
  errorResponse(_ctx, req, errorCode) {
    return createOffsetForLeaderEpochResponse({
      topics: req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => failed(p, errorCode)) })),
    })
  },
})

function failed(p: OffsetForLeaderPartition, errorCode: number): EpochEndOffset {
  return { errorCode, partition: p.partition, leaderEpoch: NO_EPOCH, endOffset: -1n }
}

async function endOffset(ctx: RequestContext, topic: string, p: OffsetForLeaderPartition): Promise<EpochEndOffset> {
  if (!topicAuthorized(ctx, AclOperation.DESCRIBE, topic)) return failed(p, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
  const notServed = partitionError(ctx, topic, p.partition)
  if (notServed !== ErrorCode.NONE) return failed(p, notServed)
  const current = ctx.broker.topics.knownLeaderEpoch(topic, p.partition)
  if (p.currentLeaderEpoch !== NO_EPOCH) {
    if (p.currentLeaderEpoch < current) return failed(p, ErrorCode.FENCED_LEADER_EPOCH)
    if (p.currentLeaderEpoch > current) return failed(p, ErrorCode.UNKNOWN_LEADER_EPOCH)
  }
  const answer = (leaderEpoch: number, offset: number): EpochEndOffset => ({
    errorCode: ErrorCode.NONE,
    partition: p.partition,
    leaderEpoch,
    endOffset: BigInt(offset),
  })
  if (p.leaderEpoch === NO_EPOCH || p.leaderEpoch > current) return answer(NO_EPOCH, -1)
  const offsets = await ctx.broker.storage.offsets(topic, p.partition)
  if (p.leaderEpoch >= 0) return answer(p.leaderEpoch, offsets.highWatermark)
  return answer(p.leaderEpoch, offsets.logStartOffset)
}

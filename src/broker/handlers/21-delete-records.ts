// DeleteRecords: v0-2
// Moves each partition's log start offset forward to the requested offset (-1 means the high
// watermark) and returns the new low watermark; a request below the current log start changes
// nothing and returns the current one. Errors per partition (low watermark -1): unknown topic or
// partition UNKNOWN_TOPIC_OR_PARTITION; led by another node NOT_LEADER_OR_FOLLOWER; an offset
// beyond the high watermark or otherwise negative OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy
// lacks "delete" POLICY_VIOLATION, as in Kafka.
// Version notes: v1 same as v0; v2 flexible.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDeleteRecordsResponse,
  type DeleteRecordsPartitionResult,
  type DeleteRecordsRequest,
  type DeleteRecordsResponse,
} from '../../protocol/generated/delete-records.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { partitionError } from '../routing.ts'

const HIGH_WATERMARK = -1n

export default defineHandler<DeleteRecordsRequest, DeleteRecordsResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(t.partitions.map((p) => deleteBefore(ctx, t.name, p.partitionIndex, p.offset))),
      })),
    )
    return createDeleteRecordsResponse({ topics })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDeleteRecordsResponse({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode })),
      })),
    })
  },
})

async function deleteBefore(
  ctx: RequestContext,
  topic: string,
  partitionIndex: number,
  requested: bigint,
): Promise<DeleteRecordsPartitionResult> {
  const failed = (errorCode: number): DeleteRecordsPartitionResult => ({ partitionIndex, lowWatermark: -1n, errorCode })
  const core = ctx.broker
  if (!topicAuthorized(ctx, AclOperation.DELETE, topic)) return failed(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
  const notServed = partitionError(ctx, topic, partitionIndex)
  if (notServed !== ErrorCode.NONE) return failed(notServed)
  if (!core.topics.logConfig(topic).cleanupPolicy.delete) return failed(ErrorCode.POLICY_VIOLATION)
  const { highWatermark } = await core.storage.offsets(topic, partitionIndex)
  const offset = requested === HIGH_WATERMARK ? highWatermark : Number(requested)
  if (offset < 0 || offset > highWatermark) return failed(ErrorCode.OFFSET_OUT_OF_RANGE)
  const lowWatermark = await core.storage.deleteRecordsBefore(topic, partitionIndex, offset)
  if (offset > 0) core.log.debug({ topic, partition: partitionIndex, offset, lowWatermark }, 'deleted records')
  return { partitionIndex, lowWatermark: BigInt(lowWatermark), errorCode: ErrorCode.NONE }
}

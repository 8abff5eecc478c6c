// OffsetDelete: v0
// Deletes committed offsets of a group. Offsets of a topic the group's members subscribe to
// stay (GROUP_SUBSCRIBED_TO_TOPIC per partition); a non-empty group whose subscriptions cannot be
// read (not the consumer protocol) is NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createOffsetDeleteResponse,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../../protocol/generated/offset-delete.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const topics = req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) }))
    const r = await ctx.broker.groups.deleteOffsets(req.groupId, topics)
    if (r.errorCode !== ErrorCode.NONE) return createOffsetDeleteResponse({ errorCode: r.errorCode })
    return createOffsetDeleteResponse({
      topics: topics.map((t, ti) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex, pi) => ({
          partitionIndex,
          errorCode: r.topics[ti]?.[pi] ?? ErrorCode.NONE,
        })),
      })),
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createOffsetDeleteResponse({ errorCode })
  },
})

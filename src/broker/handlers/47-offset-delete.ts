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
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, topicAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<OffsetDeleteRequest, OffsetDeleteResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: (ctx, req) =>
    groupAuthorized(ctx, AclOperation.DELETE, req.groupId) ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED,
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const topics = req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) }))
    // Offsets of topics the principal may not read are left as they are.
    const readable = topics.map((t) => topicAuthorized(ctx, AclOperation.READ, t.name))
    const r = await ctx.broker.groups.deleteOffsets(
      req.groupId,
      topics.map((t, ti) => (readable[ti] ? t : { name: t.name, partitions: [] })),
    )
    if (r.errorCode !== ErrorCode.NONE) return createOffsetDeleteResponse({ errorCode: r.errorCode })
    return createOffsetDeleteResponse({
      topics: topics.map((t, ti) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex, pi) => ({
          partitionIndex,
          errorCode: readable[ti] ? (r.topics[ti]?.[pi] ?? ErrorCode.NONE) : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        })),
      })),
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createOffsetDeleteResponse({ errorCode })
  },
})

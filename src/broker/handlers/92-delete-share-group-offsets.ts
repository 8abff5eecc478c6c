// DeleteShareGroupOffsets: v0
// Forgets a share group's state in whole topics (KIP-932, kafka-share-groups.sh --delete-offsets):
// the group reads them again from share.auto.offset.reset the next time. Only while the group is
// empty (NON_EMPTY_GROUP otherwise); an unknown group, or one of another type, is
// GROUP_ID_NOT_FOUND; an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDeleteShareGroupOffsetsResponse,
  type DeleteShareGroupOffsetsRequest,
  type DeleteShareGroupOffsetsResponse,
} from '../../protocol/generated/delete-share-group-offsets.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, topicAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { emptyShareGroupError } from '../share-requests.ts'

export default defineHandler<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: (ctx, req) =>
    groupAuthorized(ctx, AclOperation.DELETE, req.groupId) ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED,
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const core = ctx.broker
    const [errorCode, errorMessage] = emptyShareGroupError(core, req.groupId)
    if (errorCode !== ErrorCode.NONE) return createDeleteShareGroupOffsetsResponse({ errorCode, errorMessage })
    const responses = []
    for (const t of req.topics) {
      const meta = core.topics.get(t.topicName)
      const result = (code: number) => ({
        topicName: t.topicName,
        topicId: meta?.topicId ?? ZERO_UUID,
        errorCode: code,
        errorMessage: null,
      })
      if (!topicAuthorized(ctx, AclOperation.READ, t.topicName))
        responses.push(result(ErrorCode.TOPIC_AUTHORIZATION_FAILED))
      else if (meta === undefined) responses.push(result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
      else {
        await core.shares.deleteGroupState(req.groupId, new Set([meta.topicId]))
        responses.push(result(ErrorCode.NONE))
      }
    }
    return createDeleteShareGroupOffsetsResponse({ responses })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDeleteShareGroupOffsetsResponse({ errorCode })
  },
})

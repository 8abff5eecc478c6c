// AlterShareGroupOffsets: v0
// Sets a share group's start offset in partitions (KIP-932, kafka-share-groups.sh
// --reset-offsets): the partition's in-flight records are forgotten and its state epoch goes up.
// Only while the group is empty (NON_EMPTY_GROUP otherwise); an unknown group, or one of another
// type, is GROUP_ID_NOT_FOUND; unknown partitions UNKNOWN_TOPIC_OR_PARTITION, a negative offset
// INVALID_REQUEST.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AlterShareGroupOffsetsRequest,
  type AlterShareGroupOffsetsResponse,
  api,
  createAlterShareGroupOffsetsResponse,
} from '../../protocol/generated/alter-share-group-offsets.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { refuseWithoutGroup, topicAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { emptyShareGroupError } from '../share-requests.ts'

export default defineHandler<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: refuseWithoutGroup(AclOperation.READ),
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const core = ctx.broker
    const [errorCode, errorMessage] = emptyShareGroupError(core, req.groupId)
    if (errorCode !== ErrorCode.NONE) return createAlterShareGroupOffsetsResponse({ errorCode, errorMessage })
    const responses = await Promise.all(
      req.topics.map(async (t) => {
        const meta = core.topics.get(t.topicName)
        const allowed = topicAuthorized(ctx, AclOperation.READ, t.topicName)
        const partitions = await Promise.all(
          t.partitions.map(async (p) => {
            const result = (code: number) => ({ partitionIndex: p.partitionIndex, errorCode: code, errorMessage: null })
            if (!allowed) return result(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
            if (meta === undefined || !core.topics.hasPartition(t.topicName, p.partitionIndex)) {
              return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            }
            if (p.startOffset < 0n) return result(ErrorCode.INVALID_REQUEST)
            const key = { groupId: req.groupId, topicId: meta.topicId, topic: meta.name, partition: p.partitionIndex }
            const written = await core.shares.reset(key, Number(p.startOffset))
            return result(written ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR)
          }),
        )
        return { topicName: t.topicName, topicId: meta?.topicId ?? ZERO_UUID, partitions }
      }),
    )
    return createAlterShareGroupOffsetsResponse({ responses })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createAlterShareGroupOffsetsResponse({ errorCode })
  },
})

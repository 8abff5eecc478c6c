// DescribeShareGroupOffsets: v0-1
// Where share groups stand (KIP-932): per partition the share-partition start offset and the
// partition's leader epoch; v1 adds the lag (records from the start offset to the high watermark
// not yet acknowledged or archived). Null topics: every partition the group has read. A
// partition the group never read has start offset and lag -1. An unknown group, or one of
// another type, is GROUP_ID_NOT_FOUND; a group another node coordinates NOT_COORDINATOR.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeShareGroupOffsetsResponse,
  createDescribeShareGroupOffsetsResponseGroup,
  type DescribeShareGroupOffsetsRequest,
  type DescribeShareGroupOffsetsRequestGroup,
  type DescribeShareGroupOffsetsResponse,
  type DescribeShareGroupOffsetsResponseGroup,
  type DescribeShareGroupOffsetsResponsePartition,
} from '../../protocol/generated/describe-share-group-offsets.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, topicAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req) {
    return createDescribeShareGroupOffsetsResponse({
      groups: await Promise.all(req.groups.map((g) => describe(ctx, g))),
    })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDescribeShareGroupOffsetsResponse({
      groups: req.groups.map((g) => createDescribeShareGroupOffsetsResponseGroup({ groupId: g.groupId, errorCode })),
    })
  },
})

async function describe(
  ctx: RequestContext,
  req: DescribeShareGroupOffsetsRequestGroup,
): Promise<DescribeShareGroupOffsetsResponseGroup> {
  const core = ctx.broker
  const { groupId } = req
  const fail = (errorCode: number, errorMessage: string | null = null) =>
    createDescribeShareGroupOffsetsResponseGroup({ groupId, errorCode, errorMessage })
  if (!groupAuthorized(ctx, AclOperation.DESCRIBE, groupId)) return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED)
  if (!isCoordinator(ctx, groupId)) return fail(ErrorCode.NOT_COORDINATOR)
  const group = core.groups.group(groupId)
  if (group?.type !== 'share') {
    return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group or does not exist.`)
  }
  let wanted = req.topics
  if (wanted === null) {
    const byTopic = new Map<string, number[]>()
    for (const { topicId, partition } of await core.shares.groupPartitions(groupId)) {
      const name = core.topics.getById(topicId)?.name
      if (name !== undefined)
        byTopic.set(
          name,
          [...(byTopic.get(name) ?? []), partition].sort((a, b) => a - b),
        )
    }
    wanted = [...byTopic].map(([topicName, partitions]) => ({ topicName, partitions }))
  }
  const topics = await Promise.all(
    wanted.map(async (t) => {
      const meta = core.topics.get(t.topicName)
      const allowed = topicAuthorized(ctx, AclOperation.DESCRIBE, t.topicName)
      const partitions = await Promise.all(
        t.partitions.map(async (partitionIndex): Promise<DescribeShareGroupOffsetsResponsePartition> => {
          const none = { partitionIndex, startOffset: -1n, leaderEpoch: -1, lag: -1n, errorMessage: null }
          if (!allowed) return { ...none, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
          if (meta === undefined || !core.topics.hasPartition(t.topicName, partitionIndex)) {
            return { ...none, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
          }
          const leaderEpoch = core.topics.knownLeaderEpoch(t.topicName, partitionIndex)
          const at = await core.shares.summary({ groupId, topicId: meta.topicId, partition: partitionIndex })
          if (at === undefined) return { ...none, leaderEpoch, errorCode: ErrorCode.NONE }
          const { highWatermark } = await core.storage.offsets(t.topicName, partitionIndex)
          const lag = Math.max(0, highWatermark - at.startOffset - at.done)
          return {
            ...none,
            startOffset: BigInt(at.startOffset),
            leaderEpoch,
            lag: BigInt(lag),
            errorCode: ErrorCode.NONE,
          }
        }),
      )
      return { topicName: t.topicName, topicId: meta?.topicId ?? ZERO_UUID, partitions }
    }),
  )
  return createDescribeShareGroupOffsetsResponseGroup({ groupId, topics })
}

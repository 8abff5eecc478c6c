import { ErrorCode } from '../protocol/error-codes.ts'
import { AclOperation } from './acls/acl-model.ts'
import { topicAuthorized } from './authorize.ts'
import type { RequestContext } from './context.ts'

/** A partition of an OffsetCommit or TxnOffsetCommit request, in the fields both share. */
interface CommitPartition {
  partitionIndex: number
  committedMetadata: string | null
}

interface CommitTopic<P extends CommitPartition> {
  name: string
  topicId: string
  partitions: P[]
}

/**
 * Checks each partition of a commit (READ on its topic, known partition, metadata within
 * offset.metadata.max.bytes) and hands the accepted ones to `accept`; returns the error code of
 * every partition, by topic. With `byId` (OffsetCommit v10+, TxnOffsetCommit v6+) topics are
 * named by id, and an id no topic has is UNKNOWN_TOPIC_ID.
 */
export function checkCommitPartitions<P extends CommitPartition>(
  ctx: RequestContext,
  topics: CommitTopic<P>[],
  byId: boolean,
  accept: (topic: string, partition: P) => void,
): number[][] {
  const core = ctx.broker
  const maxMetadata = core.numberProp('offset.metadata.max.bytes')
  return topics.map((t) => {
    const name = byId ? core.topics.getById(t.topicId)?.name : t.name
    return t.partitions.map((p): number => {
      if (name === undefined) return ErrorCode.UNKNOWN_TOPIC_ID
      if (!topicAuthorized(ctx, AclOperation.READ, name)) return ErrorCode.TOPIC_AUTHORIZATION_FAILED
      if (!core.topics.hasPartition(name, p.partitionIndex)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      if (Buffer.byteLength(p.committedMetadata ?? '') > maxMetadata) return ErrorCode.OFFSET_METADATA_TOO_LARGE
      accept(name, p)
      return ErrorCode.NONE
    })
  })
}

/** The response topics of a commit: the group-level error when there is one, else each partition's. */
export function commitResults(
  topics: CommitTopic<CommitPartition>[],
  groupError: number,
  errors: number[][] = [],
): { name: string; topicId: string; partitions: { partitionIndex: number; errorCode: number }[] }[] {
  return topics.map((t, ti) => ({
    name: t.name,
    topicId: t.topicId,
    partitions: t.partitions.map((p, pi) => ({
      partitionIndex: p.partitionIndex,
      errorCode: groupError !== ErrorCode.NONE ? groupError : (errors[ti]?.[pi] ?? ErrorCode.NONE),
    })),
  }))
}

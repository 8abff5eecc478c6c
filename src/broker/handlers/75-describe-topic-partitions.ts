// DescribeTopicPartitions: v0 (KIP-966)
// Topics with their partitions, paginated as Kafka does: topics sorted by name; at most
// response_partition_limit partitions (capped by max.request.partition.size.limit, 2000, and at
// least 1) per response; next_cursor names the first topic and partition left out. A topic whose
// partitions all fit is followed by the next one; when the limit falls inside a topic, the
// cursor points into it; when the limit is reached exactly, the cursor points at partition 0 of
// the next topic. An empty topic list means every topic (unknown names are then impossible);
// requested unknown topics get UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for bad names)
// and use none of the limit. A cursor topic missing from a non-empty topic list, or a negative
// cursor partition, fails every requested topic with INVALID_REQUEST.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeTopicPartitionsResponse,
  createDescribeTopicPartitionsResponseTopic,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
  type DescribeTopicPartitionsResponsePartition,
} from '../../protocol/generated/describe-topic-partitions.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import { authorizedOperations } from '../acl-operations.ts'
import { AclOperation, ResourceType } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import { describePartition } from '../cluster.ts'
import { defineHandler } from '../handler.ts'
import { invalidTopicName } from '../topics.ts'

/** Kafka's max.request.partition.size.limit default. */
const MAX_REQUEST_PARTITION_SIZE_LIMIT = 2000
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state'])

export default defineHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req) {
    const core = ctx.broker
    const all = req.topics.length === 0
    const cursor = req.cursor
    const after = cursor?.topicName ?? ''
    // Topics the principal may not describe are left out of all topics, refused when asked for.
    const listed = all
      ? core.topics
          .list()
          .map((t) => t.name)
          .filter((n) => topicAuthorized(ctx, AclOperation.DESCRIBE, n))
      : req.topics.map((t) => t.name)
    const names = new Set(listed.filter((n) => n >= after))
    if (cursor && ((!all && !names.has(cursor.topicName)) || cursor.partitionIndex < 0)) {
      return invalidRequest(req)
    }
    const response = createDescribeTopicPartitionsResponse()
    let remaining = Math.max(Math.min(MAX_REQUEST_PARTITION_SIZE_LIMIT, req.responsePartitionLimit), 1)
    for (const name of [...names].sort()) {
      if (remaining === 0) {
        response.nextCursor = { topicName: name, partitionIndex: 0 }
        break
      }
      const t = core.topics.get(name)
      const topicAuthorizedOperations = authorizedOperations(ctx, true, ResourceType.TOPIC, name)
      const base = { name, isInternal: INTERNAL_TOPICS.has(name), topicAuthorizedOperations }
      if (!topicAuthorized(ctx, AclOperation.DESCRIBE, name)) {
        const errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        response.topics.push(createDescribeTopicPartitionsResponseTopic({ ...base, errorCode, topicId: ZERO_UUID }))
        continue
      }
      if (!t) {
        if (all) continue
        const errorCode = invalidTopicName(name)
          ? ErrorCode.INVALID_TOPIC_EXCEPTION
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        response.topics.push(createDescribeTopicPartitionsResponseTopic({ ...base, errorCode, topicId: ZERO_UUID }))
        continue
      }
      const start = name === cursor?.topicName ? cursor.partitionIndex : 0
      const end = Math.min(t.partitionCount, start + remaining)
      const partitions: DescribeTopicPartitionsResponsePartition[] = []
      for (let p = start; p < end; p++) {
        partitions.push({
          ...describePartition(core.cluster, name, p, core.topics.knownLeaderEpoch(name, p)),
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
        })
      }
      response.topics.push(createDescribeTopicPartitionsResponseTopic({ ...base, topicId: t.topicId, partitions }))
      if (end < t.partitionCount) {
        response.nextCursor = { topicName: name, partitionIndex: end }
        break
      }
      remaining -= partitions.length
    }
    return response
  },
  errorResponse(_ctx, req, errorCode) {
    return failAll(req, errorCode)
  },
})

function invalidRequest(req: DescribeTopicPartitionsRequest): DescribeTopicPartitionsResponse {
  return failAll(req, ErrorCode.INVALID_REQUEST)
}

function failAll(req: DescribeTopicPartitionsRequest, errorCode: number): DescribeTopicPartitionsResponse {
  return createDescribeTopicPartitionsResponse({
    topics: req.topics.map((t) => createDescribeTopicPartitionsResponseTopic({ name: t.name, errorCode })),
  })
}

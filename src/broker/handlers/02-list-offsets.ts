// ListOffsets: v0-11
// Offsets by timestamp: -2 earliest (log start), -1 latest (high watermark, or the last stable
// offset for read_committed), -3 the record with the largest timestamp (v7+), -4 earliest
// local (v8+, the log start offset: all data is local), -5 earliest tiered (v9+) and -6 earliest
// pending upload (v11+, KIP-1023): none without tiered storage, -1 as Kafka answers then;
// otherwise the first offset whose timestamp is at least the one asked.
// Partitions led by another node answer NOT_LEADER_OR_FOLLOWER.
// Version notes: v0 answers a list of offsets (old_style_offsets) bounded by max_num_offsets.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createListOffsetsPartitionResponse,
  createListOffsetsResponse,
  type ListOffsetsPartition,
  type ListOffsetsPartitionResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../protocol/generated/list-offsets.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { partitionError } from '../routing.ts'

const LATEST = -1n
const EARLIEST = -2n
const MAX_TIMESTAMP = -3n
const EARLIEST_LOCAL = -4n
const EARLIEST_TIERED = -5n
const EARLIEST_PENDING_UPLOAD = -6n
const READ_COMMITTED = 1

export default defineHandler<ListOffsetsRequest, ListOffsetsResponse>({
  api,
  minVersion: 0,
  maxVersion: 11,
  async handle(ctx, req) {
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(t.partitions.map((p) => listOffset(ctx, t.name, p, req.isolationLevel))),
      })),
    )
    return createListOffsetsResponse({ topics })
  },
  errorResponse(_ctx, req, errorCode) {
    return createListOffsetsResponse({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) =>
          createListOffsetsPartitionResponse({ partitionIndex: p.partitionIndex, errorCode }),
        ),
      })),
    })
  },
})

async function listOffset(
  ctx: RequestContext,
  topic: string,
  p: ListOffsetsPartition,
  isolation: number,
): Promise<ListOffsetsPartitionResponse> {
  const res = createListOffsetsPartitionResponse({
    partitionIndex: p.partitionIndex,
    timestamp: -1n,
    offset: -1n,
    leaderEpoch: -1,
  })
  res.errorCode = topicAuthorized(ctx, AclOperation.DESCRIBE, topic)
    ? partitionError(ctx, topic, p.partitionIndex)
    : ErrorCode.TOPIC_AUTHORIZATION_FAILED
  if (res.errorCode !== ErrorCode.NONE) return res
  const found = await lookup(ctx.broker, topic, p.partitionIndex, p.timestamp, isolation)
  if (found !== null) {
    res.offset = BigInt(found.offset)
    res.timestamp = BigInt(found.timestamp)
    res.leaderEpoch = ctx.broker.topics.knownLeaderEpoch(topic, p.partitionIndex)
  }
  if (ctx.apiVersion === 0) {
    res.oldStyleOffsets = found !== null && p.maxNumOffsets > 0 ? [res.offset] : []
    res.offset = -1n
    res.timestamp = -1n
  }
  return res
}

async function lookup(
  core: BrokerCore,
  topic: string,
  partition: number,
  timestamp: bigint,
  isolation: number,
): Promise<{ offset: number; timestamp: number } | null> {
  const storage = core.storage
  switch (timestamp) {
    case LATEST: {
      const o = await storage.offsets(topic, partition)
      const lso = core.producers.lastStableOffset(topic, partition, o.highWatermark)
      return { offset: isolation === READ_COMMITTED ? lso : o.highWatermark, timestamp: -1 }
    }
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: (await storage.offsets(topic, partition)).logStartOffset, timestamp: -1 }
    case EARLIEST_TIERED:
    case EARLIEST_PENDING_UPLOAD:
      return null
    case MAX_TIMESTAMP:
      return storage.maxTimestamp(topic, partition)
    default:
      return storage.offsetForTimestamp(topic, partition, Number(timestamp))
  }
}

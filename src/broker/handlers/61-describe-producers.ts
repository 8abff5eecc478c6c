// DescribeProducers: v0
// The active producers of partitions, from the producer state: id, epoch, last sequence, last
// timestamp, coordinator epoch of the last marker, and the first offset of the open transaction
// (-1 when none). UNKNOWN_TOPIC_OR_PARTITION for partitions that do not exist,
// NOT_LEADER_OR_FOLLOWER for those another node leads (Kafka's admin asks each partition's leader).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeProducersResponse,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
  type PartitionResponse,
} from '../../protocol/generated/describe-producers.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { partitionError } from '../routing.ts'

function describe(ctx: RequestContext, topic: string, partitionIndex: number): PartitionResponse {
  const errorCode = topicAuthorized(ctx, AclOperation.READ, topic)
    ? partitionError(ctx, topic, partitionIndex)
    : ErrorCode.TOPIC_AUTHORIZATION_FAILED
  const res: PartitionResponse = { partitionIndex, errorCode, errorMessage: null, activeProducers: [] }
  if (errorCode !== ErrorCode.NONE) return res
  for (const e of ctx.broker.producers.peek(topic, partitionIndex)?.producers.values() ?? []) {
    res.activeProducers.push({
      producerId: BigInt(e.producerId),
      producerEpoch: e.epoch,
      lastSequence: e.batches.at(-1)?.lastSeq ?? -1,
      lastTimestamp: BigInt(e.lastTimestamp),
      coordinatorEpoch: e.coordinatorEpoch,
      currentTxnStartOffset: BigInt(e.txnFirstOffset),
    })
  }
  return res
}

export default defineHandler<DescribeProducersRequest, DescribeProducersResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req) {
    return createDescribeProducersResponse({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => describe(ctx, t.name, p)),
      })),
    })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDescribeProducersResponse({
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          errorCode,
          errorMessage: null,
          activeProducers: [],
        })),
      })),
    })
  },
})

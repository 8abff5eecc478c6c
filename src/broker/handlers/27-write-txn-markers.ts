// WriteTxnMarkers: v0-2
// Writes COMMIT or ABORT markers of producers' transactions into the partitions this broker
// leads, as a transaction coordinator (another broker's, or this one's) or kafka-transactions.sh
// abort asks; answered per partition once each marker is durable. The marker carries the given
// producer epoch and coordinator epoch, and ends the producer's open transaction there (its
// records become visible to read_committed consumers, or are listed as aborted; the last stable
// offset moves on). A marker for a partition of __consumer_offsets ends the producer's
// transaction in the groups of that partition this broker coordinates: their pending
// transactional offsets are committed or dropped (Kafka's coordinator does the same with the
// marker in its offsets partition).
// Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (another broker leads
// it), INVALID_PRODUCER_EPOCH (the partition saw a newer epoch of the producer),
// TRANSACTION_COORDINATOR_FENCED (a marker of a newer coordinator epoch came before); for
// __consumer_offsets, NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
// Version notes: v1 is v0 in the flexible encoding; v2 names each marker's transaction version
// (KIP-1228), which is not checked here: a transaction version 2 marker's bumped epoch is
// accepted as any newer epoch is.

import { OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS } from '../../coordinator/group/offsets-partition.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createWriteTxnMarkersResponse,
  type WritableTxnMarker,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersResponse,
} from '../../protocol/generated/write-txn-markers.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'
import { writeMarkerAsLeader } from '../txn-marker-write.ts'

export default defineHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: (ctx) =>
    clusterAuthorized(ctx, AclOperation.CLUSTER_ACTION) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  async handle(ctx, req) {
    const markers = await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => ({
                partitionIndex,
                errorCode: await writeOne(ctx, m, t.name, partitionIndex),
              })),
            ),
          })),
        ),
      })),
    )
    return createWriteTxnMarkersResponse({ markers })
  },
  errorResponse(_ctx, req, errorCode) {
    return createWriteTxnMarkersResponse({
      markers: req.markers.map((m) => ({
        producerId: m.producerId,
        topics: m.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode })),
        })),
      })),
    })
  },
})

function writeOne(ctx: RequestContext, m: WritableTxnMarker, topic: string, partition: number): Promise<number> {
  const producerId = Number(m.producerId)
  if (topic === OFFSETS_TOPIC) {
    if (partition < 0 || partition >= OFFSETS_TOPIC_PARTITIONS) {
      return Promise.resolve(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    }
    return ctx.broker.groups.endTransactionIn(partition, producerId, m.transactionResult)
  }
  return writeMarkerAsLeader(ctx.broker, ctx.nodeId, {
    topic,
    partition,
    producerId,
    producerEpoch: m.producerEpoch,
    commit: m.transactionResult,
    coordinatorEpoch: m.coordinatorEpoch,
  })
}

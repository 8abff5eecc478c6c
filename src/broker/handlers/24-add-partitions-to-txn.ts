// AddPartitionsToTxn: v0-5
// Adds partitions to a producer's transaction, which becomes Ongoing (its timeout starts with
// the first partition or group added). Per partition: UNKNOWN_TOPIC_OR_PARTITION for unknown
// ones and OPERATION_NOT_ATTEMPTED for the others of the request; otherwise one code for all:
// INVALID_PRODUCER_ID_MAPPING (unknown transactional id or producer id), PRODUCER_FENCED (epoch),
// CONCURRENT_TRANSACTIONS (a commit or abort is being completed).
// Version notes: v0-3 carry one transaction from a client; v4+ a batch of transactions (the
// broker-to-broker form of KIP-890, with verify_only asking whether partitions were added:
// INVALID_TXN_STATE when not; without it, a leader adding the partition a Produce v12+ batch
// writes to, and the transaction then runs at transaction version 2) and a top-level error; v2+ answer PRODUCER_FENCED where older
// versions get INVALID_PRODUCER_EPOCH (KIP-588). A v0-3 request for a transactional id another
// node coordinates is NOT_COORDINATOR; v4+ batches, sent by brokers, are not routed.
// Authorization (Kafka's): v4+ need CLUSTER_ACTION on the cluster; each transaction WRITE on its
// transactional id, then on every topic (TOPIC_AUTHORIZATION_FAILED, the others of the
// transaction OPERATION_NOT_ATTEMPTED, nothing added).

import { fencedError } from '../../coordinator/txn/fenced-error.ts'
import type { PartitionResult } from '../../coordinator/txn/txn-coordinator.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnTopicResult,
  api,
  createAddPartitionsToTxnResponse,
} from '../../protocol/generated/add-partitions-to-txn.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized, topicAuthorized, txnAuthorized } from '../authorize.ts'
import type { RequestContext } from '../context.ts'
import { defineHandler } from '../handler.ts'

type Topics = { name: string; partitions: number[] }[]

/**
 * Adds the partitions if the principal may write the transactional id and every topic; else
 * answers, as Kafka, the refused ones and OPERATION_NOT_ATTEMPTED for the rest.
 */
async function addAuthorized(
  ctx: RequestContext,
  transactionalId: string,
  partitions: { topic: string; partition: number }[],
  add: (partitions: { topic: string; partition: number }[]) => Promise<PartitionResult[]>,
): Promise<PartitionResult[]> {
  if (!txnAuthorized(ctx, AclOperation.WRITE, transactionalId)) {
    return partitions.map((p) => ({ ...p, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }))
  }
  const denied = new Set(
    partitions.filter((p) => !topicAuthorized(ctx, AclOperation.WRITE, p.topic)).map((p) => p.topic),
  )
  if (denied.size === 0) return add(partitions)
  return partitions.map((p) => ({
    ...p,
    errorCode: denied.has(p.topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED,
  }))
}

function flatten(topics: Topics): { topic: string; partition: number }[] {
  return topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))
}

function byTopic(results: PartitionResult[], version: number): AddPartitionsToTxnTopicResult[] {
  const out = new Map<string, AddPartitionsToTxnTopicResult>()
  for (const r of results) {
    let t = out.get(r.topic)
    if (t === undefined) {
      t = { name: r.topic, resultsByPartition: [] }
      out.set(r.topic, t)
    }
    t.resultsByPartition.push({ partitionIndex: r.partition, partitionErrorCode: fencedError(r.errorCode, version, 2) })
  }
  return [...out.values()]
}

export default defineHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  refuse: (ctx, req) => {
    if (ctx.apiVersion >= 4) {
      return clusterAuthorized(ctx, AclOperation.CLUSTER_ACTION) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    }
    const allowed = txnAuthorized(ctx, AclOperation.WRITE, req.v3AndBelowTransactionalId)
    return allowed ? undefined : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  },
  coordinatorKey: (ctx, req) => (ctx.apiVersion <= 3 ? req.v3AndBelowTransactionalId : undefined),
  async handle(ctx, req) {
    const txns = ctx.broker.txns
    const v = ctx.apiVersion
    if (v <= 3) {
      const partitions = flatten(req.v3AndBelowTopics)
      const results = await addAuthorized(ctx, req.v3AndBelowTransactionalId, partitions, () =>
        txns.addPartitions(
          req.v3AndBelowTransactionalId,
          Number(req.v3AndBelowProducerId),
          req.v3AndBelowProducerEpoch,
          partitions,
        ),
      )
      return createAddPartitionsToTxnResponse({ resultsByTopicV3AndBelow: byTopic(results, v) })
    }
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (t) => ({
        transactionalId: t.transactionalId,
        topicResults: byTopic(
          await addAuthorized(ctx, t.transactionalId, flatten(t.topics), (partitions) =>
            txns.addPartitions(t.transactionalId, Number(t.producerId), t.producerEpoch, partitions, {
              verifyOnly: t.verifyOnly,
              clientTxnVersion: 2,
            }),
          ),
          v,
        ),
      })),
    )
    return createAddPartitionsToTxnResponse({ resultsByTransaction })
  },
  errorResponse(ctx, req, errorCode) {
    if (ctx.apiVersion >= 4) return createAddPartitionsToTxnResponse({ errorCode })
    return createAddPartitionsToTxnResponse({
      resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorCode })),
      })),
    })
  },
})

// InitProducerId: v0-5
// Without a transactional id: a fresh producer id at epoch 0 (idempotent producers). With one:
// the id's producer, its epoch bumped (a new id at epoch 0 once the epoch is exhausted), any
// transaction the previous instance left open aborted first (zombie fencing).
// INVALID_TRANSACTION_TIMEOUT unless 0 < transaction.timeout.ms ≤ transaction.max.timeout.ms;
// CONCURRENT_TRANSACTIONS while a commit or abort is being completed.
// Version notes: v3+ carry the producer's current id and epoch (KIP-360): a matching pair or a
// retry of the last bump is accepted, anything else fenced; v4+ answer PRODUCER_FENCED where
// older versions get INVALID_PRODUCER_EPOCH (KIP-588).

import { fencedError } from '../../coordinator/txn/fenced-error.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../../protocol/generated/init-producer-id.ts'
import { AclOperation, ResourceType } from '../acls/acl-model.ts'
import { authorizedForAny, clusterAuthorized, txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<InitProducerIdRequest, InitProducerIdResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  // Transactional: WRITE on the transactional id. Idempotent: IDEMPOTENT_WRITE on the cluster or
  // WRITE on some topic (KIP-679).
  refuse: (ctx, req) => {
    if (req.transactionalId !== null) {
      const allowed = txnAuthorized(ctx, AclOperation.WRITE, req.transactionalId)
      return allowed ? undefined : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    }
    const allowed =
      clusterAuthorized(ctx, AclOperation.IDEMPOTENT_WRITE) ||
      authorizedForAny(ctx, AclOperation.WRITE, ResourceType.TOPIC)
    return allowed ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
  },
  coordinatorKey: (_ctx, req) => req.transactionalId ?? undefined,
  async handle(ctx, req) {
    const expected =
      ctx.apiVersion >= 3
        ? { producerId: Number(req.producerId), producerEpoch: req.producerEpoch }
        : { producerId: -1, producerEpoch: -1 }
    const r = await ctx.broker.txns.initProducerId(req.transactionalId, req.transactionTimeoutMs, expected)
    return createInitProducerIdResponse({
      errorCode: fencedError(r.errorCode, ctx.apiVersion, 4),
      producerId: BigInt(r.producerId),
      producerEpoch: r.producerEpoch,
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createInitProducerIdResponse({ errorCode, producerId: -1n, producerEpoch: -1 })
  },
})

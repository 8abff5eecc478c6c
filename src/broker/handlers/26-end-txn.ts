// EndTxn: v0-5
// Commits or aborts a producer's transaction: PrepareCommit/PrepareAbort is made durable, a
// COMMIT or ABORT marker is written to every partition of the transaction, a commit makes the
// transaction's offsets visible to their groups, then CompleteCommit/CompleteAbort. Answered once
// all of that is done, so the producer's next transaction starts after the markers.
// A retried end of a completed transaction answers NONE; the opposite outcome INVALID_TXN_STATE;
// an end while another is being completed CONCURRENT_TRANSACTIONS.
// Version notes: v2+ answer PRODUCER_FENCED where older versions get INVALID_PRODUCER_EPOCH;
// v5 is transaction version 2 (KIP-890 part 2): every end bumps the epoch, the markers carry the
// bumped one, and the response returns the producer id and epoch to continue with (a new producer
// id at epoch 0 once the epoch is exhausted); a retry with the epoch before the bump is answered
// with them again; an abort with nothing open is accepted (a bump alone); see txn-coordinator.ts.

import { fencedError } from '../../coordinator/txn/fenced-error.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import { api, createEndTxnResponse, type EndTxnRequest, type EndTxnResponse } from '../../protocol/generated/end-txn.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<EndTxnRequest, EndTxnResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  refuse: (ctx, req) =>
    txnAuthorized(ctx, AclOperation.WRITE, req.transactionalId)
      ? undefined
      : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  coordinatorKey: (_ctx, req) => req.transactionalId,
  async handle(ctx, req) {
    // Kafka's transactionVersionForEndTxn: the request's version says what the client speaks.
    const clientTxnVersion = ctx.apiVersion >= 5 ? 2 : 0
    const r = await ctx.broker.txns.endTxn(
      req.transactionalId,
      Number(req.producerId),
      req.producerEpoch,
      req.committed,
      clientTxnVersion,
    )
    return createEndTxnResponse({
      errorCode: fencedError(r.errorCode, ctx.apiVersion, 2),
      producerId: BigInt(r.producerId),
      producerEpoch: r.producerEpoch,
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createEndTxnResponse({ errorCode, producerId: -1n, producerEpoch: -1 })
  },
})

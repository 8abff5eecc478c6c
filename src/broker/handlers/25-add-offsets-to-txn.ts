// AddOffsetsToTxn: v0-4
// Adds a consumer group to a producer's transaction (Kafka adds the group's __consumer_offsets
// partition): offsets sent with TxnOffsetCommit then commit or abort with the transaction.
// Errors as AddPartitionsToTxn: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED,
// CONCURRENT_TRANSACTIONS.
// Version notes: v2+ answer PRODUCER_FENCED where older versions get INVALID_PRODUCER_EPOCH.

import { fencedError } from '../../coordinator/txn/fenced-error.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
  api,
  createAddOffsetsToTxnResponse,
} from '../../protocol/generated/add-offsets-to-txn.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  api,
  minVersion: 0,
  maxVersion: 4,
  refuse: (ctx, req) => {
    if (!txnAuthorized(ctx, AclOperation.WRITE, req.transactionalId))
      return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    return groupAuthorized(ctx, AclOperation.READ, req.groupId) ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED
  },
  coordinatorKey: (_ctx, req) => req.transactionalId,
  async handle(ctx, req) {
    if (req.groupId === '') return createAddOffsetsToTxnResponse({ errorCode: ErrorCode.INVALID_GROUP_ID })
    const code = await ctx.broker.txns.addOffsets(
      req.transactionalId,
      Number(req.producerId),
      req.producerEpoch,
      req.groupId,
    )
    return createAddOffsetsToTxnResponse({ errorCode: fencedError(code, ctx.apiVersion, 2) })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createAddOffsetsToTxnResponse({ errorCode })
  },
})

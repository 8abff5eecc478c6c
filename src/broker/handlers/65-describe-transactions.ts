// DescribeTransactions: v0
// The coordinator's state of transactional ids: state, timeout, start time, producer id and
// epoch, and the partitions of the open transaction. TRANSACTIONAL_ID_NOT_FOUND for unknown ids,
// NOT_COORDINATOR for ids another node coordinates.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeTransactionsResponse,
  createTransactionState,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from '../../protocol/generated/describe-transactions.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized, txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req) {
    return createDescribeTransactionsResponse({
      transactionStates: req.transactionalIds.map((transactionalId) => {
        if (!txnAuthorized(ctx, AclOperation.DESCRIBE, transactionalId)) {
          return createTransactionState({ transactionalId, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED })
        }
        if (!isCoordinator(ctx, transactionalId)) {
          return createTransactionState({ transactionalId, errorCode: ErrorCode.NOT_COORDINATOR })
        }
        const txn = ctx.broker.txns.get(transactionalId)
        if (txn === undefined) {
          return createTransactionState({ transactionalId, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND })
        }
        return createTransactionState({
          transactionalId,
          transactionState: txn.state,
          transactionTimeoutMs: txn.timeoutMs,
          transactionStartTimeMs: BigInt(txn.startTimeMs),
          producerId: BigInt(txn.producerId),
          producerEpoch: txn.producerEpoch,
          // Only the topics the principal may describe (Kafka).
          topics: [...txn.partitions]
            .filter(([topic]) => topicAuthorized(ctx, AclOperation.DESCRIBE, topic))
            .map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) })),
        })
      }),
    })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDescribeTransactionsResponse({
      transactionStates: req.transactionalIds.map((transactionalId) =>
        createTransactionState({ transactionalId, errorCode }),
      ),
    })
  },
})

// ListTransactions: v0-1
// Transactional ids this node coordinates (admin clients ask every broker and merge) with their
// producer id and state, filtered by state names (unknown names are echoed in
// unknown_state_filters), by producer ids, and (v1+, KIP-994) by duration: only transactions
// running at least duration_filter ms (as Kafka, a transaction with no start time counts as running
// since the epoch).
import { ALL_TXN_STATES } from '../../coordinator/txn/txn-metadata.ts'
import {
  api,
  createListTransactionsResponse,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/generated/list-transactions.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req) {
    const states = new Set(req.stateFilters)
    const pids = new Set(req.producerIdFilters.map(Number))
    const duration = ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1
    const now = ctx.broker.now()
    const transactionStates = []
    for (const txn of ctx.broker.txns.all()) {
      if (!isCoordinator(ctx, txn.transactionalId)) continue
      if (!txnAuthorized(ctx, AclOperation.DESCRIBE, txn.transactionalId)) continue
      if (states.size > 0 && !states.has(txn.state)) continue
      if (pids.size > 0 && !pids.has(txn.producerId)) continue
      if (duration >= 0 && now - txn.startTimeMs < duration) continue
      transactionStates.push({
        transactionalId: txn.transactionalId,
        producerId: BigInt(txn.producerId),
        transactionState: txn.state,
      })
    }
    return createListTransactionsResponse({
      unknownStateFilters: req.stateFilters.filter((s) => !ALL_TXN_STATES.includes(s)),
      transactionStates,
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createListTransactionsResponse({ errorCode })
  },
})

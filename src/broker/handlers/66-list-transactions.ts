// ListTransactions: v0-2
// Transactional ids this node coordinates (admin clients ask every broker and merge) with their
// producer id and state, filtered by state names (unknown names are echoed in
// unknown_state_filters), by producer ids, (v1+, KIP-994) by duration: only transactions
// running at least duration_filter ms (as Kafka, a transaction with no start time counts as running
// since the epoch), and (v2+, KIP-1152) by a regular expression the whole transactional id must
// match (INVALID_REGULAR_EXPRESSION when it does not compile).
import { ALL_TXN_STATES } from '../../coordinator/txn/txn-metadata.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createListTransactionsResponse,
  type ListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/generated/list-transactions.ts'
import { wholeMatchRegex } from '../../util/whole-match-regex.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<ListTransactionsRequest, ListTransactionsResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req) {
    const states = new Set(req.stateFilters)
    const pids = new Set(req.producerIdFilters.map(Number))
    const duration = ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1
    const pattern = req.transactionalIdPattern ? wholeMatchRegex(req.transactionalIdPattern) : undefined
    if (req.transactionalIdPattern && pattern === undefined) {
      return createListTransactionsResponse({ errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION })
    }
    const now = ctx.broker.now()
    const transactionStates = []
    for (const txn of ctx.broker.txns.all()) {
      if (!isCoordinator(ctx, txn.transactionalId)) continue
      if (!txnAuthorized(ctx, AclOperation.DESCRIBE, txn.transactionalId)) continue
      if (states.size > 0 && !states.has(txn.state)) continue
      if (pids.size > 0 && !pids.has(txn.producerId)) continue
      if (duration >= 0 && now - txn.startTimeMs < duration) continue
      if (pattern && !pattern.test(txn.transactionalId)) continue
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

// TxnOffsetCommit: v0-6
// Offsets a transactional producer commits for a group (sendOffsetsToTransaction), sent to the
// group's coordinator: kept pending there (durably, in the group's offsets record) until the
// transaction coordinator says the transaction ended: a commit makes them the group's committed
// offsets, an abort drops them. Meanwhile OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT for them. The transaction is checked with its coordinator's state.
// Errors for every partition: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (older epoch),
// INVALID_TXN_STATE (no open transaction, or, before v5, the group was not added with AddOffsetsToTxn);
// per partition UNKNOWN_TOPIC_OR_PARTITION and OFFSET_METADATA_TOO_LARGE.
// Version notes: v2+ leader epoch; v3+ the member's generation, id and instance id (KIP-447),
// checked against a live classic group (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION) and PRODUCER_FENCED
// where v0-2 get INVALID_PRODUCER_EPOCH; v5+ is transaction version 2 (KIP-890 part 2): the group
// joins the producer's transaction at its coordinator first, instead of AddOffsetsToTxn
// (txn-verification.ts; COORDINATOR_NOT_AVAILABLE when that coordinator cannot be asked);
// v6+ topics by id (KIP-1319, UNKNOWN_TOPIC_ID).

import type { OffsetToCommit } from '../../coordinator/group/offset-store.ts'
import { fencedError } from '../../coordinator/txn/fenced-error.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createTxnOffsetCommitResponse,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from '../../protocol/generated/txn-offset-commit.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized, txnAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { checkCommitPartitions, commitResults } from '../offset-commit-items.ts'

export default defineHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  api,
  minVersion: 0,
  maxVersion: 6,
  refuse: (ctx, req) => {
    if (!txnAuthorized(ctx, AclOperation.WRITE, req.transactionalId))
      return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    return groupAuthorized(ctx, AclOperation.READ, req.groupId) ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED
  },
  coordinatorKey: (_ctx, req) => req.groupId,
  async handle(ctx, req) {
    const core = ctx.broker
    const v = ctx.apiVersion
    const now = core.now()
    const offsets: Omit<OffsetToCommit, 'expireTimestamp'>[] = []
    const errors = checkCommitPartitions(ctx, req.topics, v >= 6, (topic, p) => {
      offsets.push({
        topic,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: v >= 2 ? p.committedLeaderEpoch : -1,
        metadata: p.committedMetadata ?? '',
        commitTimestamp: now,
      })
    })
    let code: number = req.groupId === '' ? ErrorCode.INVALID_GROUP_ID : ErrorCode.NONE
    if (code === ErrorCode.NONE && v >= 3)
      code = core.groups.checkTxnMember(req.groupId, req.memberId, req.generationIdOrMemberEpoch)
    const producerId = Number(req.producerId)
    if (code === ErrorCode.NONE && v >= 5) {
      code = await core.txnVerification.addGroup(req.transactionalId, producerId, req.producerEpoch, req.groupId)
    }
    if (code === ErrorCode.NONE) {
      code = await core.txns.checkOffsetCommit(req.transactionalId, req.groupId, producerId, req.producerEpoch)
    }
    if (code === ErrorCode.NONE)
      code = await core.groups.txnOffsetCommit(req.groupId, producerId, req.producerEpoch, offsets)
    code = fencedError(code, v, 3)
    return createTxnOffsetCommitResponse({ topics: commitResults(req.topics, code, errors) })
  },
  errorResponse(_ctx, req, errorCode) {
    return createTxnOffsetCommitResponse({ topics: commitResults(req.topics, errorCode) })
  },
})

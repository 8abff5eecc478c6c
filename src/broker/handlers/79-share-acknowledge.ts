// ShareAcknowledge: v1-2
// Acknowledges records a share group member acquired through ShareFetch (KIP-932): ACCEPT,
// RELEASE (available again, archived at share.delivery.count.limit), REJECT (archived), GAP (not
// a record), and in v2 requests marked is_renew_ack, RENEW (the lock starts again, KIP-1222).
// Each partition is answered once its new state is durable; INVALID_RECORD_STATE when a record
// is not acquired by this member (its lock expired, or another member holds it), INVALID_REQUEST
// for malformed batches. Runs in the member's share session: epoch 0 is
// INVALID_SHARE_SESSION_EPOCH (a session is opened by ShareFetch), -1 acknowledges and closes it.
// Version notes: v2 adds is_renew_ack and acquisition_lock_timeout_ms. v0 (early access) is not served.
import { FINAL_SHARE_EPOCH, INITIAL_SHARE_EPOCH } from '../../coordinator/share/share-sessions.ts'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createShareAcknowledgeResponse,
  type PartitionData,
  type ShareAcknowledgeRequest,
  type ShareAcknowledgeResponse,
} from '../../protocol/generated/share-acknowledge.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { currentLeader, nodeEndpoints } from '../routing.ts'
import {
  ackBatches,
  acknowledgePartition,
  endShareSession,
  resolveSharePartition,
  watchShareConnection,
} from '../share-requests.ts'

export default defineHandler<ShareAcknowledgeRequest, ShareAcknowledgeResponse>({
  api,
  minVersion: 1,
  maxVersion: 2,
  refuse: (ctx, req) =>
    groupAuthorized(ctx, AclOperation.READ, req.groupId ?? '') ? undefined : ErrorCode.GROUP_AUTHORIZATION_FAILED,
  async handle(ctx, req) {
    const core = ctx.broker
    const fail = (errorCode: number, errorMessage: string | null = null): ShareAcknowledgeResponse =>
      createShareAcknowledgeResponse({ errorCode, errorMessage })
    if (req.groupId === null || req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID)
    const memberId = req.memberId
    if (memberId === null || memberId === '') return fail(ErrorCode.INVALID_REQUEST, 'Member id is empty.')
    if (req.shareSessionEpoch === INITIAL_SHARE_EPOCH) return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    const session = core.shareSessions.use(ctx.nodeId, req.groupId, memberId, req.shareSessionEpoch, ctx.connection)
    if (typeof session === 'number') return fail(session)
    watchShareConnection(core, ctx.connection)
    const groupId = req.groupId
    const renew = ctx.apiVersion >= 2 && req.isRenewAck
    const leaders: { leaderId: number; leaderEpoch: number }[] = []
    const responses = await Promise.all(
      req.topics.map(async (t) => ({
        topicId: t.topicId,
        partitions: await Promise.all(
          t.partitions.map(async (rp): Promise<PartitionData> => {
            const p = resolveSharePartition(ctx, groupId, t.topicId, rp.partitionIndex)
            const batches = ackBatches(rp.acknowledgementBatches)
            const errorCode = await acknowledgePartition(core, p, memberId, batches, renew)
            const name = core.topics.getById(t.topicId)?.name
            const leader =
              errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER && name !== undefined
                ? currentLeader(core, name, rp.partitionIndex)
                : { leaderId: -1, leaderEpoch: -1 }
            if (errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) leaders.push(leader)
            return { partitionIndex: rp.partitionIndex, errorCode, errorMessage: null, currentLeader: leader }
          }),
        ),
      })),
    )
    if (req.shareSessionEpoch === FINAL_SHARE_EPOCH) await endShareSession(core, session)
    return createShareAcknowledgeResponse({
      acquisitionLockTimeoutMs: core.shareSettings(groupId).recordLockDurationMs,
      responses,
      nodeEndpoints: nodeEndpoints(core, leaders, ctx.listener),
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createShareAcknowledgeResponse({ errorCode })
  },
})

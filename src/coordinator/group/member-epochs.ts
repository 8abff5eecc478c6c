/**
 * Offset commit and fetch checks of the groups whose members carry epochs (KIP-848 consumer
 * groups and KIP-1071 streams groups), as Kafka's coordinator validates them for both.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'

type Members = ReadonlyMap<string, { memberEpoch: number }>

/**
 * OffsetCommit and TxnOffsetCommit: UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH or FENCED_MEMBER_EPOCH,
 * or NONE. A commit from outside the group (no member id, negative epoch) only while it is empty.
 */
export function validateMemberCommit(members: Members, memberId: string, memberEpoch: number): number {
  if (memberEpoch < 0 && memberId === '' && members.size === 0) return ErrorCode.NONE
  const m = members.get(memberId)
  if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
  if (memberEpoch > m.memberEpoch) return ErrorCode.FENCED_MEMBER_EPOCH
  if (memberEpoch < m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH
  return ErrorCode.NONE
}

/** OffsetFetch v9+ from a member: UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH, or NONE. */
export function validateMemberFetch(members: Members, memberId: string | null, memberEpoch: number): number {
  if (memberId === null || memberEpoch < 0) return ErrorCode.NONE
  const m = members.get(memberId)
  if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
  return memberEpoch === m.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH
}

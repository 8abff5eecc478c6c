/**
 * What the share group APIs have in common (KIP-932): resolving the partitions ShareFetch and
 * ShareAcknowledge name by topic id, checking and applying acknowledgement batches, ending share
 * sessions (the final epoch, or the connection that used the session closing) by releasing the
 * records their member still holds, and the group checks of the offset-changing admin APIs.
 */
import { type AckBatch, AckType } from '../coordinator/share/share-partition.ts'
import type { SharePartitionKey } from '../coordinator/share/share-partitions.ts'
import type { ShareSession } from '../coordinator/share/share-sessions.ts'
import { ErrorCode } from '../protocol/error-codes.ts'
import type { Connection } from '../server/connection.ts'
import { AclOperation } from './acls/acl-model.ts'
import { topicAuthorized } from './authorize.ts'
import type { BrokerCore } from './broker-core.ts'
import type { RequestContext } from './context.ts'
import { partitionError } from './routing.ts'

/** A partition a share request names: its key, or why it cannot be served here. */
export interface ResolvedPartition {
  topicId: string
  partition: number
  key: SharePartitionKey | undefined
  /** UNKNOWN_TOPIC_ID, TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, or NONE. */
  errorCode: number
}

/** Resolves one partition of a share request for a group. */
export function resolveSharePartition(
  ctx: RequestContext,
  groupId: string,
  topicId: string,
  partition: number,
): ResolvedPartition {
  const meta = ctx.broker.topics.getById(topicId)
  if (meta === undefined) return { topicId, partition, key: undefined, errorCode: ErrorCode.UNKNOWN_TOPIC_ID }
  if (!topicAuthorized(ctx, AclOperation.READ, meta.name)) {
    return { topicId, partition, key: undefined, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }
  }
  const errorCode = partitionError(ctx, meta.name, partition)
  const key = { groupId, topicId, topic: meta.name, partition }
  return { topicId, partition, key: errorCode === ErrorCode.NONE ? key : undefined, errorCode }
}

/**
 * Checks a partition's acknowledgement batches as Kafka does before applying any: offsets in
 * order and not overlapping, one type for the whole batch or one per offset, known types only
 * (RENEW only in a request marked as renewing, v2+). INVALID_REQUEST or NONE.
 */
export function checkAckBatches(batches: readonly AckBatch[], renewAllowed: boolean): number {
  let next = -1
  for (const b of batches) {
    if (b.firstOffset > b.lastOffset || b.firstOffset < next) return ErrorCode.INVALID_REQUEST
    next = b.lastOffset + 1
    const n = b.lastOffset - b.firstOffset + 1
    if (b.acknowledgeTypes.length !== 1 && b.acknowledgeTypes.length !== n) return ErrorCode.INVALID_REQUEST
    const max = renewAllowed ? AckType.RENEW : AckType.REJECT
    if (b.acknowledgeTypes.some((t) => t < AckType.GAP || t > max)) return ErrorCode.INVALID_REQUEST
  }
  return ErrorCode.NONE
}

/** Converts a request's acknowledgement batches (int64 offsets) to the coordinator's. */
export function ackBatches(
  batches: readonly { firstOffset: bigint; lastOffset: bigint; acknowledgeTypes: number[] }[],
): AckBatch[] {
  return batches.map((b) => ({
    firstOffset: Number(b.firstOffset),
    lastOffset: Number(b.lastOffset),
    acknowledgeTypes: b.acknowledgeTypes,
  }))
}

/** Applies one partition's acknowledgements: its error code once durable (or refused). */
export async function acknowledgePartition(
  core: BrokerCore,
  p: ResolvedPartition,
  memberId: string,
  batches: readonly AckBatch[],
  renewAllowed: boolean,
): Promise<number> {
  if (p.key === undefined) return p.errorCode
  const invalid = checkAckBatches(batches, renewAllowed)
  if (invalid !== ErrorCode.NONE) return invalid
  return core.shares.acknowledge(p.key, memberId, batches)
}

/** A share session ended: the records its member holds in its partitions are available again. */
export function endShareSession(core: BrokerCore, session: ShareSession): Promise<void> {
  return core.shares.releaseMember([...session.partitions.values()], session.memberId)
}

const watched = new WeakSet<Connection>()

/** Ends the sessions a connection used last when it closes, as Kafka's share session cache does. */
export function watchShareConnection(core: BrokerCore, connection: Connection): void {
  if (watched.has(connection)) return
  watched.add(connection)
  connection.socket.once('close', () => {
    for (const session of core.shareSessions.closeOwnedBy(connection)) {
      void endShareSession(core, session).catch((err: unknown) =>
        core.log.error({ err }, 'releasing the records of a closed share session failed'),
      )
    }
  })
}

/**
 * Alter/DeleteShareGroupOffsets on a group: GROUP_ID_NOT_FOUND unless it is a share group held
 * here, NON_EMPTY_GROUP while it has members (its offsets change only while nobody reads), else NONE.
 */
export function emptyShareGroupError(core: BrokerCore, groupId: string): [number, string | null] {
  const group = core.groups.group(groupId)
  if (group?.type !== 'share')
    return [ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group or does not exist.`]
  if (!group.isEmpty()) return [ErrorCode.NON_EMPTY_GROUP, `Share group ${groupId} is not empty.`]
  return [ErrorCode.NONE, null]
}

/**
 * Share sessions (KIP-932, Kafka's ShareSessionCache): one per group member and broker (node id:
 * the brokers of one process keep their sessions apart, as separate brokers would), opened
 * by a ShareFetch with epoch 0, which names the partitions to fetch; every later ShareFetch or
 * ShareAcknowledge carries the next epoch and changes the partition set incrementally; epoch -1
 * closes it, and the records its member still holds are released. A session belongs to the
 * connection that opened it: when that connection closes the session ends the same way.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import type { SharePartitionKey } from './share-partitions.ts'

/** Kafka's SHARE_SESSION_LIMIT_REACHED (group.share.max.share.sessions sessions exist). */
export const SHARE_SESSION_LIMIT_REACHED = 133

/** The session epoch of a ShareFetch that opens a session, and of a request that closes it. */
export const INITIAL_SHARE_EPOCH = 0
export const FINAL_SHARE_EPOCH = -1

export class ShareSession {
  readonly groupId: string
  readonly memberId: string
  /** The epoch the next request must carry. */
  epoch = 1
  readonly partitions = new Map<string, SharePartitionKey>()
  /** The connection that used the session last: its closing ends the session. */
  owner: object

  constructor(groupId: string, memberId: string, owner: object) {
    this.groupId = groupId
    this.memberId = memberId
    this.owner = owner
  }

  static partitionKey(topicId: string, partition: number): string {
    return `${topicId}:${partition}`
  }

  /** Moves to the next epoch (after MAX_INT comes 1, as Kafka's ShareRequestMetadata.nextEpoch). */
  advance(): void {
    this.epoch = this.epoch === 0x7fffffff ? 1 : this.epoch + 1
  }
}

export class ShareSessions {
  readonly #sessions = new Map<string, ShareSession>()
  readonly #maxSessions: () => number

  constructor(maxSessions: () => number) {
    this.#maxSessions = maxSessions
  }

  static #key(nodeId: number, groupId: string, memberId: string): string {
    return JSON.stringify([nodeId, groupId, memberId])
  }

  /** Opens a session (epoch 0), replacing the member's earlier one; or SHARE_SESSION_LIMIT_REACHED. */
  open(nodeId: number, groupId: string, memberId: string, owner: object): ShareSession | number {
    const key = ShareSessions.#key(nodeId, groupId, memberId)
    if (!this.#sessions.has(key) && this.#sessions.size >= this.#maxSessions()) return SHARE_SESSION_LIMIT_REACHED
    const session = new ShareSession(groupId, memberId, owner)
    this.#sessions.set(key, session)
    return session
  }

  /**
   * The member's session for a request carrying `epoch` (> 0 or FINAL_SHARE_EPOCH):
   * SHARE_SESSION_NOT_FOUND or INVALID_SHARE_SESSION_EPOCH otherwise. A positive epoch moves the
   * session on; the final one removes it (the caller releases what its member holds).
   */
  use(nodeId: number, groupId: string, memberId: string, epoch: number, owner: object): ShareSession | number {
    const key = ShareSessions.#key(nodeId, groupId, memberId)
    const session = this.#sessions.get(key)
    if (session === undefined) return ErrorCode.SHARE_SESSION_NOT_FOUND
    if (epoch === FINAL_SHARE_EPOCH) {
      this.#sessions.delete(key)
      return session
    }
    if (epoch !== session.epoch) return ErrorCode.INVALID_SHARE_SESSION_EPOCH
    session.advance()
    session.owner = owner
    return session
  }

  /** Removes the sessions a closed connection used last; returns them (their records are to be released). */
  closeOwnedBy(owner: object): ShareSession[] {
    const out: ShareSession[] = []
    for (const [key, s] of this.#sessions) {
      if (s.owner !== owner) continue
      this.#sessions.delete(key)
      out.push(s)
    }
    return out
  }
}

/**
 * A share group's membership (KIP-932, ShareGroupHeartbeat), as Kafka's group coordinator keeps
 * it: members join with epoch 0 and their own member id (v1, KIP-1082), the group epoch goes up
 * whenever membership, a subscription or a subscribed topic's partition count changes, and the
 * simple assignor recomputes the target at once. Unlike consumer groups there is nothing to
 * revoke (several members may read one partition), so a member moves straight to the new
 * assignment and epoch on its next heartbeat. A member that stops heartbeating is removed after
 * share.session.timeout.ms. Which records a member reads is the share partitions' business
 * (share-partition.ts), not the group's.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import type { TopicMetadata } from '../../storage/types.ts'
import type { Clock } from '../clock.ts'
import { assignmentSignature as signature } from '../group/assignment-maps.ts'
import type { TopicAssignment } from '../group/assignors.ts'
import type { TopicPartitions } from '../group/consumer-group.ts'
import { GroupTimers } from '../group/timers.ts'
import { assignShareGroup } from './simple-assignor.ts'

export type ShareGroupState = 'Empty' | 'Stable' | 'Dead'

/** ShareGroupHeartbeat's member epoch of a leaving member. */
export const SHARE_LEAVE_EPOCH = -1

export interface ShareGroupHost {
  now(): number
  clock?: Clock
  topics: { get(name: string): TopicMetadata | undefined; list(): TopicMetadata[] }
  /** share.session.timeout.ms and share.heartbeat.interval.ms of a group (group configs over the broker's). */
  sessionTimeoutMs(groupId: string): number
  heartbeatIntervalMs(groupId: string): number
  maxSize(): number
  /** Writes the group's durable record; false when the write was refused. */
  persist(group: ShareGroup): Promise<boolean>
}

export interface ShareHeartbeat {
  memberId: string
  memberEpoch: number
  rackId: string | null
  subscribedTopicNames: string[] | null
  clientId: string
  clientHost: string
}

export interface ShareHeartbeatResult {
  errorCode: number
  errorMessage: string | null
  memberId: string | null
  memberEpoch: number
  heartbeatIntervalMs: number
  assignment: TopicPartitions[] | null
}

export interface ShareMember {
  memberId: string
  rackId: string | null
  clientId: string
  clientHost: string
  memberEpoch: number
  previousMemberEpoch: number
  subscribedTopicNames: string[]
  assigned: TopicAssignment
}

/** A heartbeat refused with an error code. */
export function shareHeartbeatError(errorCode: number, errorMessage: string | null = null): ShareHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null }
}

export class ShareGroup {
  readonly type = 'share'
  readonly groupId: string
  groupEpoch = 0
  /** Assignments computed since this coordinator loaded the group (the broker's /metrics). */
  rebalances = 0
  assignmentEpoch = 0
  stateTimestamp: number
  dead = false
  readonly members = new Map<string, ShareMember>()
  target = new Map<string, TopicAssignment>()
  readonly #host: ShareGroupHost
  readonly #timers: GroupTimers
  #subscriptionKey = ''

  constructor(groupId: string, host: ShareGroupHost) {
    this.groupId = groupId
    this.#host = host
    this.#timers = new GroupTimers(host.clock)
    this.stateTimestamp = host.now()
  }

  isEmpty(): boolean {
    return this.members.size === 0
  }

  get state(): ShareGroupState {
    if (this.dead) return 'Dead'
    return this.members.size === 0 ? 'Empty' : 'Stable'
  }

  heartbeat(req: ShareHeartbeat): ShareHeartbeatResult {
    if (req.memberEpoch === SHARE_LEAVE_EPOCH) return this.#leave(req.memberId)
    let member = this.members.get(req.memberId)
    const isNew = member === undefined
    if (member === undefined) {
      if (req.memberEpoch !== 0) return shareHeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID)
      if (this.members.size >= this.#host.maxSize()) {
        return shareHeartbeatError(
          ErrorCode.GROUP_MAX_SIZE_REACHED,
          `The share group has reached its maximum capacity of ${this.#host.maxSize()} members.`,
        )
      }
      member = {
        memberId: req.memberId,
        rackId: null,
        clientId: req.clientId,
        clientHost: req.clientHost,
        memberEpoch: 0,
        previousMemberEpoch: 0,
        subscribedTopicNames: [],
        assigned: new Map(),
      }
      this.members.set(member.memberId, member)
    } else if (req.memberEpoch !== 0 && req.memberEpoch !== member.memberEpoch) {
      // A member one epoch behind may have lost the response that moved it on.
      if (req.memberEpoch > member.memberEpoch || req.memberEpoch !== member.previousMemberEpoch) {
        return shareHeartbeatError(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The share group member has epoch ${req.memberEpoch}, the coordinator knows ${member.memberEpoch}.`,
        )
      }
    }
    const before = signature(member.assigned)
    member.clientId = req.clientId
    member.clientHost = req.clientHost
    if (req.rackId !== null) member.rackId = req.rackId
    if (req.subscribedTopicNames !== null) member.subscribedTopicNames = [...req.subscribedTopicNames]
    this.#refresh(isNew)
    if (member.memberEpoch !== this.assignmentEpoch) {
      member.previousMemberEpoch = member.memberEpoch
      member.memberEpoch = this.assignmentEpoch
    }
    member.assigned = this.target.get(member.memberId) ?? new Map()
    this.#startSession(member)
    void this.#host.persist(this)
    const changed = signature(member.assigned) !== before
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.#host.heartbeatIntervalMs(this.groupId),
      assignment:
        req.memberEpoch === 0 || changed || isNew
          ? [...member.assigned].map(([topicId, partitions]) => ({ topicId, partitions }))
          : null,
    }
  }

  #leave(memberId: string): ShareHeartbeatResult {
    const member = this.members.get(memberId)
    if (member === undefined) return shareHeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID)
    this.removeMember(member)
    void this.#host.persist(this)
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId,
      memberEpoch: SHARE_LEAVE_EPOCH,
      heartbeatIntervalMs: 0,
      assignment: null,
    }
  }

  /** Removes a member (leave or session timeout); the others' targets are recomputed. */
  removeMember(member: ShareMember): void {
    if (this.members.get(member.memberId) !== member) return
    this.members.delete(member.memberId)
    this.#timers.clear(`session:${member.memberId}`)
    this.target.delete(member.memberId)
    if (this.members.size === 0) this.stateTimestamp = this.#host.now()
    this.#refresh(true)
  }

  #startSession(member: ShareMember): void {
    this.#timers.set(`session:${member.memberId}`, this.#host.sessionTimeoutMs(this.groupId), () => {
      this.removeMember(member)
      void this.#host.persist(this)
    })
  }

  /** Ids of the existing topics a member subscribes to. */
  #subscribedIds(member: ShareMember): Set<string> {
    const ids = new Set<string>()
    for (const name of member.subscribedTopicNames) {
      const t = this.#host.topics.get(name)
      if (t) ids.add(t.topicId)
    }
    return ids
  }

  /** Bumps the group epoch and reassigns when forced or when subscriptions or partition counts changed. */
  #refresh(force: boolean): void {
    const subscriptions = new Map<string, Set<string>>()
    const counts = new Map<string, number>()
    const byId = new Map(this.#host.topics.list().map((t) => [t.topicId, t.partitionCount]))
    for (const m of this.members.values()) {
      const ids = this.#subscribedIds(m)
      subscriptions.set(m.memberId, ids)
      for (const id of ids) counts.set(id, byId.get(id) ?? 0)
    }
    const key = JSON.stringify([
      [...subscriptions].map(([id, topics]) => [id, [...topics].sort()]).sort(),
      [...counts].sort(),
    ])
    if (!force && key === this.#subscriptionKey) return
    this.#subscriptionKey = key
    this.groupEpoch++
    this.rebalances++
    const members = [...subscriptions].map(([memberId, topics]) => ({ memberId, topics }))
    this.target = assignShareGroup(members, counts)
    this.assignmentEpoch = this.groupEpoch
  }

  /** Re-evaluates subscriptions after topics changed (created, deleted, repartitioned). */
  onTopicsChanged(): void {
    if (this.members.size === 0) return
    const before = this.groupEpoch
    this.#refresh(false)
    if (this.groupEpoch !== before) void this.#host.persist(this)
  }

  /** Names of the topics the members subscribe to. */
  subscribedTopics(): Set<string> {
    const out = new Set<string>()
    for (const m of this.members.values()) for (const name of m.subscribedTopicNames) out.add(name)
    return out
  }

  kill(): void {
    this.unload()
  }

  /** The group leaves this coordinator's memory: timers stop and it turns Dead without writing. */
  unload(): void {
    this.#timers.close()
    this.dead = true
  }

  toRecord(): ShareGroupRecord {
    return {
      type: 'share',
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      stateTimestamp: this.stateTimestamp,
      subscriptionKey: this.#subscriptionKey,
      members: [...this.members.values()].map((m) => ({ ...m, assigned: [...m.assigned] })),
      target: [...this.target].map(([id, a]) => [id, [...a]]),
    }
  }

  /** Rebuilds a group from its record; every member gets a fresh session timer. */
  static fromRecord(groupId: string, rec: ShareGroupRecord, host: ShareGroupHost): ShareGroup {
    const g = new ShareGroup(groupId, host)
    g.groupEpoch = rec.groupEpoch
    g.assignmentEpoch = rec.assignmentEpoch
    g.stateTimestamp = rec.stateTimestamp
    g.#subscriptionKey = rec.subscriptionKey
    g.target = new Map(rec.target.map(([id, a]) => [id, new Map(a)]))
    for (const r of rec.members) {
      const m: ShareMember = { ...r, assigned: new Map(r.assigned) }
      g.members.set(m.memberId, m)
      g.#startSession(m)
    }
    return g
  }
}

export interface ShareGroupRecord {
  type: 'share'
  groupEpoch: number
  assignmentEpoch: number
  stateTimestamp: number
  subscriptionKey: string
  members: (Omit<ShareMember, 'assigned'> & { assigned: [string, number[]][] })[]
  target: [string, [string, number[]][]][]
}

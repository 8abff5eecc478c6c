/**
 * A KIP-848 consumer group (ConsumerGroupHeartbeat), as in Apache Kafka's new group coordinator.
 *
 * - The group epoch goes up whenever membership, a member's resolved subscription or the
 *   partition count of a subscribed topic changes; the target assignment is then recomputed at
 *   once by the server-side assignor (the one most members ask for, else the first configured).
 * - Each member converges to its target on its own heartbeats: partitions it must give up are
 *   revoked first (it keeps its epoch until a heartbeat shows it no longer owns them); then it
 *   moves to the assignment epoch and receives the target partitions that no other member still
 *   owns, the rest following once released.
 * - A member that stops heartbeating is removed after group.consumer.session.timeout.ms; one
 *   that does not revoke within its rebalance timeout is fenced. A static member leaving with
 *   epoch -2 keeps its assignment until its session times out, and a new member with the same
 *   instance id takes it over.
 */

import { randomBytes } from 'node:crypto'
import { ErrorCode } from '../../protocol/error-codes.ts'
import type { TopicMetadata } from '../../storage/types.ts'
import { wholeMatchRegex } from '../../util/whole-match-regex.ts'
import type { Clock } from '../clock.ts'
import {
  addToAssignment as addTo,
  assignmentEntries as entries,
  isEmptyAssignment,
  assignmentSignature as signature,
} from './assignment-maps.ts'
import { SERVER_ASSIGNORS, type TopicAssignment } from './assignors.ts'
import { validateMemberCommit, validateMemberFetch } from './member-epochs.ts'
import { GroupTimers } from './timers.ts'

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead'

/** Member epoch of a leaving member (-1) and of a static member leaving temporarily (-2). */
export const LEAVE_GROUP_MEMBER_EPOCH = -1
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2

export interface ConsumerGroupHost {
  now(): number
  /** Timers for sessions and revocations (default: the system clock). */
  clock?: Clock
  topics: { get(name: string): TopicMetadata | undefined; list(): TopicMetadata[] }
  /** Enabled server assignors, preferred first. */
  assignors(): string[]
  sessionTimeoutMs(): number
  heartbeatIntervalMs(): number
  maxSize(): number
  /** Writes the group's durable record; false when the write was refused. */
  persist(group: ConsumerGroup): Promise<boolean>
}

export interface TopicPartitions {
  topicId: string
  partitions: number[]
}

export interface ConsumerHeartbeat {
  apiVersion: number
  memberId: string
  memberEpoch: number
  instanceId: string | null
  rackId: string | null
  rebalanceTimeoutMs: number
  subscribedTopicNames: string[] | null
  subscribedTopicRegex: string | null
  serverAssignor: string | null
  topicPartitions: TopicPartitions[] | null
  clientId: string
  clientHost: string
}

export interface ConsumerHeartbeatResult {
  errorCode: number
  errorMessage: string | null
  memberId: string | null
  memberEpoch: number
  heartbeatIntervalMs: number
  assignment: TopicPartitions[] | null
}

export interface ConsumerMember {
  memberId: string
  instanceId: string | null
  rackId: string | null
  clientId: string
  clientHost: string
  memberEpoch: number
  previousMemberEpoch: number
  /** stable, waiting to revoke partitions, or waiting for partitions others still own. */
  state: 'stable' | 'unrevoked' | 'unreleased'
  rebalanceTimeoutMs: number
  subscribedTopicNames: string[]
  subscribedTopicRegex: string | null
  serverAssignor: string | null
  assigned: TopicAssignment
  pendingRevocation: TopicAssignment
}

function failure(errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null }
}

/** A member id as Kafka's Uuid.toString() makes it: 22 characters of URL-safe base64. */
export function newMemberId(): string {
  return randomBytes(16).toString('base64url')
}

function toList(a: TopicAssignment): TopicPartitions[] {
  return [...a].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }))
}

export class ConsumerGroup {
  readonly type = 'consumer'
  readonly groupId: string
  groupEpoch = 0
  /** Assignments computed since this coordinator loaded the group (new group epochs; the broker's /metrics). */
  rebalances = 0
  assignmentEpoch = 0
  stateTimestamp: number
  dead = false
  readonly members = new Map<string, ConsumerMember>()
  /** Target assignment by member id. */
  target = new Map<string, TopicAssignment>()
  readonly #host: ConsumerGroupHost
  readonly #static = new Map<string, string>()
  /** Which member owns each partition (assigned or pending revocation), by `topicId:partition`. */
  readonly #owner = new Map<string, string>()
  readonly #timers: GroupTimers
  readonly #regexes = new Map<string, RegExp | undefined>()
  #subscriptionKey = ''

  constructor(groupId: string, host: ConsumerGroupHost) {
    this.groupId = groupId
    this.#host = host
    this.#timers = new GroupTimers(host.clock)
    this.stateTimestamp = host.now()
  }

  isEmpty(): boolean {
    return this.members.size === 0
  }

  get state(): ConsumerGroupState {
    if (this.dead) return 'Dead'
    if (this.members.size === 0) return 'Empty'
    if (this.groupEpoch !== this.assignmentEpoch) return 'Assigning'
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'Reconciling'
    }
    return 'Stable'
  }

  /** The assignor the group uses: the one most members ask for, else the first enabled one. */
  assignorName(): string {
    const enabled = this.#host.assignors()
    const votes = new Map<string, number>()
    for (const m of this.members.values()) {
      if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1)
    }
    let best = enabled[0] ?? 'uniform'
    for (const name of enabled) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name
    return best
  }

  // ---- heartbeat

  heartbeat(req: ConsumerHeartbeat): ConsumerHeartbeatResult {
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      return this.#leave(req)
    }
    const before = this.#memberFor(req)
    if (typeof before === 'number') return failure(before)
    const { member, isNew } = before
    const oldAssignment = signature(member.assigned)
    member.clientId = req.clientId
    member.clientHost = req.clientHost
    if (req.rackId !== null) member.rackId = req.rackId
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
    if (req.subscribedTopicNames !== null) member.subscribedTopicNames = [...req.subscribedTopicNames]
    if (req.subscribedTopicRegex !== null) member.subscribedTopicRegex = req.subscribedTopicRegex || null
    if (req.serverAssignor !== null) member.serverAssignor = req.serverAssignor
    this.#refresh(isNew)
    this.#reconcile(member, req.topicPartitions)
    this.#startSession(member)
    const full =
      req.memberEpoch === 0 ||
      (req.rebalanceTimeoutMs !== -1 &&
        (req.subscribedTopicNames !== null || req.subscribedTopicRegex !== null) &&
        req.topicPartitions !== null)
    const changed = signature(member.assigned) !== oldAssignment
    void this.#host.persist(this)
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.#host.heartbeatIntervalMs(),
      assignment: full || changed || isNew ? toList(member.assigned) : null,
    }
  }

  /** Finds or creates the member a heartbeat is for, or the error that refuses it. */
  #memberFor(req: ConsumerHeartbeat): { member: ConsumerMember; isNew: boolean } | number {
    if (req.memberEpoch === 0) {
      if (req.instanceId !== null) {
        const existingId = this.#static.get(req.instanceId)
        const existing = existingId === undefined ? undefined : this.members.get(existingId)
        if (existing !== undefined) {
          if (existing.memberId === req.memberId) return { member: existing, isNew: false }
          if (existing.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) return ErrorCode.UNRELEASED_INSTANCE_ID
          return { member: this.#replaceStatic(existing, req.memberId || newMemberId()), isNew: false }
        }
      }
      const known = req.memberId === '' ? undefined : this.members.get(req.memberId)
      if (known !== undefined) return { member: known, isNew: false }
      if (this.members.size >= this.#host.maxSize()) return ErrorCode.GROUP_MAX_SIZE_REACHED
      const member: ConsumerMember = {
        memberId: req.memberId || newMemberId(),
        instanceId: req.instanceId,
        rackId: req.rackId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        memberEpoch: 0,
        previousMemberEpoch: 0,
        state: 'stable',
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        subscribedTopicNames: [],
        subscribedTopicRegex: null,
        serverAssignor: null,
        assigned: new Map(),
        pendingRevocation: new Map(),
      }
      this.members.set(member.memberId, member)
      if (member.instanceId !== null) this.#static.set(member.instanceId, member.memberId)
      return { member, isNew: true }
    }
    const member = this.members.get(req.memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (req.instanceId !== null && member.instanceId !== req.instanceId) return ErrorCode.FENCED_INSTANCE_ID
    if (req.memberEpoch !== member.memberEpoch) {
      const lostResponse =
        req.memberEpoch === member.previousMemberEpoch &&
        req.topicPartitions !== null &&
        req.topicPartitions.every((tp) => tp.partitions.every((p) => member.assigned.get(tp.topicId)?.includes(p)))
      if (!lostResponse) return ErrorCode.FENCED_MEMBER_EPOCH
    }
    return { member, isNew: false }
  }

  #replaceStatic(old: ConsumerMember, memberId: string): ConsumerMember {
    const member: ConsumerMember = { ...old, memberId }
    this.#timers.clear(`session:${old.memberId}`)
    this.#timers.clear(`revoke:${old.memberId}`)
    this.members.delete(old.memberId)
    this.members.set(memberId, member)
    this.#static.set(old.instanceId as string, memberId)
    for (const [k, owner] of this.#owner) if (owner === old.memberId) this.#owner.set(k, memberId)
    const target = this.target.get(old.memberId)
    this.target.delete(old.memberId)
    if (target) this.target.set(memberId, target)
    if (member.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) member.memberEpoch = member.previousMemberEpoch
    return member
  }

  #leave(req: ConsumerHeartbeat): ConsumerHeartbeatResult {
    let member = this.members.get(req.memberId)
    if (req.instanceId !== null) {
      const id = this.#static.get(req.instanceId)
      if (id === undefined) return failure(ErrorCode.UNKNOWN_MEMBER_ID)
      if (id !== req.memberId) return failure(ErrorCode.FENCED_INSTANCE_ID)
      member = this.members.get(id)
    }
    if (member === undefined) return failure(ErrorCode.UNKNOWN_MEMBER_ID)
    if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      // Stays in the group with its assignment until a new member with its instance id takes over.
      if (member.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) member.previousMemberEpoch = member.memberEpoch
      member.memberEpoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH
      this.#startSession(member)
    } else {
      this.removeMember(member)
    }
    void this.#host.persist(this)
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: req.memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    }
  }

  /** Removes a member (leave, session timeout, fencing), releasing its partitions. */
  removeMember(member: ConsumerMember): void {
    if (this.members.get(member.memberId) !== member) return
    this.members.delete(member.memberId)
    if (member.instanceId !== null && this.#static.get(member.instanceId) === member.memberId) {
      this.#static.delete(member.instanceId)
    }
    this.#timers.clear(`session:${member.memberId}`)
    this.#timers.clear(`revoke:${member.memberId}`)
    for (const [k, owner] of [...this.#owner]) if (owner === member.memberId) this.#owner.delete(k)
    this.target.delete(member.memberId)
    if (this.members.size === 0) this.stateTimestamp = this.#host.now()
    this.#refresh(true)
  }

  #startSession(member: ConsumerMember): void {
    this.#timers.set(`session:${member.memberId}`, this.#host.sessionTimeoutMs(), () => {
      this.removeMember(member)
      void this.#host.persist(this)
    })
  }

  // ---- subscriptions and target assignment

  #topicRegex(source: string): RegExp | undefined {
    if (!this.#regexes.has(source)) this.#regexes.set(source, wholeMatchRegex(source))
    return this.#regexes.get(source)
  }

  /** Ids of the existing topics a member subscribes to, by name or regex. */
  subscribedTopicIds(member: ConsumerMember, topics: TopicMetadata[]): Set<string> {
    const ids = new Set<string>()
    for (const name of member.subscribedTopicNames) {
      const t = this.#host.topics.get(name)
      if (t) ids.add(t.topicId)
    }
    const re = member.subscribedTopicRegex === null ? undefined : this.#topicRegex(member.subscribedTopicRegex)
    if (re) for (const t of topics) if (re.test(t.name)) ids.add(t.topicId)
    return ids
  }

  /**
   * Bumps the group epoch when forced (membership changed) or when a resolved subscription or a
   * subscribed topic's partition count changed, and recomputes the target assignment.
   */
  #refresh(force: boolean): void {
    const topics = this.#host.topics.list()
    const byId = new Map(topics.map((t) => [t.topicId, t]))
    const subscriptions = new Map<string, Set<string>>()
    const counts = new Map<string, number>()
    for (const m of this.members.values()) {
      const ids = this.subscribedTopicIds(m, topics)
      subscriptions.set(m.memberId, ids)
      for (const id of ids) counts.set(id, byId.get(id)?.partitionCount ?? 0)
    }
    const key = JSON.stringify([
      [...this.members.values()]
        .map((m) => [m.instanceId ?? m.memberId, [...(subscriptions.get(m.memberId) ?? [])].sort()])
        .sort(),
      [...counts].sort(),
      this.assignorName(),
    ])
    if (!force && key === this.#subscriptionKey) return
    this.#subscriptionKey = key
    this.groupEpoch++
    this.rebalances++
    const assignor = SERVER_ASSIGNORS.get(this.assignorName()) ?? SERVER_ASSIGNORS.get('uniform')
    const result = assignor?.assign({
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        topics: subscriptions.get(m.memberId) ?? new Set(),
        current: this.target.get(m.memberId) ?? new Map(),
      })),
      partitionCounts: counts,
    })
    this.target = result ?? new Map()
    this.assignmentEpoch = this.groupEpoch
  }

  /** Re-evaluates subscriptions after topics changed (created, deleted, repartitioned). */
  onTopicsChanged(): void {
    if (this.members.size === 0) return
    const before = this.groupEpoch
    this.#refresh(false)
    if (this.groupEpoch !== before) {
      // Partitions of deleted topics are gone: nobody owns them any more.
      const live = new Set(this.#host.topics.list().map((t) => t.topicId))
      for (const k of [...this.#owner.keys()]) if (!live.has(k.slice(0, k.lastIndexOf(':')))) this.#owner.delete(k)
      for (const m of this.members.values()) {
        for (const a of [m.assigned, m.pendingRevocation]) for (const t of [...a.keys()]) if (!live.has(t)) a.delete(t)
      }
      void this.#host.persist(this)
    }
  }

  // ---- reconciliation (Kafka's CurrentAssignmentBuilder)

  #reconcile(m: ConsumerMember, owned: TopicPartitions[] | null): void {
    if (m.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return
    if (m.state === 'unrevoked') {
      if (owned === null) return
      const stillOwned = owned.some((tp) => tp.partitions.some((p) => m.pendingRevocation.get(tp.topicId)?.includes(p)))
      if (stillOwned) return
      for (const [t, p] of entries(m.pendingRevocation)) this.#owner.delete(`${t}:${p}`)
      m.pendingRevocation = new Map()
      m.state = 'stable'
      this.#timers.clear(`revoke:${m.memberId}`)
    }
    if (m.state === 'stable' && m.memberEpoch === this.assignmentEpoch) return
    const target = this.target.get(m.memberId) ?? new Map<string, number[]>()
    const keep: TopicAssignment = new Map()
    const revoke: TopicAssignment = new Map()
    for (const [t, p] of entries(m.assigned)) addTo(target.get(t)?.includes(p) ? keep : revoke, t, p)
    if (!isEmptyAssignment(revoke)) {
      m.assigned = keep
      m.pendingRevocation = revoke
      m.state = 'unrevoked'
      this.#startRevocation(m)
      return
    }
    let unreleased = false
    for (const [t, p] of entries(target)) {
      if (keep.get(t)?.includes(p)) continue
      const owner = this.#owner.get(`${t}:${p}`)
      if (owner === undefined || owner === m.memberId) {
        this.#owner.set(`${t}:${p}`, m.memberId)
        addTo(keep, t, p)
      } else {
        unreleased = true
      }
    }
    for (const ps of keep.values()) ps.sort((a, b) => a - b)
    m.assigned = keep
    if (m.memberEpoch !== this.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch
      m.memberEpoch = this.assignmentEpoch
    }
    m.state = unreleased ? 'unreleased' : 'stable'
  }

  /** A member must revoke within its rebalance timeout, or it is fenced. */
  #startRevocation(m: ConsumerMember): void {
    this.#timers.set(`revoke:${m.memberId}`, m.rebalanceTimeoutMs, () => {
      if (m.state === 'unrevoked' && this.members.get(m.memberId) === m) {
        this.removeMember(m)
        void this.#host.persist(this)
      }
    })
  }

  // ---- offsets validation (KIP-848 member epochs)

  /** OffsetCommit: UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH or FENCED_MEMBER_EPOCH, or NONE. */
  validateCommit(memberId: string, memberEpoch: number): number {
    return validateMemberCommit(this.members, memberId, memberEpoch)
  }

  /** OffsetFetch v9+ from a member: UNKNOWN_MEMBER_ID or STALE_MEMBER_EPOCH, or NONE. */
  validateFetch(memberId: string | null, memberEpoch: number): number {
    return validateMemberFetch(this.members, memberId, memberEpoch)
  }

  /** Names of the topics the members subscribe to. */
  subscribedTopics(): Set<string> {
    const topics = this.#host.topics.list()
    const byId = new Map(topics.map((t) => [t.topicId, t.name]))
    const out = new Set<string>()
    for (const m of this.members.values()) {
      for (const id of this.subscribedTopicIds(m, topics)) out.add(byId.get(id) as string)
    }
    return out
  }

  /** Marks a deleted group Dead. */
  kill(): void {
    this.unload()
  }

  /**
   * The group leaves this coordinator's memory (handed to another, or deleted): timers stop for
   * good and the object turns Dead without writing anything.
   */
  unload(): void {
    this.#timers.close()
    this.dead = true
  }

  // ---- persistence

  toRecord(): ConsumerGroupRecord {
    const enc = (a: TopicAssignment): [string, number[]][] => [...a]
    return {
      type: 'consumer',
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      stateTimestamp: this.stateTimestamp,
      subscriptionKey: this.#subscriptionKey,
      members: [...this.members.values()].map((m) => ({
        ...m,
        assigned: enc(m.assigned),
        pendingRevocation: enc(m.pendingRevocation),
      })),
      target: [...this.target].map(([id, a]) => [id, enc(a)]),
    }
  }

  /**
   * Rebuilds a group from its record, as Kafka's coordinator loads one (after a restart or from
   * another coordinator): every member gets a fresh session timer, and one still revoking
   * partitions a fresh rebalance timeout; members keep their epochs and assignments.
   */
  static fromRecord(groupId: string, rec: ConsumerGroupRecord, host: ConsumerGroupHost): ConsumerGroup {
    const g = new ConsumerGroup(groupId, host)
    g.groupEpoch = rec.groupEpoch
    g.assignmentEpoch = rec.assignmentEpoch
    g.stateTimestamp = rec.stateTimestamp
    g.#subscriptionKey = rec.subscriptionKey
    g.target = new Map(rec.target.map(([id, a]) => [id, new Map(a)]))
    for (const r of rec.members) {
      const m: ConsumerMember = { ...r, assigned: new Map(r.assigned), pendingRevocation: new Map(r.pendingRevocation) }
      g.members.set(m.memberId, m)
      if (m.instanceId !== null) g.#static.set(m.instanceId, m.memberId)
      for (const a of [m.assigned, m.pendingRevocation])
        for (const [t, p] of entries(a)) g.#owner.set(`${t}:${p}`, m.memberId)
      g.#startSession(m)
      if (m.state === 'unrevoked') g.#startRevocation(m)
    }
    return g
  }
}

type Encoded<M> = Omit<M, 'assigned' | 'pendingRevocation'> & {
  assigned: [string, number[]][]
  pendingRevocation: [string, number[]][]
}

export interface ConsumerGroupRecord {
  type: 'consumer'
  groupEpoch: number
  assignmentEpoch: number
  stateTimestamp: number
  subscriptionKey: string
  members: Encoded<ConsumerMember>[]
  target: [string, [string, number[]][]][]
}

/**
 * A classic consumer group (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and its state machine, as
 * in Apache Kafka: Empty → PreparingRebalance → CompletingRebalance → Stable, Dead once deleted.
 *
 * - JoinGroup responses are held (promises) until the rebalance completes: when every known
 *   member has rejoined, or when the rebalance timeout (the largest of the members') fires and
 *   the members that did not rejoin are removed. An Empty group's first rebalance waits
 *   group.initial.rebalance.delay.ms, extended while new members keep arriving.
 * - KIP-394: a v4+ JoinGroup without a member id gets MEMBER_ID_REQUIRED and a generated id,
 *   which stays pending (and blocks completion) until it rejoins or its session timeout passes.
 * - KIP-345 static membership: a known group.instance.id rejoining with an empty member id
 *   replaces the old member, whose held requests get FENCED_INSTANCE_ID; in Stable with the
 *   same metadata it gets the old assignment back without a rebalance.
 * - Session timeouts evict members; a member awaiting a JoinGroup or SyncGroup response is
 *   covered by the rebalance timeout instead. Members that have not synced when the rebalance
 *   timeout passes after the join phase are removed and the group rebalances again.
 */
import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../protocol/error-codes.ts'
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol-subscription.ts'
import { Reader } from '../../protocol/wire/reader.ts'
import type { Clock } from '../clock.ts'
import { GroupTimers } from './timers.ts'

export type ClassicGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export interface Protocol {
  name: string
  metadata: Buffer
}

/** What a classic group needs from its coordinator. */
export interface ClassicGroupHost {
  now(): number
  /** Timers for sessions and rebalances (default: the system clock). */
  clock?: Clock
  initialRebalanceDelayMs(): number
  maxSize(): number
  /**
   * Writes the group's durable record (generation, members, assignments); false when the write
   * was refused (the coordinator no longer holds the group, and has answered its held requests).
   */
  persist(group: ClassicGroup): Promise<boolean>
}

export interface JoinRequest {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: Protocol[]
  /** JoinGroup v4+: a first join without a member id must come back with the generated one. */
  requireKnownMemberId: boolean
}

export interface JoinResult {
  errorCode: number
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leader: string
  skipAssignment: boolean
  memberId: string
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[]
}

export interface SyncRequest {
  memberId: string
  groupInstanceId: string | null
  generationId: number
  protocolType: string | null
  protocolName: string | null
  assignments: { memberId: string; assignment: Buffer }[]
}

export interface SyncResult {
  errorCode: number
  protocolType: string | null
  protocolName: string | null
  assignment: Buffer
}

export interface ClassicMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocols: Protocol[]
  assignment: Buffer
  joinWaiter?: (r: JoinResult) => void
  syncWaiter?: (r: SyncResult) => void
}

const EMPTY = Buffer.alloc(0)

/** A JoinGroup answer carrying only an error. */
export function joinError(errorCode: number, memberId = ''): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  }
}

function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY }
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i].metadata))
}

export class ClassicGroup {
  readonly type = 'classic'
  readonly groupId: string
  state: ClassicGroupState = 'Empty'
  /** When the group entered its current state (offset retention of Empty groups counts from it). */
  stateTimestamp: number
  generationId = 0
  /** Rebalances begun since this coordinator loaded the group (the broker's /metrics). */
  rebalances = 0
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  readonly members = new Map<string, ClassicMember>()
  readonly #host: ClassicGroupHost
  readonly #pending = new Set<string>()
  readonly #static = new Map<string, string>()
  readonly #timers: GroupTimers
  #pendingSync = new Set<string>()
  #initialDelay = false
  #newMemberAdded = false

  constructor(groupId: string, host: ClassicGroupHost) {
    this.groupId = groupId
    this.#host = host
    this.#timers = new GroupTimers(host.clock)
    this.stateTimestamp = host.now()
  }

  isEmpty(): boolean {
    return this.members.size === 0
  }

  /** Member id of a static member, by group.instance.id. */
  staticMemberId(instanceId: string): string | undefined {
    return this.#static.get(instanceId)
  }

  #transition(state: ClassicGroupState): void {
    this.state = state
    this.stateTimestamp = this.#host.now()
  }

  // ---- JoinGroup

  join(req: JoinRequest): JoinResult | Promise<JoinResult> {
    if (this.state === 'Dead') return joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId)
    if (!this.#supportsProtocols(req)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId)
    return req.memberId === '' ? this.#joinNew(req) : this.#joinExisting(req)
  }

  #supportsProtocols(req: JoinRequest): boolean {
    if (req.protocolType === '' || req.protocols.length === 0) return false
    const others = [...this.members.values()].filter(
      (m) => m.memberId !== req.memberId && (req.groupInstanceId === null || m.groupInstanceId !== req.groupInstanceId),
    )
    if (others.length === 0) return true
    if (req.protocolType !== this.protocolType) return false
    return req.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)))
  }

  #joinNew(req: JoinRequest): JoinResult | Promise<JoinResult> {
    if (req.groupInstanceId !== null) {
      const newId = `${req.groupInstanceId}-${randomUUID()}`
      const existing = this.#static.get(req.groupInstanceId)
      if (existing !== undefined) return this.#replaceStatic(existing, newId, req)
      if (this.members.size >= this.#host.maxSize()) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED)
      return this.#addMember(newId, req)
    }
    if (this.members.size + this.#pending.size >= this.#host.maxSize()) {
      return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED)
    }
    const newId = `${req.clientId}-${randomUUID()}`
    if (req.requireKnownMemberId) {
      this.#pending.add(newId)
      this.#timers.set(`pending:${newId}`, req.sessionTimeoutMs, () => {
        this.#pending.delete(newId)
        this.#tryCompleteJoin()
      })
      return joinError(ErrorCode.MEMBER_ID_REQUIRED, newId)
    }
    return this.#addMember(newId, req)
  }

  #joinExisting(req: JoinRequest): JoinResult | Promise<JoinResult> {
    const { memberId } = req
    if (req.groupInstanceId !== null) {
      const known = this.#static.get(req.groupInstanceId)
      if (known === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId)
      if (known !== memberId) return joinError(ErrorCode.FENCED_INSTANCE_ID, memberId)
    }
    if (this.#pending.delete(memberId)) {
      this.#timers.clear(`pending:${memberId}`)
      return this.#addMember(memberId, req)
    }
    const member = this.members.get(memberId)
    if (member === undefined) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, memberId)
    const unchanged = sameProtocols(member.protocols, req.protocols)
    if (this.state === 'CompletingRebalance' && unchanged) return this.#currentJoinResult(member)
    if (this.state === 'Stable' && unchanged && memberId !== this.leaderId) return this.#currentJoinResult(member)
    member.protocols = req.protocols
    member.sessionTimeoutMs = req.sessionTimeoutMs
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
    const p = this.#awaitJoin(member)
    this.#maybePrepareRebalance()
    return p
  }

  #addMember(memberId: string, req: JoinRequest): Promise<JoinResult> {
    const member: ClassicMember = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      assignment: EMPTY,
    }
    if (this.members.size === 0) this.protocolType = req.protocolType
    this.members.set(memberId, member)
    if (req.groupInstanceId !== null) this.#static.set(req.groupInstanceId, memberId)
    if (this.state === 'PreparingRebalance' && this.#initialDelay) this.#newMemberAdded = true
    const p = this.#awaitJoin(member)
    this.#maybePrepareRebalance()
    return p
  }

  /** KIP-345: a restarted static member takes over its instance id's place and assignment. */
  #replaceStatic(oldId: string, newId: string, req: JoinRequest): JoinResult | Promise<JoinResult> {
    const old = this.members.get(oldId) as ClassicMember
    old.joinWaiter?.(joinError(ErrorCode.FENCED_INSTANCE_ID, oldId))
    old.syncWaiter?.(syncError(ErrorCode.FENCED_INSTANCE_ID))
    this.#timers.clear(`session:${oldId}`)
    const member: ClassicMember = {
      ...old,
      memberId: newId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      joinWaiter: undefined,
      syncWaiter: undefined,
    }
    this.members.delete(oldId)
    this.members.set(newId, member)
    this.#static.set(req.groupInstanceId as string, newId)
    if (this.leaderId === oldId) this.leaderId = newId
    if (this.#pendingSync.delete(oldId)) this.#pendingSync.add(newId)
    if (this.state === 'Stable' && sameProtocols(old.protocols, req.protocols)) {
      this.#startSession(member)
      return this.#host
        .persist(this)
        .then((written) =>
          written
            ? { ...this.#currentJoinResult(member), skipAssignment: newId === this.leaderId }
            : joinError(ErrorCode.NOT_COORDINATOR, newId),
        )
    }
    const p = this.#awaitJoin(member)
    this.#maybePrepareRebalance()
    return p
  }

  #currentJoinResult(member: ClassicMember): JoinResult {
    this.#startSession(member)
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: member.memberId === this.leaderId ? this.#memberMetadata() : [],
    }
  }

  #memberMetadata(): JoinResult['members'] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
    }))
  }

  #awaitJoin(member: ClassicMember): Promise<JoinResult> {
    this.#timers.clear(`session:${member.memberId}`)
    member.joinWaiter?.(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId))
    return new Promise((resolve) => {
      member.joinWaiter = resolve
    })
  }

  #maxRebalanceTimeout(): number {
    let max = 0
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs)
    return max
  }

  #maybePrepareRebalance(): void {
    if (this.state === 'PreparingRebalance') this.#tryCompleteJoin()
    else if (this.state !== 'Dead') this.#prepareRebalance()
  }

  #prepareRebalance(): void {
    if (this.state === 'CompletingRebalance') {
      for (const m of this.members.values()) {
        m.assignment = EMPTY
        const w = m.syncWaiter
        m.syncWaiter = undefined
        w?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
      }
    }
    this.#timers.clear('sync')
    this.#pendingSync.clear()
    const initial = this.state === 'Empty'
    this.rebalances++
    this.#transition('PreparingRebalance')
    if (initial) {
      const delay = this.#host.initialRebalanceDelayMs()
      this.#scheduleInitialJoin(delay, Math.max(this.#maxRebalanceTimeout() - delay, 0))
    } else {
      this.#timers.set('join', this.#maxRebalanceTimeout(), () => this.#completeJoin())
      this.#tryCompleteJoin()
    }
  }

  /** group.initial.rebalance.delay.ms: wait for more members, extending while new ones arrive. */
  #scheduleInitialJoin(delay: number, remaining: number): void {
    this.#initialDelay = true
    this.#timers.set('join', delay, () => {
      if (this.#newMemberAdded && remaining > 0) {
        this.#newMemberAdded = false
        const next = Math.min(delay, remaining)
        this.#scheduleInitialJoin(next, remaining - next)
      } else {
        this.#completeJoin()
      }
    })
  }

  #tryCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.#initialDelay || this.#pending.size > 0) return
    for (const m of this.members.values()) if (m.joinWaiter === undefined) return
    this.#completeJoin()
  }

  #completeJoin(): void {
    this.#timers.clear('join')
    this.#initialDelay = false
    this.#newMemberAdded = false
    if (this.state !== 'PreparingRebalance') return
    for (const m of [...this.members.values()])
      if (m.joinWaiter === undefined) this.#remove(m, ErrorCode.UNKNOWN_MEMBER_ID)
    this.generationId++
    if (this.members.size === 0) {
      this.protocolName = null
      this.leaderId = null
      this.#transition('Empty')
      void this.#host.persist(this)
      return
    }
    this.protocolName = this.#selectProtocol()
    if (this.leaderId === null || !this.members.has(this.leaderId))
      this.leaderId = this.members.keys().next().value ?? null
    this.#transition('CompletingRebalance')
    this.#pendingSync = new Set(this.members.keys())
    const generation = this.generationId
    for (const m of this.members.values()) {
      const w = m.joinWaiter
      m.joinWaiter = undefined
      w?.(this.#currentJoinResult(m))
    }
    this.#timers.set('sync', this.#maxRebalanceTimeout(), () => this.#onSyncTimeout(generation))
  }

  /** The protocol every member supports that most members list first among those. */
  #selectProtocol(): string {
    const members = [...this.members.values()]
    const first = members[0] as ClassicMember
    const candidates = first.protocols
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)))
    const votes = new Map<string, number>()
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1)
    }
    let best = candidates[0] as string
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c
    return best
  }

  #onSyncTimeout(generation: number): void {
    if (this.state !== 'CompletingRebalance' || this.generationId !== generation) return
    for (const id of this.#pendingSync) {
      const m = this.members.get(id)
      if (m) this.#remove(m, ErrorCode.UNKNOWN_MEMBER_ID)
    }
    this.#prepareRebalance()
  }

  // ---- SyncGroup, Heartbeat, LeaveGroup

  /** UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID for a member that is not (or no longer) this one. */
  #validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const known = this.#static.get(groupInstanceId)
      if (known === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (known !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID
  }

  sync(req: SyncRequest): SyncResult | Promise<SyncResult> {
    if (this.state === 'Dead') return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    const invalid = this.#validateMember(req.memberId, req.groupInstanceId)
    if (invalid !== ErrorCode.NONE) return syncError(invalid)
    if (req.generationId !== this.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION)
    if (
      (req.protocolType !== null && req.protocolType !== this.protocolType) ||
      (req.protocolName !== null && req.protocolName !== this.protocolName)
    ) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    }
    const member = this.members.get(req.memberId) as ClassicMember
    if (this.state === 'PreparingRebalance') return syncError(ErrorCode.REBALANCE_IN_PROGRESS)
    if (this.state === 'Stable') {
      this.#startSession(member)
      return this.#syncResult(member)
    }
    if (this.state !== 'CompletingRebalance') return syncError(ErrorCode.UNKNOWN_MEMBER_ID)
    this.#pendingSync.delete(member.memberId)
    this.#timers.clear(`session:${member.memberId}`)
    member.syncWaiter?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
    const p = new Promise<SyncResult>((resolve) => {
      member.syncWaiter = resolve
    })
    if (member.memberId === this.leaderId) {
      const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]))
      for (const m of this.members.values()) m.assignment = given.get(m.memberId) ?? EMPTY
      const generation = this.generationId
      void this.#host.persist(this).then((written) => {
        if (written) this.#completeSync(generation)
      })
    }
    return p
  }

  #completeSync(generation: number): void {
    if (this.state !== 'CompletingRebalance' || this.generationId !== generation) return
    this.#timers.clear('sync')
    this.#pendingSync.clear()
    this.#transition('Stable')
    for (const m of this.members.values()) {
      const w = m.syncWaiter
      m.syncWaiter = undefined
      if (w) {
        this.#startSession(m)
        w(this.#syncResult(m))
      }
    }
  }

  #syncResult(m: ClassicMember): SyncResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment: m.assignment,
    }
  }

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (this.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID
    const invalid = this.#validateMember(memberId, groupInstanceId)
    if (invalid !== ErrorCode.NONE) return invalid
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION
    const member = this.members.get(memberId) as ClassicMember
    if (member.joinWaiter === undefined && member.syncWaiter === undefined) this.#startSession(member)
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  /** Keeps a member alive (an OffsetCommit from it counts as a heartbeat). */
  touch(memberId: string): void {
    const m = this.members.get(memberId)
    if (m && m.joinWaiter === undefined && m.syncWaiter === undefined) this.#startSession(m)
  }

  /** Removes one member (LeaveGroup); returns its error code. */
  leave(memberId: string, groupInstanceId: string | null): number {
    let target = memberId
    if (groupInstanceId !== null) {
      const known = this.#static.get(groupInstanceId)
      if (known === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (memberId !== '' && known !== memberId) return ErrorCode.FENCED_INSTANCE_ID
      target = known
    } else if (this.#pending.delete(memberId)) {
      this.#timers.clear(`pending:${memberId}`)
      this.#tryCompleteJoin()
      return ErrorCode.NONE
    }
    const m = this.members.get(target)
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    this.#removeAndUpdate(m)
    return ErrorCode.NONE
  }

  #startSession(m: ClassicMember): void {
    this.#timers.set(`session:${m.memberId}`, m.sessionTimeoutMs, () => {
      if (this.members.get(m.memberId) === m) this.#removeAndUpdate(m)
    })
  }

  #removeAndUpdate(m: ClassicMember): void {
    this.#remove(m, ErrorCode.UNKNOWN_MEMBER_ID)
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.#prepareRebalance()
    else if (this.state === 'PreparingRebalance') this.#tryCompleteJoin()
  }

  #remove(m: ClassicMember, errorCode: number): void {
    this.members.delete(m.memberId)
    if (m.groupInstanceId !== null && this.#static.get(m.groupInstanceId) === m.memberId) {
      this.#static.delete(m.groupInstanceId)
    }
    this.#timers.clear(`session:${m.memberId}`)
    this.#pendingSync.delete(m.memberId)
    if (this.leaderId === m.memberId) this.leaderId = this.members.keys().next().value ?? null
    const jw = m.joinWaiter
    const sw = m.syncWaiter
    m.joinWaiter = undefined
    m.syncWaiter = undefined
    jw?.(joinError(errorCode, m.memberId))
    sw?.(syncError(errorCode))
  }

  // ---- admin views

  /**
   * Topics the members subscribe to (consumer protocol only); null when unknown: a non-empty
   * group of another protocol type, or a member whose subscription does not decode, which makes
   * Kafka count every topic as subscribed (its offsets must not be deleted or expired).
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer') return this.members.size === 0 ? new Set() : null
    const topics = new Set<string>()
    for (const m of this.members.values()) {
      const meta = m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? m.protocols[0]?.metadata
      try {
        const r = new Reader(meta ?? Buffer.alloc(0))
        const version = r.readInt16()
        for (const t of decodeConsumerProtocolSubscription(r, Math.min(version, 3)).topics) topics.add(t)
      } catch {
        return null
      }
    }
    return topics
  }

  /** Fails every held request and cancels every timer. */
  #failHeld(errorCode: number): void {
    this.#timers.clearAll()
    for (const m of this.members.values()) {
      const jw = m.joinWaiter
      const sw = m.syncWaiter
      m.joinWaiter = undefined
      m.syncWaiter = undefined
      jw?.(joinError(errorCode, m.memberId))
      sw?.(syncError(errorCode))
    }
  }

  /** Marks a deleted group Dead. */
  kill(): void {
    this.unload(ErrorCode.COORDINATOR_NOT_AVAILABLE)
  }

  /**
   * The group leaves this coordinator's memory (handed to another, or deleted): held requests get
   * `errorCode`, timers stop for good, and the object turns Dead without writing anything.
   */
  unload(errorCode: number): void {
    this.#timers.close()
    this.#failHeld(errorCode)
    this.#transition('Dead')
  }

  // ---- persistence

  /** The durable form: generation, protocol, leader and members with their assignments. */
  toRecord(): ClassicGroupRecord {
    return {
      type: 'classic',
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leaderId: this.leaderId,
      stateTimestamp: this.stateTimestamp,
      members:
        this.state === 'Empty'
          ? []
          : [...this.members.values()].map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              sessionTimeoutMs: m.sessionTimeoutMs,
              rebalanceTimeoutMs: m.rebalanceTimeoutMs,
              protocols: m.protocols.map((p) => ({ name: p.name, metadata: p.metadata.toString('base64') })),
              assignment: m.assignment.toString('base64'),
            })),
    }
  }

  /**
   * Rebuilds a group from its record: Stable with its members, or Empty. Each member gets a
   * fresh session timer, as Kafka's coordinator gives the members of a group it loads (after a
   * restart or from another coordinator): members that keep heartbeating keep their generation
   * and assignment.
   */
  static fromRecord(groupId: string, rec: ClassicGroupRecord, host: ClassicGroupHost): ClassicGroup {
    const g = new ClassicGroup(groupId, host)
    g.generationId = rec.generationId
    g.protocolType = rec.protocolType
    g.protocolName = rec.protocolName
    g.leaderId = rec.leaderId
    g.stateTimestamp = rec.stateTimestamp
    for (const r of rec.members) {
      const m: ClassicMember = {
        ...r,
        protocols: r.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata, 'base64') })),
        assignment: Buffer.from(r.assignment, 'base64'),
      }
      g.members.set(m.memberId, m)
      if (m.groupInstanceId !== null) g.#static.set(m.groupInstanceId, m.memberId)
      g.#startSession(m)
    }
    if (g.members.size > 0) g.state = 'Stable'
    return g
  }
}

export interface ClassicGroupRecord {
  type: 'classic'
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leaderId: string | null
  stateTimestamp: number
  members: {
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    sessionTimeoutMs: number
    rebalanceTimeoutMs: number
    protocols: { name: string; metadata: string }[]
    assignment: string
  }[]
}

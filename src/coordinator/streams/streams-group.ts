/**
 * A streams group (KIP-1071, StreamsGroupHeartbeat), as Kafka's group coordinator keeps one:
 *
 * - The group holds one topology (subtopologies with source, repartition and changelog topics),
 *   set by the first member's join and replaced by a join carrying a higher topology epoch; a
 *   member on an older one is told STALE_TOPOLOGY. The topology is configured against the
 *   topics that exist (topology.ts): missing internal topics are created through the host, and
 *   until every topic is there the members are told why (a status) and get no tasks.
 * - The group epoch goes up whenever membership, a member's process, the configured topology or
 *   the number of standby replicas changes; the sticky task assignor then computes the target.
 * - Members converge to their targets as KIP-848 consumers do, with three kinds of tasks: tasks a
 *   member must give up are revoked first (it keeps its epoch until a heartbeat shows it owns
 *   them no more), and an active task goes to a member only once no other member runs it and
 *   no member of its own process holds it as a standby or warm-up (a standby or warm-up only
 *   once its process no longer holds it in any role), as Kafka's CurrentAssignmentBuilder does
 *   (current-assignment.ts).
 * - A member that stops heartbeating is removed after streams.session.timeout.ms; one that does
 *   not revoke within its rebalance timeout is fenced.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import type { TopologyDescription } from '../../protocol/generated/streams-group-topology-description-update.ts'
import type { TopicMetadata } from '../../storage/types.ts'
import type { Clock } from '../clock.ts'
import {
  addToAssignment,
  assignmentEntries,
  assignmentHas,
  assignmentSignature,
  decodeAssignment,
  type EncodedAssignment,
  encodeAssignment,
} from '../group/assignment-maps.ts'
import { newMemberId } from '../group/consumer-group.ts'
import { validateMemberCommit, validateMemberFetch } from '../group/member-epochs.ts'
import { GroupTimers } from '../group/timers.ts'
import { type ReconciledMember, ROLES, reconcileTasks } from './current-assignment.ts'
import { assignTasks, emptyRoles, type TaskRoles, type Tasks } from './task-assignor.ts'
import {
  type ConfiguredTopology,
  configureTopology,
  type InternalTopicToCreate,
  StreamsStatus,
  type StreamsStatusEntry,
  type StreamsTopology,
} from './topology.ts'

export type StreamsGroupState = 'Empty' | 'NotReady' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead'

/** Kafka's error codes of KIP-1071. */
export const STREAMS_INVALID_TOPOLOGY = 130
export const STREAMS_INVALID_TOPOLOGY_EPOCH = 131

const LEAVE_EPOCH = -1
const STATIC_LEAVE_EPOCH = -2

export interface StreamsGroupHost {
  now(): number
  clock?: Clock
  topics: { get(name: string): TopicMetadata | undefined; list(): TopicMetadata[] }
  /** streams.session.timeout.ms, streams.heartbeat.interval.ms, streams.num.standby.replicas of a group. */
  sessionTimeoutMs(groupId: string): number
  heartbeatIntervalMs(groupId: string): number
  numStandbyReplicas(groupId: string): number
  maxSize(): number
  /** Creates internal topics the group's topology needs (the broker's auto-creation). */
  createTopics(topics: InternalTopicToCreate[]): void
  persist(group: StreamsGroup): Promise<boolean>
}

export interface TaskIdList {
  subtopologyId: string
  partitions: number[]
}

export interface TaskOffsetEntry {
  subtopologyId: string
  partition: number
  offset: bigint
}

export interface StreamsHeartbeat {
  memberId: string
  memberEpoch: number
  endpointInformationEpoch: number
  instanceId: string | null
  rackId: string | null
  rebalanceTimeoutMs: number
  topology: StreamsTopology | null
  activeTasks: TaskIdList[] | null
  standbyTasks: TaskIdList[] | null
  warmupTasks: TaskIdList[] | null
  processId: string | null
  userEndpoint: { host: string; port: number } | null
  clientTags: { key: string; value: string }[] | null
  taskOffsets: TaskOffsetEntry[] | null
  taskEndOffsets: TaskOffsetEntry[] | null
  shutdownApplication: boolean
  clientId: string
  clientHost: string
  /** Whether the member may create a topic (CREATE on the cluster or the topic), for internal topics. */
  mayCreateTopic(name: string): boolean
}

export interface EndpointPartitions {
  userEndpoint: { host: string; port: number }
  activePartitions: { topic: string; partitions: number[] }[]
  standbyPartitions: { topic: string; partitions: number[] }[]
}

export interface StreamsHeartbeatResult {
  errorCode: number
  errorMessage: string | null
  memberId: string
  memberEpoch: number
  heartbeatIntervalMs: number
  status: StreamsStatusEntry[] | null
  activeTasks: TaskIdList[] | null
  standbyTasks: TaskIdList[] | null
  warmupTasks: TaskIdList[] | null
  endpointInformationEpoch: number
  partitionsByUserEndpoint: EndpointPartitions[] | null
  /** KIP-1331: the group has no description of its topology's current epoch; the member should send one. */
  topologyDescriptionRequired: boolean
}

/**
 * A topology's description as a Kafka Streams member sends it (KIP-1331), kept as it came for
 * StreamsGroupDescribe (plain JSON: it is stored with the group's record).
 */
export type { TopologyDescription }

export interface StreamsMember extends ReconciledMember {
  memberId: string
  instanceId: string | null
  rackId: string | null
  clientId: string
  clientHost: string
  rebalanceTimeoutMs: number
  topologyEpoch: number
  userEndpoint: { host: string; port: number } | null
  clientTags: { key: string; value: string }[]
  /** Stored as strings: offsets are int64. */
  taskOffsets: { subtopologyId: string; partition: number; offset: string }[]
  taskEndOffsets: { subtopologyId: string; partition: number; offset: string }[]
}

/** A heartbeat refused with an error code. */
export function streamsHeartbeatError(errorCode: number, errorMessage: string | null = null): StreamsHeartbeatResult {
  return {
    errorCode,
    errorMessage,
    memberId: '',
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    status: null,
    activeTasks: null,
    standbyTasks: null,
    warmupTasks: null,
    endpointInformationEpoch: 0,
    partitionsByUserEndpoint: null,
    topologyDescriptionRequired: false,
  }
}

/** Tasks as the protocol lists them, by subtopology, partitions in order. */
export function taskList(tasks: Tasks): TaskIdList[] {
  return [...tasks]
    .filter(([, ps]) => ps.length > 0)
    .map(([subtopologyId, ps]) => ({ subtopologyId, partitions: [...ps].sort((a, b) => a - b) }))
}

function fromList(list: TaskIdList[] | null): Tasks {
  return new Map((list ?? []).map((t) => [t.subtopologyId, [...t.partitions]]))
}

const rolesSignature = (r: TaskRoles) => ROLES.map((role) => assignmentSignature(r[role])).join('|')

export class StreamsGroup {
  readonly type = 'streams'
  readonly groupId: string
  groupEpoch = 0
  /** Assignments computed since this coordinator loaded the group (the broker's /metrics). */
  rebalances = 0
  assignmentEpoch = 0
  stateTimestamp: number
  dead = false
  topology: StreamsTopology | null = null
  readonly members = new Map<string, StreamsMember>()
  target = new Map<string, TaskRoles>()
  /** Bumped whenever the tasks of members with an endpoint change (Interactive Queries). */
  endpointInformationEpoch = 0
  /** A member asked every member to shut down (KIP-1071 SHUTDOWN_APPLICATION), until the group empties. */
  shutdownRequested = false
  configured: ConfiguredTopology | null = null
  /** The description of the topology of `epoch` a member sent, if any (KIP-1331). */
  topologyDescription: { epoch: number; description: TopologyDescription } | null = null
  readonly #host: StreamsGroupHost
  readonly #timers: GroupTimers
  readonly #static = new Map<string, string>()
  #assignmentKey = ''

  constructor(groupId: string, host: StreamsGroupHost) {
    this.groupId = groupId
    this.#host = host
    this.#timers = new GroupTimers(host.clock)
    this.stateTimestamp = host.now()
  }

  isEmpty(): boolean {
    return this.members.size === 0
  }

  get state(): StreamsGroupState {
    if (this.dead) return 'Dead'
    if (this.members.size === 0) return 'Empty'
    if (this.configured?.subtopologies == null || this.configured.problem !== null) return 'NotReady'
    if (this.groupEpoch !== this.assignmentEpoch) return 'Assigning'
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'Reconciling'
    }
    return 'Stable'
  }

  // ---- heartbeat

  heartbeat(req: StreamsHeartbeat): StreamsHeartbeatResult {
    if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) return this.#leave(req)
    const found = this.#memberFor(req)
    if (typeof found === 'number') return streamsHeartbeatError(found)
    const { member, isNew } = found
    let force = isNew
    // Only a join carries the topology; a later heartbeat's is ignored, as the spec says it is null.
    if (req.topology !== null && req.memberEpoch === 0) {
      const error = this.#takeTopology(req.topology)
      if (error !== undefined) {
        if (isNew) this.removeMember(member)
        return streamsHeartbeatError(STREAMS_INVALID_TOPOLOGY_EPOCH, error)
      }
      if (member.topologyEpoch !== req.topology.epoch) force = true
      member.topologyEpoch = req.topology.epoch
    }
    const before = rolesSignature(member.assigned)
    member.clientId = req.clientId
    member.clientHost = req.clientHost
    if (req.rackId !== null) member.rackId = req.rackId
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
    if (req.processId !== null && req.processId !== member.processId) {
      member.processId = req.processId
      force = true
    }
    if (req.userEndpoint !== null) member.userEndpoint = { ...req.userEndpoint }
    if (req.clientTags !== null) member.clientTags = req.clientTags.map((t) => ({ ...t }))
    const offsets = (list: TaskOffsetEntry[]) => list.map((o) => ({ ...o, offset: String(o.offset) }))
    if (req.taskOffsets !== null) member.taskOffsets = offsets(req.taskOffsets)
    if (req.taskEndOffsets !== null) member.taskEndOffsets = offsets(req.taskEndOffsets)
    if (req.shutdownApplication) this.shutdownRequested = true
    this.#refresh(force)
    const unauthorized = this.#createInternalTopics(req)
    const owned =
      req.activeTasks === null
        ? null
        : { active: fromList(req.activeTasks), standby: fromList(req.standbyTasks), warmup: fromList(req.warmupTasks) }
    this.#reconcile(member, owned)
    this.#startSession(member)
    const changed = rolesSignature(member.assigned) !== before
    if (changed && [...this.members.values()].some((m) => m.userEndpoint !== null)) this.endpointInformationEpoch++
    void this.#host.persist(this)
    const full = req.memberEpoch === 0 || changed || isNew
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.#host.heartbeatIntervalMs(this.groupId),
      status: this.#statuses(member, unauthorized),
      activeTasks: full ? taskList(member.assigned.active) : null,
      standbyTasks: full ? taskList(member.assigned.standby) : null,
      warmupTasks: full ? taskList(member.assigned.warmup) : null,
      endpointInformationEpoch: this.endpointInformationEpoch,
      partitionsByUserEndpoint:
        req.endpointInformationEpoch < this.endpointInformationEpoch ? this.#partitionsByEndpoint() : null,
      topologyDescriptionRequired: this.currentTopologyDescription() === null && this.topology !== null,
    }
  }

  /** The stored description, if it describes the group's current topology. */
  currentTopologyDescription(): TopologyDescription | null {
    const d = this.topologyDescription
    return d !== null && d.epoch === this.topology?.epoch ? d.description : null
  }

  /**
   * StreamsGroupTopologyDescriptionUpdate: a member's description of the group's current topology
   * is kept (durably, with the group); a sender that is not a member is UNKNOWN_MEMBER_ID, as
   * KIP-1331 asks, and a description of another topology epoch INVALID_REQUEST.
   */
  async updateTopologyDescription(
    memberId: string,
    epoch: number,
    description: TopologyDescription,
  ): Promise<{ errorCode: number; errorMessage: string | null }> {
    if (!this.members.has(memberId)) {
      return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, errorMessage: `Member ${memberId} is not in the group.` }
    }
    if (this.topology === null || epoch !== this.topology.epoch) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `The topology epoch ${epoch} is not the group's (${this.topology?.epoch ?? 'none'}).`,
      }
    }
    this.topologyDescription = { epoch, description }
    if (await this.#host.persist(this)) return { errorCode: ErrorCode.NONE, errorMessage: null }
    return { errorCode: ErrorCode.NOT_COORDINATOR, errorMessage: null }
  }

  /**
   * A joining member's topology: the group takes it when it has none (or only this member), or
   * when its epoch is higher; one with the group's epoch but other contents is refused.
   */
  #takeTopology(topology: StreamsTopology): string | undefined {
    const current = this.topology
    const alone = this.members.size <= 1
    if (current === null || topology.epoch > current.epoch || (alone && topology.epoch === current.epoch)) {
      if (current === null || JSON.stringify(current) !== JSON.stringify(topology)) {
        this.topology = topology
        this.#assignmentKey = ''
      }
      return undefined
    }
    if (topology.epoch === current.epoch && JSON.stringify(current) !== JSON.stringify(topology)) {
      return `The topology of epoch ${topology.epoch} differs from the group's topology of the same epoch.`
    }
    return undefined
  }

  #statuses(member: StreamsMember, unauthorized: string[]): StreamsStatusEntry[] {
    const out: StreamsStatusEntry[] = []
    if (unauthorized.length > 0) {
      out.push({
        statusCode: StreamsStatus.MISSING_INTERNAL_TOPICS,
        statusDetail: `Unauthorized to CREATE on topics ${unauthorized.join(',')}.`,
      })
    }
    if (this.topology !== null && member.topologyEpoch !== this.topology.epoch) {
      out.push({
        statusCode: StreamsStatus.STALE_TOPOLOGY,
        statusDetail: `The member's topology epoch ${member.topologyEpoch} is behind the group's topology epoch ${this.topology.epoch}.`,
      })
    }
    if (this.configured?.problem) out.push(this.configured.problem)
    if (this.shutdownRequested) {
      out.push({
        statusCode: StreamsStatus.SHUTDOWN_APPLICATION,
        statusDetail:
          'A KafkaStreams instance encountered a fatal error and requested a shutdown for the entire application.',
      })
    }
    return out
  }

  #memberFor(req: StreamsHeartbeat): { member: StreamsMember; isNew: boolean } | number {
    if (req.memberEpoch === 0) {
      if (req.instanceId !== null) {
        const existing = this.members.get(this.#static.get(req.instanceId) ?? '')
        if (existing !== undefined && existing.memberId !== req.memberId) {
          if (existing.memberEpoch !== STATIC_LEAVE_EPOCH) return ErrorCode.UNRELEASED_INSTANCE_ID
          return { member: this.#replaceStatic(existing, req.memberId || newMemberId()), isNew: false }
        }
      }
      const known = this.members.get(req.memberId)
      if (known !== undefined) return { member: known, isNew: false }
      if (this.members.size >= this.#host.maxSize()) return ErrorCode.GROUP_MAX_SIZE_REACHED
      const member: StreamsMember = {
        memberId: req.memberId || newMemberId(),
        instanceId: req.instanceId,
        rackId: req.rackId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        memberEpoch: 0,
        previousMemberEpoch: 0,
        state: 'stable',
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        topologyEpoch: req.topology?.epoch ?? 0,
        processId: req.processId ?? '',
        userEndpoint: null,
        clientTags: [],
        taskOffsets: [],
        taskEndOffsets: [],
        assigned: emptyRoles(),
        pendingRevocation: emptyRoles(),
      }
      this.members.set(member.memberId, member)
      if (member.instanceId !== null) this.#static.set(member.instanceId, member.memberId)
      return { member, isNew: true }
    }
    const member = this.members.get(req.memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (req.instanceId !== null && member.instanceId !== req.instanceId) return ErrorCode.FENCED_INSTANCE_ID
    if (req.memberEpoch !== member.memberEpoch) {
      // The member missed our last answer: it may go on from the epoch before if it owns nothing new.
      const owned = {
        active: fromList(req.activeTasks),
        standby: fromList(req.standbyTasks),
        warmup: fromList(req.warmupTasks),
      }
      const lostResponse =
        req.memberEpoch === member.previousMemberEpoch &&
        req.activeTasks !== null &&
        ROLES.every((role) =>
          [...assignmentEntries(owned[role])].every(([s, p]) => assignmentHas(member.assigned[role], s, p)),
        )
      if (!lostResponse) return ErrorCode.FENCED_MEMBER_EPOCH
    }
    return { member, isNew: false }
  }

  #replaceStatic(old: StreamsMember, memberId: string): StreamsMember {
    const member: StreamsMember = { ...old, memberId }
    this.#timers.clear(`session:${old.memberId}`)
    this.#timers.clear(`revoke:${old.memberId}`)
    this.members.delete(old.memberId)
    this.members.set(memberId, member)
    this.#static.set(old.instanceId as string, memberId)
    const target = this.target.get(old.memberId)
    this.target.delete(old.memberId)
    if (target) this.target.set(memberId, target)
    if (member.memberEpoch === STATIC_LEAVE_EPOCH) member.memberEpoch = member.previousMemberEpoch
    return member
  }

  #leave(req: StreamsHeartbeat): StreamsHeartbeatResult {
    const member = this.members.get(req.memberId)
    if (member === undefined) return streamsHeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID)
    if (req.instanceId !== null && member.instanceId !== req.instanceId) {
      return streamsHeartbeatError(ErrorCode.FENCED_INSTANCE_ID)
    }
    if (req.memberEpoch === STATIC_LEAVE_EPOCH && member.instanceId !== null) {
      // Keeps its tasks until a member with its instance id takes over or its session ends.
      if (member.memberEpoch !== STATIC_LEAVE_EPOCH) member.previousMemberEpoch = member.memberEpoch
      member.memberEpoch = STATIC_LEAVE_EPOCH
      this.#startSession(member)
    } else {
      this.removeMember(member)
    }
    void this.#host.persist(this)
    return { ...streamsHeartbeatError(ErrorCode.NONE), memberId: member.memberId, memberEpoch: req.memberEpoch }
  }

  /** Removes a member (leave, session timeout, fencing): the tasks it held are free for others. */
  removeMember(member: StreamsMember): void {
    if (this.members.get(member.memberId) !== member) return
    this.members.delete(member.memberId)
    if (member.instanceId !== null && this.#static.get(member.instanceId) === member.memberId) {
      this.#static.delete(member.instanceId)
    }
    this.#timers.clear(`session:${member.memberId}`)
    this.#timers.clear(`revoke:${member.memberId}`)
    this.target.delete(member.memberId)
    if (this.members.size === 0) {
      this.stateTimestamp = this.#host.now()
      this.shutdownRequested = false
    }
    this.#refresh(true)
  }

  #startSession(member: StreamsMember): void {
    this.#timers.set(`session:${member.memberId}`, this.#host.sessionTimeoutMs(this.groupId), () => {
      this.removeMember(member)
      void this.#host.persist(this)
    })
  }

  // ---- topology and target assignment

  #configure(): ConfiguredTopology | null {
    if (this.topology === null) return null
    const topics = this.#host.topics
    return configureTopology(this.topology, {
      partitionCount: (name) => topics.get(name)?.partitionCount,
      names: () => topics.list().map((t) => t.name),
    })
  }

  /**
   * Has the broker create the internal topics the topology lacks, as Kafka does on a heartbeat's
   * behalf: all of them, or none when the member may not create one (those are returned).
   */
  #createInternalTopics(req: StreamsHeartbeat): string[] {
    const toCreate = this.configured?.toCreate ?? []
    const unauthorized = toCreate.filter((t) => !req.mayCreateTopic(t.name)).map((t) => t.name)
    if (unauthorized.length === 0 && toCreate.length > 0) this.#host.createTopics(toCreate)
    return unauthorized
  }

  /**
   * Configures the topology again, and bumps the group epoch and recomputes the target when
   * forced or when what the assignment depends on changed.
   */
  #refresh(force: boolean): void {
    this.configured = this.#configure()
    const ready = this.configured?.problem === null ? this.configured.subtopologies : null
    const numStandby = this.#host.numStandbyReplicas(this.groupId)
    const key = JSON.stringify([
      [...this.members.values()].map((m) => [m.memberId, m.processId]).sort(),
      ready?.map((s) => [s.subtopologyId, s.numTasks, s.stateful]) ?? null,
      numStandby,
      this.topology?.epoch ?? -1,
    ])
    if (!force && key === this.#assignmentKey) return
    this.#assignmentKey = key
    this.groupEpoch++
    this.rebalances++
    this.target = assignTasks(
      [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        processId: m.processId,
        previous: this.target.get(m.memberId) ?? m.assigned,
      })),
      ready ?? [],
      numStandby,
    )
    this.assignmentEpoch = this.groupEpoch
  }

  /** Re-configures the topology after topics changed (internal topics created, sources deleted or grown). */
  onTopicsChanged(): void {
    if (this.members.size === 0 || this.topology === null) return
    const before = this.groupEpoch
    this.#refresh(false)
    if (this.groupEpoch !== before) void this.#host.persist(this)
  }

  // ---- reconciliation (current-assignment.ts)

  #reconcile(m: StreamsMember, owned: TaskRoles | null): void {
    if (m.memberEpoch === STATIC_LEAVE_EPOCH) return
    const others = [...this.members.values()].filter((o) => o !== m)
    const step = reconcileTasks(m, this.target.get(m.memberId) ?? emptyRoles(), others, owned, this.assignmentEpoch)
    if (step.revoked) this.#timers.clear(`revoke:${m.memberId}`)
    if (step.revoking) this.#startRevocation(m)
  }

  #startRevocation(m: StreamsMember): void {
    this.#timers.set(`revoke:${m.memberId}`, m.rebalanceTimeoutMs, () => {
      if (m.state === 'unrevoked' && this.members.get(m.memberId) === m) {
        this.removeMember(m)
        void this.#host.persist(this)
      }
    })
  }

  /** For Interactive Queries: per member with an endpoint, the partitions of its tasks. */
  #partitionsByEndpoint(): EndpointPartitions[] | null {
    if (this.configured?.subtopologies == null) return null
    const out: EndpointPartitions[] = []
    for (const m of this.members.values()) {
      if (m.userEndpoint === null) continue
      out.push({
        userEndpoint: m.userEndpoint,
        activePartitions: this.inputPartitions([m.assigned.active]),
        standbyPartitions: this.inputPartitions([m.assigned.standby, m.assigned.warmup]),
      })
    }
    return out
  }

  /** The input partitions (source and repartition topics) of tasks, by topic. */
  inputPartitions(tasks: Tasks[]): { topic: string; partitions: number[] }[] {
    const subtopologies = this.configured?.subtopologies ?? []
    const inputs = new Map(
      subtopologies.map((s) => [s.subtopologyId, [...s.sourceTopics, ...s.repartitionSourceTopics.map((t) => t.name)]]),
    )
    const byTopic = new Map<string, number[]>()
    for (const t of tasks) {
      for (const [s, p] of assignmentEntries(t))
        for (const topic of inputs.get(s) ?? []) addToAssignment(byTopic, topic, p)
    }
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
  }

  // ---- offsets

  validateCommit(memberId: string, memberEpoch: number): number {
    return validateMemberCommit(this.members, memberId, memberEpoch)
  }

  validateFetch(memberId: string | null, memberEpoch: number): number {
    return validateMemberFetch(this.members, memberId, memberEpoch)
  }

  /** The topics the topology reads (their offsets are in use: OffsetDelete refuses them, retention keeps them). */
  subscribedTopics(): Set<string> {
    const out = new Set<string>()
    if (this.members.size === 0) return out
    for (const s of this.configured?.subtopologies ?? this.topology?.subtopologies ?? []) {
      for (const t of s.sourceTopics) out.add(t)
      for (const t of s.repartitionSourceTopics) out.add(t.name)
    }
    return out
  }

  kill(): void {
    this.unload()
  }

  /** The group leaves this coordinator's memory: timers stop, nothing more is written. */
  unload(): void {
    this.#timers.close()
    this.dead = true
  }

  // ---- persistence

  toRecord(): StreamsGroupRecord {
    const enc = (r: TaskRoles): EncodedRoles => [
      encodeAssignment(r.active),
      encodeAssignment(r.standby),
      encodeAssignment(r.warmup),
    ]
    return {
      type: 'streams',
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      stateTimestamp: this.stateTimestamp,
      assignmentKey: this.#assignmentKey,
      topology: this.topology,
      topologyDescription: this.topologyDescription,
      endpointInformationEpoch: this.endpointInformationEpoch,
      shutdownRequested: this.shutdownRequested,
      members: [...this.members.values()].map((m) => ({
        ...m,
        assigned: enc(m.assigned),
        pendingRevocation: enc(m.pendingRevocation),
      })),
      target: [...this.target].map(([id, r]) => [id, enc(r)]),
    }
  }

  /** Rebuilds a group from its record: members keep epochs and tasks and get fresh timers. */
  static fromRecord(groupId: string, rec: StreamsGroupRecord, host: StreamsGroupHost): StreamsGroup {
    const dec = ([active, standby, warmup]: EncodedRoles): TaskRoles => ({
      active: decodeAssignment(active),
      standby: decodeAssignment(standby),
      warmup: decodeAssignment(warmup),
    })
    const g = new StreamsGroup(groupId, host)
    g.groupEpoch = rec.groupEpoch
    g.assignmentEpoch = rec.assignmentEpoch
    g.stateTimestamp = rec.stateTimestamp
    g.#assignmentKey = rec.assignmentKey
    g.topology = rec.topology
    g.topologyDescription = rec.topologyDescription ?? null
    g.endpointInformationEpoch = rec.endpointInformationEpoch
    g.shutdownRequested = rec.shutdownRequested
    g.target = new Map(rec.target.map(([id, r]) => [id, dec(r)]))
    for (const r of rec.members) {
      const m: StreamsMember = { ...r, assigned: dec(r.assigned), pendingRevocation: dec(r.pendingRevocation) }
      g.members.set(m.memberId, m)
      if (m.instanceId !== null) g.#static.set(m.instanceId, m.memberId)
      g.#startSession(m)
      if (m.state === 'unrevoked') g.#startRevocation(m)
    }
    g.configured = g.#configure()
    return g
  }
}

type EncodedRoles = [EncodedAssignment, EncodedAssignment, EncodedAssignment]

export interface StreamsGroupRecord {
  type: 'streams'
  groupEpoch: number
  assignmentEpoch: number
  stateTimestamp: number
  assignmentKey: string
  topology: StreamsTopology | null
  /** Absent from records written before KIP-1331 was served. */
  topologyDescription?: { epoch: number; description: TopologyDescription } | null
  endpointInformationEpoch: number
  shutdownRequested: boolean
  members: (Omit<StreamsMember, 'assigned' | 'pendingRevocation'> & {
    assigned: EncodedRoles
    pendingRevocation: EncodedRoles
  })[]
  target: [string, EncodedRoles][]
}

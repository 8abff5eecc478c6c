/**
 * The group coordinator: every classic and KIP-848 consumer group of this broker, their
 * committed offsets, and the durable records both are rebuilt from after a restart.
 *
 * Group records live in the key-value namespace `groups` (one JSON record per group, written
 * whenever it changes, in order), offsets in `group-offsets` (see offset-store.ts). A group id
 * belongs to one protocol at a time: a classic JoinGroup on a non-empty KIP-848 group gets
 * INCONSISTENT_GROUP_PROTOCOL, a ConsumerGroupHeartbeat on a non-empty classic group
 * GROUP_ID_NOT_FOUND; an empty group of the other type is converted, keeping its offsets.
 */

import { ErrorCode } from '../../protocol/error-codes.ts'
import type { KeyValueStore, TopicMetadata } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import type { Clock } from '../clock.ts'
import { SERVER_ASSIGNORS } from './assignors.ts'
import {
  ClassicGroup,
  type ClassicGroupHost,
  type ClassicGroupRecord,
  type JoinRequest,
  type JoinResult,
  joinError,
  type SyncRequest,
  type SyncResult,
} from './classic-group.ts'
import {
  ConsumerGroup,
  type ConsumerGroupHost,
  type ConsumerGroupRecord,
  type ConsumerHeartbeat,
  type ConsumerHeartbeatResult,
} from './consumer-group.ts'
import { type CommittedOffset, OffsetStore, type OffsetToCommit } from './offset-store.ts'

/** The key-value namespace holding group records. */
export const GROUPS_NAMESPACE = 'groups'

export type Group = ClassicGroup | ConsumerGroup

/** What the coordinator needs from the broker. */
export interface GroupCoordinatorDeps {
  kv: KeyValueStore
  topics: { get(name: string): TopicMetadata | undefined; list(): TopicMetadata[] }
  /** A broker config by Kafka name (group.*, offsets.*). */
  prop(name: string): string
  now(): number
  /** Timers of group sessions and rebalances (default: the system clock). */
  clock?: Clock
  log: Log
}

export interface CommitRequest {
  generationIdOrMemberEpoch: number
  memberId: string
  groupInstanceId: string | null
  offsets: OffsetToCommit[]
}

export interface FetchedTopic {
  name: string
  partitions: { partitionIndex: number; committed: CommittedOffset | undefined }[]
}

export interface GroupListing {
  groupId: string
  protocolType: string
  groupState: string
  groupType: 'classic' | 'consumer'
}

export class GroupCoordinator {
  readonly offsets: OffsetStore
  readonly #deps: GroupCoordinatorDeps
  readonly #groups = new Map<string, Group>()
  readonly #written = new Map<string, string>()
  /** Version of each group's stored record as this coordinator last read or wrote it. */
  readonly #versions = new Map<string, number>()
  #writes: Promise<void> = Promise.resolve()
  #retentionTimer: NodeJS.Timeout | undefined
  #closed = false
  readonly #classicHost: ClassicGroupHost
  readonly #consumerHost: ConsumerGroupHost

  constructor(deps: GroupCoordinatorDeps) {
    this.#deps = deps
    this.offsets = new OffsetStore(deps.kv)
    const num = (name: string): number => Number(deps.prop(name))
    this.#classicHost = {
      now: deps.now,
      clock: deps.clock,
      initialRebalanceDelayMs: () => num('group.initial.rebalance.delay.ms'),
      maxSize: () => num('group.max.size'),
      persist: (g) => this.#persist(g),
    }
    this.#consumerHost = {
      now: deps.now,
      clock: deps.clock,
      topics: deps.topics,
      assignors: () => this.assignors(),
      sessionTimeoutMs: () => num('group.consumer.session.timeout.ms'),
      heartbeatIntervalMs: () => num('group.consumer.heartbeat.interval.ms'),
      maxSize: () => num('group.consumer.max.size'),
      persist: (g) => this.#persist(g),
    }
  }

  /** Enabled KIP-848 server assignors (group.consumer.assignors), preferred first. */
  assignors(): string[] {
    const names = this.#deps
      .prop('group.consumer.assignors')
      .split(',')
      .map((s) =>
        s
          .trim()
          .replace(/^.*\.(\w+)Assignor$/, '$1')
          .toLowerCase(),
      )
    return names.filter((n) => SERVER_ASSIGNORS.has(n))
  }

  /** Rebuilds groups and offsets from storage and starts the offset expiry timer. */
  async load(): Promise<void> {
    await this.offsets.load()
    for (const groupId of (await this.#deps.kv.list(GROUPS_NAMESPACE)).keys()) await this.#reload(groupId)
    for (const groupId of this.offsets.groupIds()) {
      if (!this.#groups.has(groupId)) this.#groups.set(groupId, new ClassicGroup(groupId, this.#classicHost))
    }
    const every = Number(this.#deps.prop('offsets.retention.check.interval.ms'))
    this.#retentionTimer = setInterval(() => void this.expireOffsets().catch((err) => this.#logError(err)), every)
    this.#retentionTimer.unref()
  }

  /** Fails held requests, stops every timer and waits for pending writes. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#retentionTimer)
    for (const g of this.#groups.values()) {
      if (g.type === 'classic') g.shutdown(ErrorCode.NOT_COORDINATOR)
      else g.shutdown()
    }
    await this.#writes
  }

  #logError(err: unknown): void {
    this.#deps.log.error({ err }, 'group coordinator write failed')
  }

  /** Reads a group's stored record (and its version) into memory, replacing what was there. */
  async #reload(groupId: string): Promise<void> {
    const { value, version } = await this.#deps.kv.getVersioned(GROUPS_NAMESPACE, groupId)
    this.#versions.set(groupId, version)
    if (value === undefined) {
      this.#written.delete(groupId)
      return
    }
    const rec = JSON.parse(value.toString()) as ClassicGroupRecord | ConsumerGroupRecord
    const group =
      rec.type === 'consumer'
        ? ConsumerGroup.fromRecord(groupId, rec, this.#consumerHost)
        : ClassicGroup.fromRecord(groupId, rec, this.#classicHost)
    this.#groups.set(groupId, group)
    this.#written.set(groupId, value.toString())
  }

  /** Writes a group's record if it changed since the last write; writes are applied in order. */
  #persist(group: Group): Promise<void> {
    if (this.#closed || this.#groups.get(group.groupId) !== group) return this.#writes
    const json = JSON.stringify(group.toRecord())
    if (this.#written.get(group.groupId) === json) return this.#writes
    this.#written.set(group.groupId, json)
    return this.#write(group, Buffer.from(json))
  }

  /**
   * Writes (or with null deletes) a group's record only over the version this coordinator last
   * saw, so that two coordinators sharing a store never overwrite each other's state. When
   * another wrote first, this one drops its view of the group and takes the stored one.
   */
  #write(group: Group, value: Buffer | null): Promise<void> {
    const { groupId } = group
    this.#writes = this.#writes
      .then(async () => {
        const expected = this.#versions.get(groupId) ?? 0
        const version = await this.#deps.kv.putIfVersion(GROUPS_NAMESPACE, groupId, expected, value)
        if (version !== null) {
          this.#versions.set(groupId, version)
          return
        }
        this.#deps.log.warn({ groupId }, 'group state was written by another coordinator; taking the stored state')
        if (group.type === 'classic') group.shutdown(ErrorCode.NOT_COORDINATOR)
        else group.shutdown()
        if (this.#groups.get(groupId) === group) this.#groups.delete(groupId)
        await this.#reload(groupId)
      })
      .catch((err) => this.#logError(err))
    return this.#writes
  }

  group(groupId: string): Group | undefined {
    return this.#groups.get(groupId)
  }

  #classic(groupId: string): ClassicGroup | undefined {
    const g = this.#groups.get(groupId)
    return g?.type === 'classic' ? g : undefined
  }

  /** Replaces an empty group of the other protocol (its offsets stay). */
  #replace<G extends Group>(groupId: string, group: G): G {
    const old = this.#groups.get(groupId)
    if (old) old.kill()
    this.#groups.set(groupId, group)
    return group
  }

  // ---- classic protocol

  joinGroup(groupId: string, req: JoinRequest): JoinResult | Promise<JoinResult> {
    if (groupId === '') return joinError(ErrorCode.INVALID_GROUP_ID, req.memberId)
    const num = (name: string): number => Number(this.#deps.prop(name))
    if (
      req.sessionTimeoutMs < num('group.min.session.timeout.ms') ||
      req.sessionTimeoutMs > num('group.max.session.timeout.ms')
    ) {
      return joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId)
    }
    let group = this.#groups.get(groupId)
    if (group?.type === 'consumer') {
      if (!group.isEmpty()) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId)
      group = undefined
    }
    if (group === undefined) {
      if (req.memberId !== '') return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId)
      group = this.#replace(groupId, new ClassicGroup(groupId, this.#classicHost))
    }
    return group.join(req)
  }

  syncGroup(groupId: string, req: SyncRequest): SyncResult | Promise<SyncResult> {
    const none = { protocolType: null, protocolName: null, assignment: Buffer.alloc(0) }
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, ...none }
    const group = this.#classic(groupId)
    if (group === undefined) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, ...none }
    return group.sync(req)
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    const group = this.#classic(groupId)
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    return group.heartbeat(memberId, groupInstanceId, generationId)
  }

  /** LeaveGroup: a group-level error (INVALID_GROUP_ID, or UNKNOWN_MEMBER_ID for a missing group) and one per member. */
  leaveGroup(
    groupId: string,
    members: { memberId: string; groupInstanceId: string | null }[],
  ): { errorCode: number; members: number[] } {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] }
    const group = this.#classic(groupId)
    if (group === undefined) {
      return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) }
    }
    return { errorCode: ErrorCode.NONE, members: members.map((m) => group.leave(m.memberId, m.groupInstanceId)) }
  }

  // ---- KIP-848

  consumerGroupHeartbeat(groupId: string, req: ConsumerHeartbeat): ConsumerHeartbeatResult {
    let group = this.#groups.get(groupId)
    if (group?.type === 'classic' && (!group.isEmpty() || req.memberEpoch !== 0)) {
      return notFound(`Group ${groupId} is not a consumer group.`)
    }
    if (group === undefined || group.type === 'classic') {
      if (req.memberEpoch !== 0) return notFound(`Group ${groupId} not found.`)
      group = this.#replace(groupId, new ConsumerGroup(groupId, this.#consumerHost))
    }
    return group.heartbeat(req)
  }

  // ---- offsets

  /** OffsetCommit: a group-level error, else the offsets are durable when it resolves. */
  async commitOffsets(groupId: string, req: CommitRequest, apiVersion: number): Promise<number> {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    let group = this.#groups.get(groupId)
    if (group === undefined) {
      if (req.generationIdOrMemberEpoch >= 0) {
        return apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION
      }
      group = new ClassicGroup(groupId, this.#classicHost)
      this.#groups.set(groupId, group)
    }
    const error =
      group.type === 'consumer'
        ? group.validateCommit(req.memberId, req.generationIdOrMemberEpoch)
        : validateClassicCommit(group, req)
    if (error !== ErrorCode.NONE) return error
    if (group.type === 'classic') group.touch(req.memberId)
    await this.offsets.commit(groupId, req.offsets)
    return ErrorCode.NONE
  }

  /**
   * TxnOffsetCommit v3+ member checks (KIP-447), as Kafka's doTxnCommitOffsets: a member id other
   * than "" must belong to the group, a generation ≥ 0 must be the current one.
   */
  checkTxnMember(groupId: string, memberId: string, generationId: number): number {
    const group = this.#groups.get(groupId)
    if (group === undefined) return ErrorCode.NONE
    if (group.type === 'consumer') {
      return memberId === '' && generationId < 0 ? ErrorCode.NONE : group.validateCommit(memberId, generationId)
    }
    if (memberId !== '' && !group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID
    if (generationId >= 0 && generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    return ErrorCode.NONE
  }

  /**
   * Offsets of a committed transaction (TxnOffsetCommit, KIP-98): made visible to the group,
   * which is created empty if needed; member checks happened when they were sent.
   */
  async commitTransactionalOffsets(groupId: string, offsets: Omit<OffsetToCommit, 'expireTimestamp'>[]): Promise<void> {
    if (!this.#groups.has(groupId)) this.#groups.set(groupId, new ClassicGroup(groupId, this.#classicHost))
    await this.offsets.commit(
      groupId,
      offsets.map((o) => ({ ...o, expireTimestamp: null })),
    )
  }

  /**
   * OffsetFetch for one group: every committed offset when `topics` is null, else the requested
   * partitions (absent ones come back undefined). require_stable needs no wait: no transactional
   * offset commit is ever pending here yet.
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    member: { memberId: string | null; memberEpoch: number } = { memberId: null, memberEpoch: -1 },
  ): { errorCode: number; topics: FetchedTopic[] } {
    const group = this.#groups.get(groupId)
    if (group?.type === 'consumer') {
      const error = group.validateFetch(member.memberId, member.memberEpoch)
      if (error !== ErrorCode.NONE) return { errorCode: error, topics: [] }
    }
    if (topics === null) {
      const out: FetchedTopic[] = []
      for (const [name, ps] of this.offsets.all(groupId)) {
        const partitions = [...ps].map(([partitionIndex, committed]) => ({ partitionIndex, committed }))
        out.push({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })
      }
      return { errorCode: ErrorCode.NONE, topics: out }
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => ({
          partitionIndex: p,
          committed: this.offsets.get(groupId, t.name, p),
        })),
      })),
    }
  }

  /** OffsetDelete: a group-level error, else per topic the partition error codes. */
  async deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: number[][] }> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] }
    const group = this.#groups.get(groupId)
    if (group === undefined) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] }
    if (group.type === 'classic' && group.protocolType !== 'consumer' && !group.isEmpty()) {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] }
    }
    // null: a member's subscription does not decode, so every topic counts as subscribed.
    const subscribed = group.subscribedTopics()
    const remove: { topic: string; partition: number }[] = []
    const results = topics.map((t) =>
      t.partitions.map((partition) => {
        if (subscribed === null || subscribed.has(t.name)) return ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        remove.push({ topic: t.name, partition })
        return ErrorCode.NONE
      }),
    )
    await this.offsets.delete(groupId, remove)
    return { errorCode: ErrorCode.NONE, topics: results }
  }

  /**
   * Removes expired offsets (offsets.retention.minutes), as Kafka does: for an Empty group
   * counted from when it became empty; for a Stable consumer-protocol group only offsets of
   * topics it no longer subscribes to, counted from their commit; for a group without a
   * protocol type, from each commit. Empty groups left without offsets are deleted.
   */
  async expireOffsets(): Promise<void> {
    const now = this.#deps.now()
    const retentionMs = Number(this.#deps.prop('offsets.retention.minutes')) * 60_000
    for (const group of [...this.#groups.values()]) {
      const expired: { topic: string; partition: number }[] = []
      const protocolType = group.type === 'consumer' ? 'consumer' : group.protocolType
      const empty = group.isEmpty()
      let subscribed: Set<string> | null = new Set()
      let base: ((o: CommittedOffset) => number) | undefined
      if (protocolType === null || protocolType === '') base = (o) => o.commitTimestamp
      else if (empty) base = () => group.stateTimestamp
      else if (protocolType === 'consumer' && (group.type === 'consumer' || group.state === 'Stable')) {
        subscribed = group.subscribedTopics()
        base = (o) => o.commitTimestamp
      }
      if (base !== undefined && subscribed !== null) {
        for (const [topic, ps] of this.offsets.all(group.groupId)) {
          if (subscribed.has(topic)) continue
          for (const [partition, o] of ps) {
            const due = o.expireTimestamp ?? base(o) + retentionMs
            if (now >= due) expired.push({ topic, partition })
          }
        }
      }
      if (expired.length > 0) await this.offsets.delete(group.groupId, expired)
      if (empty && !this.offsets.has(group.groupId) && this.#groups.get(group.groupId) === group) {
        await this.#deleteGroup(group)
      }
    }
  }

  // ---- admin

  listGroups(statesFilter: string[], typesFilter: string[]): GroupListing[] {
    const states = new Set(statesFilter.map((s) => s.toLowerCase()))
    const types = new Set(typesFilter.map((s) => s.toLowerCase()))
    const out: GroupListing[] = []
    for (const g of this.#groups.values()) {
      const listing: GroupListing = {
        groupId: g.groupId,
        protocolType: g.type === 'consumer' ? 'consumer' : (g.protocolType ?? ''),
        groupState: g.state,
        groupType: g.type,
      }
      if (states.size > 0 && !states.has(listing.groupState.toLowerCase())) continue
      if (types.size > 0 && !types.has(listing.groupType)) continue
      out.push(listing)
    }
    return out
  }

  /** DeleteGroups for one group: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP or NONE once deleted. */
  async deleteGroup(groupId: string): Promise<number> {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    const group = this.#groups.get(groupId)
    if (group === undefined) return ErrorCode.GROUP_ID_NOT_FOUND
    if (!group.isEmpty()) return ErrorCode.NON_EMPTY_GROUP
    await this.#deleteGroup(group)
    return ErrorCode.NONE
  }

  async #deleteGroup(group: Group): Promise<void> {
    group.kill()
    this.#groups.delete(group.groupId)
    this.#written.delete(group.groupId)
    await Promise.all([this.#write(group, null), this.offsets.delete(group.groupId)])
  }

  // ---- topic changes

  /** Call after a topic is deleted: its committed offsets go, KIP-848 groups reassign. */
  async onTopicDeleted(topic: string): Promise<void> {
    await this.offsets.deleteTopic(topic)
    this.onTopicsChanged()
  }

  /** Call after topics are created or grow partitions: KIP-848 groups recompute their targets. */
  onTopicsChanged(): void {
    for (const g of this.#groups.values()) if (g.type === 'consumer') g.onTopicsChanged()
  }
}

function notFound(message: string): ConsumerHeartbeatResult {
  return {
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    errorMessage: message,
    memberId: null,
    memberEpoch: 0,
    heartbeatIntervalMs: 0,
    assignment: null,
  }
}

/** Kafka's ClassicGroup.validateOffsetCommit. */
function validateClassicCommit(group: ClassicGroup, req: CommitRequest): number {
  if (group.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE
  // A commit from outside group management (admin tools, assign() consumers): only while Empty.
  if (req.generationIdOrMemberEpoch < 0 && group.state === 'Empty') return ErrorCode.NONE
  if (req.groupInstanceId !== null) {
    const known = group.staticMemberId(req.groupInstanceId)
    if (known === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (known !== req.memberId) return ErrorCode.FENCED_INSTANCE_ID
  }
  if (!group.members.has(req.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID
  if (req.generationIdOrMemberEpoch !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
  if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS
  return ErrorCode.NONE
}

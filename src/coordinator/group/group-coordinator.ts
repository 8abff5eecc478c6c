/**
 * The group coordinator: every classic and KIP-848 consumer group this broker coordinates, their
 * committed offsets, and the durable records both are rebuilt from after a restart or by the
 * next coordinator.
 *
 * Group records live in the key-value namespace `groups` (one JSON record per group, written
 * whenever it changes, in order), offsets in `committed-offsets` (see offset-store.ts). Every
 * write is a compare-and-set over the version this coordinator read, so a coordinator that lost
 * a group can never overwrite what its successor wrote; a refused write drops the group from
 * memory (held requests get NOT_COORDINATOR) and reads it again if it is still this one's.
 *
 * Over a store several brokers share, the broker says which groups this coordinator coordinates
 * (deps.coordinates) and when that may have changed (coordinatorsChanged): see
 * coordinated-keys.ts. A group is read before its first request is answered; requests answered
 * synchronously get COORDINATOR_LOAD_IN_PROGRESS meanwhile, as Kafka answers while it loads.
 *
 * A group id belongs to one protocol at a time: a classic JoinGroup on a non-empty KIP-848 group
 * gets INCONSISTENT_GROUP_PROTOCOL, a ConsumerGroupHeartbeat on a non-empty classic group
 * GROUP_ID_NOT_FOUND; an empty group of the other type is converted, keeping its offsets.
 */

import { ErrorCode } from '../../protocol/error-codes.ts'
import type { KeyValueStore, TopicMetadata } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import type { Clock } from '../clock.ts'
import { CoordinatedKeys, type CoordinatesPredicate } from '../coordinated-keys.ts'
import {
  SHARE_LEAVE_EPOCH,
  ShareGroup,
  type ShareGroupHost,
  type ShareGroupRecord,
  type ShareHeartbeat,
  type ShareHeartbeatResult,
  shareHeartbeatError,
} from '../share/share-group.ts'
import {
  StreamsGroup,
  type StreamsGroupHost,
  type StreamsGroupRecord,
  type StreamsHeartbeat,
  type StreamsHeartbeatResult,
  streamsHeartbeatError,
  type TopologyDescription,
} from '../streams/streams-group.ts'
import type { InternalTopicToCreate } from '../streams/topology.ts'
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
import { offsetsPartitionOf } from './offsets-partition.ts'

/** The key-value namespace holding group records. */
export const GROUPS_NAMESPACE = 'groups'

export type Group = ClassicGroup | ConsumerGroup | ShareGroup | StreamsGroup

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
  /** Whether this broker coordinates a group id now (default: every group). */
  coordinates?: CoordinatesPredicate
  /** A group's config overrides (the GROUP config resource), by Kafka name. */
  groupConfigs?(groupId: string): Readonly<Record<string, string>>
  /** A share group was deleted: its share-partition state goes too (DeleteGroups). */
  dropShareState?(groupId: string): Promise<void>
  /** Creates the internal topics a streams group needs (KIP-1071: the coordinator's broker creates them). */
  createInternalTopics?(topics: InternalTopicToCreate[]): void
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

/** How a group's record is written: in order, each over the version the one before left. */
interface RecordWriter {
  /** The version this coordinator last read or wrote; undefined: not known yet (a group created here). */
  version: number | undefined
  /** The last write queued: resolves whether it was written. */
  tail: Promise<boolean>
  /** The record last written or queued, so an unchanged one is not written again. */
  written: string | undefined
}

export interface GroupListing {
  groupId: string
  protocolType: string
  groupState: string
  groupType: 'classic' | 'consumer' | 'share' | 'streams'
}

export class GroupCoordinator {
  readonly offsets: OffsetStore
  readonly #deps: GroupCoordinatorDeps
  readonly #keys: CoordinatedKeys
  readonly #groups = new Map<string, Group>()
  /** How each held group's record is written. */
  readonly #records = new Map<string, RecordWriter>()
  /** Writes of groups that left memory, queued before they did. */
  readonly #flushing = new Set<Promise<boolean>>()
  #retentionTimer: NodeJS.Timeout | undefined
  #closed = false
  readonly #classicHost: ClassicGroupHost
  readonly #consumerHost: ConsumerGroupHost
  readonly #shareHost: ShareGroupHost
  readonly #streamsHost: StreamsGroupHost

  constructor(deps: GroupCoordinatorDeps) {
    this.#deps = deps
    this.#keys = new CoordinatedKeys({
      coordinates: deps.coordinates,
      list: async () =>
        new Set([...(await deps.kv.list(GROUPS_NAMESPACE)).keys(), ...(await this.offsets.storedGroupIds())]),
      read: (groupId) => this.#read(groupId),
      unload: (groupId) => this.#unload(groupId),
      log: deps.log,
      what: 'group',
    })
    this.offsets = new OffsetStore(deps.kv, (groupId) => !this.#closed && this.#keys.coordinates(groupId))
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
    this.#shareHost = {
      now: deps.now,
      clock: deps.clock,
      topics: deps.topics,
      sessionTimeoutMs: (groupId) =>
        Number(deps.groupConfigs?.(groupId)['share.session.timeout.ms'] ?? num('group.share.session.timeout.ms')),
      heartbeatIntervalMs: (groupId) =>
        Number(deps.groupConfigs?.(groupId)['share.heartbeat.interval.ms'] ?? num('group.share.heartbeat.interval.ms')),
      maxSize: () => num('group.share.max.size'),
      persist: (g) => this.#persist(g),
    }
    const streamsConfig = (groupId: string, name: string) =>
      Number(deps.groupConfigs?.(groupId)[name] ?? num(`group.${name}`))
    this.#streamsHost = {
      now: deps.now,
      clock: deps.clock,
      topics: deps.topics,
      sessionTimeoutMs: (groupId) => streamsConfig(groupId, 'streams.session.timeout.ms'),
      heartbeatIntervalMs: (groupId) => streamsConfig(groupId, 'streams.heartbeat.interval.ms'),
      numStandbyReplicas: (groupId) => streamsConfig(groupId, 'streams.num.standby.replicas'),
      maxSize: () => num('group.streams.max.size'),
      createTopics: (topics) => deps.createInternalTopics?.(topics),
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

  /**
   * Moves offsets stored by earlier versions, rebuilds the groups and offsets this coordinator
   * coordinates from storage, and starts the offset expiry timer.
   */
  async load(): Promise<void> {
    await this.offsets.migrateLegacy()
    await this.#keys.changed()
    const every = Number(this.#deps.prop('offsets.retention.check.interval.ms'))
    this.#retentionTimer = setInterval(() => void this.expireOffsets().catch((err) => this.#logError(err)), every)
    this.#retentionTimer.unref()
  }

  /**
   * Call whenever the answer of deps.coordinates may have changed (brokers joined or died), in
   * the same step as the change: groups this coordinator lost leave memory at once (held
   * requests get NOT_COORDINATOR, timers stop, nothing more is written; a record write already
   * queued for a change already answered still goes out, over the version it expects); groups
   * it gained are read from storage, members with fresh session timers. Resolves once those
   * writes are done and the gained groups loaded.
   */
  async coordinatorsChanged(): Promise<void> {
    const loading = this.#keys.changed()
    await Promise.all([...this.#flushing])
    await loading
  }

  /** Fails held requests, stops every timer and waits for pending writes. */
  async close(): Promise<void> {
    this.#closed = true
    this.#keys.close()
    clearInterval(this.#retentionTimer)
    for (const g of this.#groups.values()) g.unload(ErrorCode.NOT_COORDINATOR)
    await Promise.all([...this.#records.values()].map((w) => w.tail))
    await Promise.all([...this.#flushing])
    await this.offsets.idle()
  }

  #logError(err: unknown): void {
    this.#deps.log.error({ err }, 'group coordinator write failed')
  }

  /** Reads a group's stored record and offsets; what it returns installs them in memory. */
  async #read(groupId: string): Promise<() => void> {
    const [{ value, version }, offsets] = await Promise.all([
      this.#deps.kv.getVersioned(GROUPS_NAMESPACE, groupId),
      this.offsets.read(groupId),
    ])
    return () => {
      this.#unload(groupId)
      this.#records.set(groupId, { version, tail: Promise.resolve(true), written: value?.toString() })
      this.offsets.install(groupId, offsets)
      if (value !== undefined) {
        const rec = JSON.parse(value.toString()) as
          | ClassicGroupRecord
          | ConsumerGroupRecord
          | ShareGroupRecord
          | StreamsGroupRecord
        const group =
          rec.type === 'consumer'
            ? ConsumerGroup.fromRecord(groupId, rec, this.#consumerHost)
            : rec.type === 'share'
              ? ShareGroup.fromRecord(groupId, rec, this.#shareHost)
              : rec.type === 'streams'
                ? StreamsGroup.fromRecord(groupId, rec, this.#streamsHost)
                : ClassicGroup.fromRecord(groupId, rec, this.#classicHost)
        this.#groups.set(groupId, group)
      } else if (offsets.offsets.size > 0) {
        // Offsets without a group record (committed outside group management): an Empty group.
        this.#groups.set(groupId, new ClassicGroup(groupId, this.#classicHost))
      }
    }
  }

  /**
   * Drops a group from memory without writing: held requests get NOT_COORDINATOR, timers stop,
   * offset commits not yet written are refused. A record write already queued still goes out.
   */
  #unload(groupId: string): void {
    this.#groups.get(groupId)?.unload(ErrorCode.NOT_COORDINATOR)
    this.#groups.delete(groupId)
    this.offsets.forget(groupId)
    const writer = this.#records.get(groupId)
    if (writer === undefined) return
    this.#records.delete(groupId)
    const flush = writer.tail
    this.#flushing.add(flush)
    void flush.then(() => this.#flushing.delete(flush))
  }

  #writer(groupId: string): RecordWriter {
    let writer = this.#records.get(groupId)
    if (writer === undefined) {
      writer = { version: undefined, tail: Promise.resolve(true), written: undefined }
      this.#records.set(groupId, writer)
    }
    return writer
  }

  /**
   * Writes a group's record if it changed since the last write; false if the write was refused.
   * A group this coordinator no longer coordinates (its timers ran before it was told) leaves
   * memory instead, unwritten.
   */
  #persist(group: Group): Promise<boolean> {
    const { groupId } = group
    if (this.#closed || this.#groups.get(groupId) !== group) return Promise.resolve(false)
    if (!this.#keys.coordinates(groupId)) {
      this.#keys.refused(groupId)
      return Promise.resolve(false)
    }
    const writer = this.#writer(groupId)
    const json = JSON.stringify(group.toRecord())
    if (writer.written === json) return writer.tail
    writer.written = json
    return this.#write(groupId, writer, Buffer.from(json))
  }

  /**
   * Writes (or with null deletes) a group's record after its earlier writes, only over the
   * version this coordinator last saw: two coordinators sharing a store never overwrite each
   * other's state. A refused write (or one whose outcome is unknown) drops the group from
   * memory, to be read again.
   */
  #write(groupId: string, writer: RecordWriter, value: Buffer | null): Promise<boolean> {
    const write = writer.tail.then(async () => {
      try {
        const version = await this.#putRecord(groupId, writer.version, value)
        if (version !== null) {
          writer.version = version
          return true
        }
        this.#deps.log.warn({ groupId }, 'group state was written by another coordinator; reading it again')
      } catch (err) {
        this.#logError(err)
      }
      if (this.#records.get(groupId) === writer) this.#keys.refused(groupId)
      return false
    })
    writer.tail = write
    return write
  }

  /** One compare-and-set of a group's record: its new version, or null when another write came first. */
  async #putRecord(groupId: string, expected: number | undefined, value: Buffer | null): Promise<number | null> {
    if (expected === undefined) {
      // A group created here: its record may only be absent (or deleted).
      const stored = await this.#deps.kv.getVersioned(GROUPS_NAMESPACE, groupId)
      if (stored.value !== undefined) return null
      return this.#deps.kv.putIfVersion(GROUPS_NAMESPACE, groupId, stored.version, value)
    }
    return this.#deps.kv.putIfVersion(GROUPS_NAMESPACE, groupId, expected, value)
  }

  /** The group, if this coordinator holds it (one it coordinates but has not read yet starts loading). */
  group(groupId: string): Group | undefined {
    if (this.#keys.check(groupId) !== ErrorCode.NONE) return undefined
    return this.#groups.get(groupId)
  }

  /**
   * Runs `run` once the group is held here (read first if need be), else answers `fail` with
   * NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE.
   */
  #whenHeld<T>(groupId: string, fail: (code: number) => T, run: () => T | Promise<T>): T | Promise<T> {
    const held = this.#keys.check(groupId)
    if (held === ErrorCode.NONE) return run()
    if (held !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return fail(held)
    return this.#keys.ensure(groupId).then((code) => (code === ErrorCode.NONE ? run() : fail(code)))
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
    return this.#whenHeld(
      groupId,
      (code) => joinError(code, req.memberId),
      () => this.#join(groupId, req),
    )
  }

  #join(groupId: string, req: JoinRequest): JoinResult | Promise<JoinResult> {
    let group = this.#groups.get(groupId)
    if (group?.type === 'share' || group?.type === 'streams') {
      return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId)
    }
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
    return this.#whenHeld(
      groupId,
      (errorCode) => ({ errorCode, ...none }),
      () => this.#classic(groupId)?.sync(req) ?? { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, ...none },
    )
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    const held = this.#keys.check(groupId)
    if (held !== ErrorCode.NONE) return held
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
    const held = this.#keys.check(groupId)
    if (held !== ErrorCode.NONE) return { errorCode: held, members: [] }
    const group = this.#classic(groupId)
    if (group === undefined) {
      return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) }
    }
    return { errorCode: ErrorCode.NONE, members: members.map((m) => group.leave(m.memberId, m.groupInstanceId)) }
  }

  // ---- KIP-848

  consumerGroupHeartbeat(groupId: string, req: ConsumerHeartbeat): ConsumerHeartbeatResult {
    const held = this.#keys.check(groupId)
    if (held !== ErrorCode.NONE) return heartbeatError(held)
    let group = this.#groups.get(groupId)
    if (
      group?.type === 'share' ||
      group?.type === 'streams' ||
      (group?.type === 'classic' && (!group.isEmpty() || req.memberEpoch !== 0))
    ) {
      return notFound(`Group ${groupId} is not a consumer group.`)
    }
    if (group === undefined || group.type === 'classic') {
      if (req.memberEpoch !== 0) return notFound(`Group ${groupId} not found.`)
      group = this.#replace(groupId, new ConsumerGroup(groupId, this.#consumerHost))
    }
    return group.heartbeat(req)
  }

  // ---- KIP-932

  /**
   * ShareGroupHeartbeat. A group id of another type is GROUP_ID_NOT_FOUND, as Kafka answers; a
   * share group is created by its first member's join (epoch 0).
   */
  shareGroupHeartbeat(groupId: string, req: ShareHeartbeat): ShareHeartbeatResult | Promise<ShareHeartbeatResult> {
    return this.#whenHeld(groupId, shareHeartbeatError, () => {
      let group = this.#groups.get(groupId)
      if (group !== undefined && group.type !== 'share') {
        return shareHeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group.`)
      }
      if (group === undefined) {
        if (req.memberEpoch === SHARE_LEAVE_EPOCH) return shareHeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID)
        if (req.memberEpoch !== 0) {
          return shareHeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`)
        }
        group = this.#replace(groupId, new ShareGroup(groupId, this.#shareHost))
      }
      return group.heartbeat(req)
    })
  }

  // ---- KIP-1071

  /**
   * StreamsGroupHeartbeat. A group id of another type is GROUP_ID_NOT_FOUND, as Kafka answers,
   * except an empty classic group (offsets only), which becomes a streams group keeping them.
   */
  streamsGroupHeartbeat(
    groupId: string,
    req: StreamsHeartbeat,
  ): StreamsHeartbeatResult | Promise<StreamsHeartbeatResult> {
    return this.#whenHeld(groupId, streamsHeartbeatError, () => {
      let group = this.#groups.get(groupId)
      if (group !== undefined && group.type !== 'streams' && !(group.type === 'classic' && group.isEmpty())) {
        return streamsHeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a streams group.`)
      }
      if (group === undefined || group.type === 'classic') {
        if (req.memberEpoch !== 0) {
          return streamsHeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`)
        }
        group = this.#replace(groupId, new StreamsGroup(groupId, this.#streamsHost))
      }
      return group.heartbeat(req)
    })
  }

  /** StreamsGroupTopologyDescriptionUpdate (KIP-1331): an unknown group, or one of another type, is GROUP_ID_NOT_FOUND. */
  streamsTopologyDescriptionUpdate(
    groupId: string,
    memberId: string,
    topologyEpoch: number,
    description: TopologyDescription,
  ): Promise<{ errorCode: number; errorMessage: string | null }> {
    const fail = (errorCode: number, errorMessage: string | null = null) => ({ errorCode, errorMessage })
    return Promise.resolve(
      this.#whenHeld(groupId, fail, () => {
        const group = this.#groups.get(groupId)
        if (group?.type !== 'streams')
          return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a streams group.`)
        return group.updateTopologyDescription(memberId, topologyEpoch, description)
      }),
    )
  }

  // ---- offsets

  /** OffsetCommit: a group-level error, else the offsets are durable when it resolves. */
  async commitOffsets(groupId: string, req: CommitRequest, apiVersion: number): Promise<number> {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    const held = await this.#keys.ensure(groupId)
    if (held !== ErrorCode.NONE) return held
    let group = this.#groups.get(groupId)
    if (group === undefined) {
      if (req.generationIdOrMemberEpoch >= 0) {
        return apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION
      }
      group = new ClassicGroup(groupId, this.#classicHost)
      this.#groups.set(groupId, group)
    }
    if (group.type === 'share') return ErrorCode.GROUP_ID_NOT_FOUND
    const error =
      group.type === 'classic'
        ? validateClassicCommit(group, req)
        : group.validateCommit(req.memberId, req.generationIdOrMemberEpoch)
    if (error !== ErrorCode.NONE) return error
    if (group.type === 'classic') group.touch(req.memberId)
    return this.#commit(group, req.offsets)
  }

  /** Writes offsets of a held group: NONE once durable, NOT_COORDINATOR if the write was refused. */
  async #commit(group: Group, offsets: OffsetToCommit[]): Promise<number> {
    if (await this.offsets.commit(group.groupId, offsets)) return ErrorCode.NONE
    this.#refused(group)
    return ErrorCode.NOT_COORDINATOR
  }

  /** A write of the group was refused: it leaves memory, unless it already did (and was read again). */
  #refused(group: Group): void {
    if (this.#groups.get(group.groupId) === group) this.#keys.refused(group.groupId)
  }

  /**
   * TxnOffsetCommit v3+ member checks (KIP-447), as Kafka's doTxnCommitOffsets: a member id other
   * than "" must belong to the group, a generation ≥ 0 must be the current one.
   */
  checkTxnMember(groupId: string, memberId: string, generationId: number): number {
    const held = this.#keys.check(groupId)
    if (held !== ErrorCode.NONE) return held
    const group = this.#groups.get(groupId)
    if (group === undefined) return ErrorCode.NONE
    if (group.type === 'share') return ErrorCode.GROUP_ID_NOT_FOUND
    if (group.type === 'consumer' || group.type === 'streams') {
      return memberId === '' && generationId < 0 ? ErrorCode.NONE : group.validateCommit(memberId, generationId)
    }
    if (memberId !== '' && !group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID
    if (generationId >= 0 && generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    return ErrorCode.NONE
  }

  /**
   * TxnOffsetCommit at the group's coordinator (KIP-98): the offsets stay pending, durably, until
   * the producer's transaction ends (endTransaction); meanwhile require_stable fetches answer
   * UNSTABLE_OFFSET_COMMIT for them. Member checks (checkTxnMember) and the transaction's own
   * (the transaction coordinator's) come first. PRODUCER_FENCED for an epoch older than the one
   * the producer's pending offsets were sent with; NOT_COORDINATOR if the write was refused.
   */
  async txnOffsetCommit(
    groupId: string,
    producerId: number,
    epoch: number,
    offsets: Omit<OffsetToCommit, 'expireTimestamp'>[],
  ): Promise<number> {
    const held = await this.#keys.ensure(groupId)
    if (held !== ErrorCode.NONE) return held
    const known = this.offsets.pending(groupId, producerId)
    if (known !== undefined && epoch < known.epoch) return ErrorCode.PRODUCER_FENCED
    const group = this.#groupOrEmpty(groupId)
    const toCommit = offsets.map((o) => ({ ...o, expireTimestamp: null }))
    if (await this.offsets.addPending(groupId, producerId, epoch, toCommit)) return ErrorCode.NONE
    this.#refused(group)
    return ErrorCode.NOT_COORDINATOR
  }

  /**
   * A producer's transaction ended (Kafka's marker in the group's __consumer_offsets partition):
   * its pending offsets for the group become committed, or are dropped on abort. NONE once
   * durable (also when it had none); NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE when this
   * broker does not hold the group, so that the transaction coordinator tries again.
   */
  async endTransaction(groupId: string, producerId: number, commit: boolean): Promise<number> {
    const held = await this.#keys.ensure(groupId)
    if (held !== ErrorCode.NONE) return held
    if (this.offsets.pending(groupId, producerId) === undefined) return ErrorCode.NONE
    const group = this.#groupOrEmpty(groupId)
    if (await this.offsets.endPending(groupId, producerId, commit)) return ErrorCode.NONE
    this.#refused(group)
    return ErrorCode.NOT_COORDINATOR
  }

  /**
   * WriteTxnMarkers for partition `offsetsPartition` of __consumer_offsets: ends the producer's
   * transaction in every group of that partition held here (offsetsPartitionOf), as Kafka's
   * coordinator completes the pending offsets of every group in the partition it leads.
   */
  async endTransactionIn(offsetsPartition: number, producerId: number, commit: boolean): Promise<number> {
    const groups = this.offsets
      .groupsPendingFor(producerId)
      .filter((g) => offsetsPartitionOf(g) === offsetsPartition && this.#keys.coordinates(g))
    const codes = await Promise.all(groups.map((g) => this.endTransaction(g, producerId, commit)))
    return codes.find((c) => c !== ErrorCode.NONE) ?? ErrorCode.NONE
  }

  /** Whether an open transaction committed an offset for the group's partition (require_stable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    return this.offsets.hasPending(groupId, topic, partition)
  }

  /** The held group, created Empty if it has no record yet (Kafka's coordinator does for transactional commits). */
  #groupOrEmpty(groupId: string): Group {
    let group = this.#groups.get(groupId)
    if (group === undefined) {
      group = new ClassicGroup(groupId, this.#classicHost)
      this.#groups.set(groupId, group)
    }
    return group
  }

  /**
   * OffsetFetch for one group: every committed offset when `topics` is null, else the requested
   * partitions (absent ones come back undefined). Pending transactional offsets are not among
   * them (see hasPendingOffset).
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    member: { memberId: string | null; memberEpoch: number } = { memberId: null, memberEpoch: -1 },
  ): { errorCode: number; topics: FetchedTopic[] } {
    const held = this.#keys.check(groupId)
    if (held !== ErrorCode.NONE) return { errorCode: held, topics: [] }
    const group = this.#groups.get(groupId)
    if (group?.type === 'share') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] }
    if (group?.type === 'consumer' || group?.type === 'streams') {
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
    const held = await this.#keys.ensure(groupId)
    if (held !== ErrorCode.NONE) return { errorCode: held, topics: [] }
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
    if (!(await this.offsets.delete(groupId, remove))) {
      this.#refused(group)
      return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] }
    }
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
      // A group lost meanwhile is its new coordinator's to expire. An empty share group has no
      // offsets here but keeps its share-partition state: it stays until deleted.
      if (this.#closed || !this.#keys.coordinates(group.groupId) || group.type === 'share') continue
      const expired: { topic: string; partition: number }[] = []
      const protocolType = group.type === 'classic' ? group.protocolType : group.type
      const empty = group.isEmpty()
      let subscribed: Set<string> | null = new Set()
      let base: ((o: CommittedOffset) => number) | undefined
      if (protocolType === null || protocolType === '') base = (o) => o.commitTimestamp
      else if (empty) base = () => group.stateTimestamp
      else if (
        (group.type === 'classic' && protocolType === 'consumer' && group.state === 'Stable') ||
        group.type === 'consumer' ||
        group.type === 'streams'
      ) {
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
      if (expired.length > 0 && !(await this.offsets.delete(group.groupId, expired))) {
        this.#refused(group)
        continue
      }
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
      if (!this.#keys.coordinates(g.groupId)) continue
      const listing: GroupListing = {
        groupId: g.groupId,
        protocolType: g.type === 'classic' ? (g.protocolType ?? '') : g.type,
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
    const held = await this.#keys.ensure(groupId)
    if (held !== ErrorCode.NONE) return held
    const group = this.#groups.get(groupId)
    if (group === undefined) return ErrorCode.GROUP_ID_NOT_FOUND
    if (!group.isEmpty()) return ErrorCode.NON_EMPTY_GROUP
    return this.#deleteGroup(group)
  }

  /** Deletes a held group's record and offsets: NONE, or NOT_COORDINATOR if a write was refused. */
  async #deleteGroup(group: Group): Promise<number> {
    const { groupId } = group
    // Offsets first: a group whose record went but not its offsets would come back as Empty.
    if (!(await this.offsets.delete(groupId))) {
      this.#refused(group)
      return ErrorCode.NOT_COORDINATOR
    }
    if (this.#groups.get(groupId) !== group || !this.#keys.coordinates(groupId)) return ErrorCode.NOT_COORDINATOR
    group.kill()
    this.#groups.delete(groupId)
    const writer = this.#writer(groupId)
    writer.written = undefined
    if (!(await this.#write(groupId, writer, null))) return ErrorCode.NOT_COORDINATOR
    if (this.#records.get(groupId) === writer && !this.#groups.has(groupId)) this.#records.delete(groupId)
    this.#keys.forget(groupId)
    if (group.type === 'share') await this.#deps.dropShareState?.(groupId)
    return ErrorCode.NONE
  }

  // ---- topic changes

  /** Call after a topic is deleted: its committed offsets go (in the groups held here), KIP-848 groups reassign. */
  async onTopicDeleted(topic: string): Promise<void> {
    for (const group of [...this.#groups.values()]) {
      const ps = this.offsets.all(group.groupId).get(topic)
      if (ps === undefined || !this.#keys.coordinates(group.groupId)) continue
      const gone = [...ps.keys()].map((partition) => ({ topic, partition }))
      if (!(await this.offsets.delete(group.groupId, gone))) this.#refused(group)
    }
    this.onTopicsChanged()
  }

  /** Call after topics are created or grow partitions: KIP-848 groups recompute their targets. */
  onTopicsChanged(): void {
    for (const g of this.#groups.values()) if (g.type !== 'classic') g.onTopicsChanged()
  }
}

function notFound(message: string): ConsumerHeartbeatResult {
  return heartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, message)
}

function heartbeatError(errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult {
  return {
    errorCode,
    errorMessage,
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

/**
 * Membership of a consumer group under the classic protocol: JoinGroup (with the KIP-394
 * member-id round trip), the leader's assignment, SyncGroup, heartbeats on a timer, and
 * LeaveGroup. With a cooperative assignor only partitions that move are revoked (KIP-429); with
 * an eager one, everything is revoked before rejoining.
 */

import { createHeartbeatRequest, type HeartbeatResponse } from '../../protocol/generated/heartbeat.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  createJoinGroupRequest,
  createJoinGroupRequestProtocol,
  type JoinGroupResponse,
} from '../../protocol/generated/join-group.ts'
import {
  createLeaveGroupRequest,
  createMemberIdentity,
  type LeaveGroupResponse,
} from '../../protocol/generated/leave-group.ts'
import {
  createSyncGroupRequest,
  createSyncGroupRequestAssignment,
  type SyncGroupResponse,
} from '../../protocol/generated/sync-group.ts'
import type { Cluster } from '../cluster.ts'
import { KafkaError } from '../errors.ts'
import type { TopicPartition } from '../offsets.ts'
import { ASSIGNORS, type Assignor } from './assignors.ts'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from './consumer-protocol.ts'

/** Group settings. */
export interface MembershipOptions {
  groupId: string
  topics: string[]
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
  heartbeatIntervalMs?: number
  /** Assignor names by preference (default cooperative-sticky, range). */
  assignors?: string[]
  /** Called with partitions about to be taken away (commit their offsets here). */
  onRevoked?: (partitions: TopicPartition[]) => Promise<void>
  /** Called with partitions newly assigned. */
  onAssigned?: (partitions: TopicPartition[]) => Promise<void>
}

const E = {
  UNKNOWN_MEMBER_ID: 25,
  ILLEGAL_GENERATION: 22,
  REBALANCE_IN_PROGRESS: 27,
  MEMBER_ID_REQUIRED: 79,
  NOT_COORDINATOR: 16,
  COORDINATOR_NOT_AVAILABLE: 15,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  FENCED_INSTANCE_ID: 82,
} as const

function key(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`
}

function flatten(m: Record<string, number[]>): TopicPartition[] {
  return Object.entries(m).flatMap(([topic, parts]) => parts.map((partition) => ({ topic, partition })))
}

/** One consumer's membership in a group. */
export class GroupMembership {
  readonly #cluster: Cluster
  readonly #opts: Required<Omit<MembershipOptions, 'onRevoked' | 'onAssigned'>> &
    Pick<MembershipOptions, 'onRevoked' | 'onAssigned'>
  readonly #assignors: Assignor[]
  memberId = ''
  generationId = -1
  protocol: string | null = null
  leader = ''
  #owned: TopicPartition[] = []
  #needsJoin = true
  #heartbeat: NodeJS.Timeout | undefined
  #heartbeatBusy = false
  #closed = false

  constructor(cluster: Cluster, options: MembershipOptions) {
    this.#cluster = cluster
    this.#opts = {
      ...options,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      assignors: options.assignors ?? ['cooperative-sticky', 'range'],
    }
    this.#assignors = this.#opts.assignors.map((name) => {
      const a = ASSIGNORS.get(name)
      if (!a) throw new Error(`unknown assignor "${name}" (use ${[...ASSIGNORS.keys()].join(', ')})`)
      return a
    })
  }

  /** Partitions this member owns. */
  get assignment(): TopicPartition[] {
    return [...this.#owned]
  }

  /** True when the member must (re)join before consuming. */
  get needsJoin(): boolean {
    return this.#needsJoin
  }

  /** Joins (or rejoins) the group if needed; resolves once the member has a stable assignment. */
  async ensureActive(): Promise<void> {
    for (let attempt = 0; this.#needsJoin && !this.#closed; attempt++) {
      try {
        await this.#joinAndSync()
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err
        if (err.code === E.NOT_COORDINATOR || err.code === E.COORDINATOR_NOT_AVAILABLE) {
          this.#cluster.invalidateCoordinator(this.#opts.groupId)
        } else if (err.code === E.UNKNOWN_MEMBER_ID || err.code === E.FENCED_INSTANCE_ID) {
          this.memberId = ''
          this.generationId = -1
        } else if (
          err.code !== E.REBALANCE_IN_PROGRESS &&
          err.code !== E.ILLEGAL_GENERATION &&
          err.code !== E.COORDINATOR_LOAD_IN_PROGRESS
        ) {
          throw err
        }
        if (attempt > 20) throw err
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)))
      }
    }
    this.#startHeartbeat()
  }

  async #joinAndSync(): Promise<void> {
    const { groupId } = this.#opts
    // The protocol of the current generation decides; before the first join, our preferred one.
    const current = this.#assignors.find((a) => a.name === this.protocol) ?? this.#assignors[0]
    const cooperative = current?.cooperative === true
    if (!cooperative && this.#owned.length > 0) {
      // Eager protocol: give everything back before joining.
      await this.#opts.onRevoked?.(this.#owned)
      this.#owned = []
    }
    const conn = await this.#cluster.coordinatorConnection(groupId)
    const ownedByTopic: Record<string, number[]> = {}
    for (const tp of this.#owned) ownedByTopic[tp.topic] = [...(ownedByTopic[tp.topic] ?? []), tp.partition]
    const metadata = encodeSubscription(this.#opts.topics, ownedByTopic)
    let join: JoinGroupResponse
    for (;;) {
      join = await conn.send<JoinGroupResponse>(
        ApiKey.JoinGroup,
        () =>
          createJoinGroupRequest({
            groupId,
            sessionTimeoutMs: this.#opts.sessionTimeoutMs,
            rebalanceTimeoutMs: this.#opts.rebalanceTimeoutMs,
            memberId: this.memberId,
            protocolType: 'consumer',
            protocols: this.#assignors.map((a) => createJoinGroupRequestProtocol({ name: a.name, metadata })),
          }),
        { timeoutMs: this.#opts.rebalanceTimeoutMs + 5000 },
      )
      if (join.errorCode === E.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId
        continue
      }
      if (join.errorCode !== 0) throw new KafkaError(join.errorCode, null, groupId)
      break
    }
    this.memberId = join.memberId
    this.generationId = join.generationId
    this.protocol = join.protocolName
    this.leader = join.leader
    const assignor = this.#assignors.find((a) => a.name === join.protocolName) ?? this.#assignors[0]
    const assignments =
      join.leader === join.memberId && !join.skipAssignment ? await this.#lead(join, assignor as Assignor) : []
    const sync = await conn.send<SyncGroupResponse>(
      ApiKey.SyncGroup,
      (v) =>
        createSyncGroupRequest({
          groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          ...(v >= 5 ? { protocolType: 'consumer', protocolName: join.protocolName } : {}),
          assignments,
        }),
      { timeoutMs: this.#opts.rebalanceTimeoutMs + 5000 },
    )
    if (sync.errorCode !== 0) throw new KafkaError(sync.errorCode, null, groupId)
    const assigned = flatten(decodeAssignment(sync.assignment))
    const assignedKeys = new Set(assigned.map(key))
    const ownedKeys = new Set(this.#owned.map(key))
    const revoked = this.#owned.filter((tp) => !assignedKeys.has(key(tp)))
    const added = assigned.filter((tp) => !ownedKeys.has(key(tp)))
    if (revoked.length > 0) await this.#opts.onRevoked?.(revoked)
    this.#owned = assigned
    this.#needsJoin = false
    if (added.length > 0) await this.#opts.onAssigned?.(added)
    // Cooperative: partitions given up must be released to their new owner in one more round.
    if (revoked.length > 0 && assignor?.cooperative) this.#needsJoin = true
  }

  async #lead(
    join: JoinGroupResponse,
    assignor: Assignor,
  ): Promise<ReturnType<typeof createSyncGroupRequestAssignment>[]> {
    const members = join.members.map((m) => {
      const sub = decodeSubscription(m.metadata)
      return { memberId: m.memberId, topics: sub.topics, owned: sub.owned, generationId: sub.generationId }
    })
    const topics = [...new Set(members.flatMap((m) => m.topics))]
    const counts = new Map<string, number>()
    const res = await this.#cluster.refreshMetadata(topics)
    for (const t of res.topics) if (t.name && t.errorCode === 0) counts.set(t.name, t.partitions.length)
    const result = assignor.assign(members, counts)
    return members.map((m) =>
      createSyncGroupRequestAssignment({
        memberId: m.memberId,
        assignment: encodeAssignment(result.get(m.memberId) ?? {}),
      }),
    )
  }

  #startHeartbeat(): void {
    if (this.#heartbeat || this.#closed) return
    this.#heartbeat = setInterval(() => void this.#beat(), this.#opts.heartbeatIntervalMs)
    this.#heartbeat.unref()
  }

  async #beat(): Promise<void> {
    if (this.#heartbeatBusy || this.#needsJoin || this.#closed) return
    this.#heartbeatBusy = true
    try {
      const conn = await this.#cluster.coordinatorConnection(this.#opts.groupId)
      const res = await conn.send<HeartbeatResponse>(ApiKey.Heartbeat, () =>
        createHeartbeatRequest({
          groupId: this.#opts.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
        }),
      )
      if (res.errorCode === E.UNKNOWN_MEMBER_ID) {
        this.memberId = ''
        this.generationId = -1
        this.#lose()
      } else if (res.errorCode === E.NOT_COORDINATOR || res.errorCode === E.COORDINATOR_NOT_AVAILABLE) {
        this.#cluster.invalidateCoordinator(this.#opts.groupId)
      } else if (res.errorCode !== 0) {
        this.#needsJoin = true
      }
    } catch {
      this.#cluster.invalidateCoordinator(this.#opts.groupId)
    } finally {
      this.#heartbeatBusy = false
    }
  }

  /** The member was expelled: its partitions are lost (not revoked; others may own them already). */
  #lose(): void {
    this.#owned = []
    this.#needsJoin = true
  }

  /** Marks the member for rejoining (e.g. after a commit failed with REBALANCE_IN_PROGRESS). */
  requestRejoin(): void {
    this.#needsJoin = true
  }

  /** Leaves the group (after revoking), stopping heartbeats. */
  async leave(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#heartbeat) clearInterval(this.#heartbeat)
    if (this.#owned.length > 0) await this.#opts.onRevoked?.(this.#owned).catch(() => undefined)
    this.#owned = []
    if (this.memberId === '') return
    try {
      const conn = await this.#cluster.coordinatorConnection(this.#opts.groupId)
      await conn.send<LeaveGroupResponse>(ApiKey.LeaveGroup, (v) =>
        v >= 3
          ? createLeaveGroupRequest({
              groupId: this.#opts.groupId,
              members: [
                createMemberIdentity({ memberId: this.memberId, ...(v >= 5 ? { reason: 'consumer closed' } : {}) }),
              ],
            })
          : createLeaveGroupRequest({ groupId: this.#opts.groupId, memberId: this.memberId }),
      )
    } catch {
      // Leaving is best effort: the session timeout removes the member anyway.
    }
  }
}

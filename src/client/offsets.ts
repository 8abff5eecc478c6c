/**
 * Offset look-ups shared by the consumer and the admin: log offsets by timestamp (ListOffsets,
 * routed to each partition's leader) and a group's committed offsets (OffsetFetch/OffsetCommit,
 * routed to the group coordinator).
 */
import { ApiKey } from '../protocol/generated/index.ts'
import {
  createListOffsetsPartition,
  createListOffsetsRequest,
  createListOffsetsTopic,
  type ListOffsetsResponse,
} from '../protocol/generated/list-offsets.ts'
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
  type OffsetCommitResponse,
} from '../protocol/generated/offset-commit.ts'
import {
  createOffsetFetchRequest,
  createOffsetFetchRequestGroup,
  createOffsetFetchRequestTopic,
  createOffsetFetchRequestTopics,
  type OffsetFetchResponse,
} from '../protocol/generated/offset-fetch.ts'
import type { Cluster } from './cluster.ts'
import { KafkaError } from './errors.ts'
import { withRetry } from './retry.ts'

/** ListOffsets timestamp meaning "the log end offset". */
export const LATEST = -1n
/** ListOffsets timestamp meaning "the log start offset". */
export const EARLIEST = -2n

/** A topic partition. */
export interface TopicPartition {
  topic: string
  partition: number
}

/** A topic partition with an offset. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint
}

/** `topic/partition`, the key used in maps. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}/${partition}`
}

function groupByTopic<T extends TopicPartition>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const it of items) {
    const list = m.get(it.topic) ?? []
    list.push(it)
    m.set(it.topic, list)
  }
  return m
}

/**
 * The offset of the first record with a timestamp >= `timestamp` per partition (EARLIEST/LATEST
 * for the log bounds). A partition with no such record gets -1n (Kafka's answer), which callers
 * usually map to the log end.
 */
export async function listOffsets(
  cluster: Cluster,
  partitions: readonly TopicPartition[],
  timestamp: bigint,
  /** 1 (read_committed, ListOffsets v2+): the latest offset is the last stable one. */
  isolationLevel: 0 | 1 = 0,
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>()
  if (partitions.length === 0) return out
  await withRetry(
    async () => {
      const byLeader = new Map<number, TopicPartition[]>()
      for (const tp of partitions) {
        if (out.has(tpKey(tp.topic, tp.partition))) continue
        const leader = await cluster.leader(tp.topic, tp.partition)
        const list = byLeader.get(leader) ?? []
        list.push(tp)
        byLeader.set(leader, list)
      }
      await Promise.all(
        [...byLeader].map(async ([leader, tps]) => {
          const conn = await cluster.connection(leader)
          const res = await conn.send<ListOffsetsResponse>(ApiKey.ListOffsets, (version) =>
            createListOffsetsRequest({
              replicaId: -1,
              isolationLevel: version >= 2 ? isolationLevel : 0,
              topics: [...groupByTopic(tps)].map(([name, list]) =>
                createListOffsetsTopic({
                  name,
                  partitions: list.map((tp) => createListOffsetsPartition({ partitionIndex: tp.partition, timestamp })),
                }),
              ),
            }),
          )
          for (const t of res.topics) {
            for (const p of t.partitions) {
              if (p.errorCode !== 0) throw new KafkaError(p.errorCode, null, `${t.name}/${p.partitionIndex}`)
              out.set(tpKey(t.name, p.partitionIndex), p.offset)
            }
          }
        }),
      )
    },
    {
      retries: cluster.retries,
      onRetry: () => cluster.refreshMetadata([...new Set(partitions.map((p) => p.topic))]).then(() => undefined),
    },
  )
  return out
}

/** A committed offset (-1n when the group has none for the partition). */
export interface CommittedOffset extends TopicPartitionOffset {
  metadata: string | null
}

/** The committed offsets of a group, for the given partitions or (null) all it has. */
export async function fetchCommitted(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[] | null,
): Promise<CommittedOffset[]> {
  return withRetry(
    async () => {
      const conn = await cluster.coordinatorConnection(groupId)
      let version = 0
      const topics = partitions === null ? null : [...groupByTopic(partitions)]
      const res = await conn.send<OffsetFetchResponse>(ApiKey.OffsetFetch, (v) => {
        version = v
        if (v >= 8) {
          return createOffsetFetchRequest({
            groups: [
              createOffsetFetchRequestGroup({
                groupId,
                topics:
                  topics?.map(([name, l]) =>
                    createOffsetFetchRequestTopics({ name, partitionIndexes: l.map((tp) => tp.partition) }),
                  ) ?? null,
              }),
            ],
          })
        }
        return createOffsetFetchRequest({
          groupId,
          topics:
            topics?.map(([name, l]) =>
              createOffsetFetchRequestTopic({ name, partitionIndexes: l.map((tp) => tp.partition) }),
            ) ?? null,
        })
      })
      const out: CommittedOffset[] = []
      const groupError = version >= 8 ? (res.groups[0]?.errorCode ?? 0) : res.errorCode
      if (groupError !== 0) {
        if (groupError === 16 || groupError === 15) cluster.invalidateCoordinator(groupId)
        throw new KafkaError(groupError, null, groupId)
      }
      const list = version >= 8 ? (res.groups[0]?.topics ?? []) : res.topics
      for (const t of list) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) throw new KafkaError(p.errorCode, null, `${t.name}/${p.partitionIndex}`)
          out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata })
        }
      }
      return out
    },
    { retries: cluster.retries },
  )
}

/** Generation and member of a committing consumer; the defaults commit as an admin (empty group). */
export interface CommitIdentity {
  generationId?: number
  memberId?: string
}

/** Commits offsets for a group; throws the first per-partition error. */
export async function commitOffsets(
  cluster: Cluster,
  groupId: string,
  offsets: readonly TopicPartitionOffset[],
  identity: CommitIdentity = {},
): Promise<void> {
  if (offsets.length === 0) return
  await withRetry(
    async () => {
      const conn = await cluster.coordinatorConnection(groupId)
      const res = await conn.send<OffsetCommitResponse>(ApiKey.OffsetCommit, () =>
        createOffsetCommitRequest({
          groupId,
          generationIdOrMemberEpoch: identity.generationId ?? -1,
          memberId: identity.memberId ?? '',
          retentionTimeMs: -1n,
          topics: [...groupByTopic(offsets)].map(([name, list]) =>
            createOffsetCommitRequestTopic({
              name,
              partitions: list.map((o) =>
                createOffsetCommitRequestPartition({
                  partitionIndex: o.partition,
                  committedOffset: o.offset,
                }),
              ),
            }),
          ),
        }),
      )
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === 16 || p.errorCode === 15) cluster.invalidateCoordinator(groupId)
          if (p.errorCode !== 0) throw new KafkaError(p.errorCode, null, `${groupId} ${t.name}/${p.partitionIndex}`)
        }
      }
    },
    { retries: cluster.retries },
  )
}

/**
 * Reading a test broker's state for assertions, without a consumer: decoded records, committed
 * offsets, consumer groups with their assignments, and transactions. Everything comes from the
 * broker's own in-process state, so it is exact at the moment of the call.
 */
import type { BrokerCore } from '../broker/broker-core.ts'
import type { ClassicGroup } from '../coordinator/group/classic-group.ts'
import type { ConsumerGroup, ConsumerMember } from '../coordinator/group/consumer-group.ts'
import type { ShareGroup, ShareMember } from '../coordinator/share/share-group.ts'
import type { StreamsGroup } from '../coordinator/streams/streams-group.ts'
import { ErrorCode } from '../protocol/error-codes.ts'
import { decodeBatches, recordOffset, recordTimestamp } from '../protocol/records/batch.ts'

/** A record header: key, and value (null when the header has none). */
export type RecordHeader = [key: string, value: Buffer | null]

/** One record as stored, decoded. */
export interface DecodedRecord {
  topic: string
  partition: number
  offset: number
  timestamp: number
  key: Buffer | null
  value: Buffer | null
  /** In the order the producer wrote them; a key may repeat, as Kafka allows. */
  headers: RecordHeader[]
  /** The producer id of its batch (-1 for a plain producer) and whether it was written in a transaction. */
  producerId: number
  transactional: boolean
}

export interface ReadRecordsOptions {
  /** Only this partition (default: all, in partition order). */
  partition?: number
  /** Start at this offset (default: the log start). */
  fromOffset?: number
  /**
   * read_committed stops at the last stable offset and leaves out aborted transactions, as a
   * consumer with that isolation level would; read_uncommitted (the default) returns every record.
   */
  isolation?: 'read_committed' | 'read_uncommitted'
}

/**
 * The value of the last header named `key` (as Kafka's Headers.lastHeader), null for a header
 * without a value, undefined when the record has none of that name.
 */
export function lastHeader(record: { headers: readonly RecordHeader[] }, key: string): Buffer | null | undefined {
  return record.headers.findLast(([k]) => k === key)?.[1]
}

const READ_CHUNK_BYTES = 16 * 1024 * 1024

/** Decodes the records of a topic (control records of transactions left out). */
export async function readRecords(
  core: BrokerCore,
  topic: string,
  options: ReadRecordsOptions = {},
): Promise<DecodedRecord[]> {
  const meta = core.topics.get(topic)
  if (meta === undefined) throw new Error(`readRecords: topic "${topic}" does not exist`)
  const partitions =
    options.partition === undefined ? [...Array(meta.partitionCount).keys()] : [checkPartition(meta, options.partition)]
  const out: DecodedRecord[] = []
  for (const partition of partitions) out.push(...(await readPartition(core, topic, partition, options)))
  return out
}

function checkPartition(meta: { name: string; partitionCount: number }, partition: number): number {
  if (partition < 0 || partition >= meta.partitionCount) {
    throw new Error(`topic "${meta.name}" has ${meta.partitionCount} partitions, there is no partition ${partition}`)
  }
  return partition
}

async function readPartition(
  core: BrokerCore,
  topic: string,
  partition: number,
  options: ReadRecordsOptions,
): Promise<DecodedRecord[]> {
  const committed = options.isolation === 'read_committed'
  const offsets = await core.storage.offsets(topic, partition)
  const end = committed
    ? core.producers.lastStableOffset(topic, partition, offsets.highWatermark)
    : offsets.highWatermark
  let offset = Math.max(options.fromOffset ?? 0, offsets.logStartOffset)
  const aborted = committed ? core.producers.abortedTransactions(topic, partition, offset, end) : []
  const out: DecodedRecord[] = []
  while (offset < end) {
    const read = await core.storage.read(topic, partition, offset, READ_CHUNK_BYTES, {
      minOneBatch: true,
      maxOffset: end,
    })
    if (read.errorCode !== ErrorCode.NONE) {
      throw new Error(`reading ${topic}-${partition} at offset ${offset} failed with error code ${read.errorCode}`)
    }
    if (read.records.length === 0) break
    const batches = await decodeBatches(read.records)
    for (const batch of batches) {
      const pid = Number(batch.producerId)
      for (const record of batch.records) {
        const at = Number(recordOffset(batch, record))
        if (at < offset || at >= end || batch.isControl) continue
        if (
          batch.isTransactional &&
          aborted.some((a) => a.producerId === pid && at >= a.firstOffset && at <= a.lastOffset)
        ) {
          continue
        }
        out.push({
          topic,
          partition,
          offset: at,
          timestamp: Number(recordTimestamp(batch, record)),
          key: record.key,
          value: record.value,
          headers: record.headers.map((h): RecordHeader => [h.key, h.value]),
          producerId: pid,
          transactional: batch.isTransactional,
        })
      }
      offset = Math.max(offset, Number(batch.baseOffset) + batch.lastOffsetDelta + 1)
    }
  }
  return out
}

/** A group member and the partitions it owns, by topic name. */
export interface MemberInfo {
  memberId: string
  clientId: string
  clientHost: string
  groupInstanceId: string | null
  assignment: Record<string, number[]>
}

/** A consumer group as the coordinator holds it. */
export interface GroupInfo {
  groupId: string
  /** 'classic' (JoinGroup/SyncGroup), 'consumer' (KIP-848), 'share' (KIP-932) or 'streams' (KIP-1071). */
  type: 'classic' | 'consumer' | 'share' | 'streams'
  state: string
  /** Classic: the protocol type ('consumer' for consumers); KIP-848: 'consumer'. */
  protocolType: string | null
  /** Classic: the chosen assignor (range, roundrobin...); KIP-848: null. */
  protocol: string | null
  /** Classic: the generation id; KIP-848: the group epoch. */
  generation: number
  members: MemberInfo[]
}

/** The group, or undefined if the coordinator does not know it. */
export function describeGroup(core: BrokerCore, groupId: string): GroupInfo | undefined {
  const g = core.groups.group(groupId)
  if (g === undefined) return undefined
  if (g.type === 'streams') return streamsInfo(g)
  return g.type === 'classic' ? classicInfo(g) : modernInfo(core, g)
}

/** A KIP-1071 streams group: each member's assignment is the input partitions of its active tasks. */
function streamsInfo(g: StreamsGroup): GroupInfo {
  return {
    groupId: g.groupId,
    type: 'streams',
    state: g.state,
    protocolType: 'streams',
    protocol: null,
    generation: g.groupEpoch,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      groupInstanceId: m.instanceId,
      assignment: Object.fromEntries(g.inputPartitions([m.assigned.active]).map((t) => [t.topic, t.partitions])),
    })),
  }
}

function classicInfo(g: ClassicGroup): GroupInfo {
  return {
    groupId: g.groupId,
    type: 'classic',
    state: g.state,
    protocolType: g.protocolType,
    protocol: g.protocolName,
    generation: g.generationId,
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      groupInstanceId: m.groupInstanceId,
      assignment: g.protocolType === 'consumer' ? decodeConsumerAssignment(m.assignment) : {},
    })),
  }
}

/** A KIP-848 consumer group or a KIP-932 share group: members with server-side assignments. */
function modernInfo(core: BrokerCore, g: ConsumerGroup | ShareGroup): GroupInfo {
  const members: (ConsumerMember | ShareMember)[] = [...g.members.values()]
  return {
    groupId: g.groupId,
    type: g.type,
    state: g.state,
    protocolType: g.type,
    protocol: null,
    generation: g.groupEpoch,
    members: members.map((m) => {
      const assignment: Record<string, number[]> = {}
      for (const [topicId, partitions] of m.assigned) {
        const name = core.topics.getById(topicId)?.name ?? topicId
        assignment[name] = [...partitions].sort((a, b) => a - b)
      }
      return {
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        groupInstanceId: 'instanceId' in m ? m.instanceId : null,
        assignment,
      }
    }),
  }
}

/**
 * The partitions in a classic consumer's assignment (ConsumerProtocolAssignment: version,
 * [topic, [partition]], user data); an undecodable one reads as empty.
 */
export function decodeConsumerAssignment(buf: Buffer): Record<string, number[]> {
  const out: Record<string, number[]> = {}
  try {
    let p = 2
    const topics = buf.readInt32BE(p)
    p += 4
    for (let i = 0; i < topics; i++) {
      const len = buf.readInt16BE(p)
      p += 2
      const name = buf.toString('utf8', p, p + len)
      p += len
      const count = buf.readInt32BE(p)
      p += 4
      const partitions: number[] = []
      for (let j = 0; j < count; j++, p += 4) partitions.push(buf.readInt32BE(p))
      out[name] = partitions.sort((a, b) => a - b)
    }
  } catch {
    return {}
  }
  return out
}

/** One committed offset. */
export interface CommittedOffsetInfo {
  topic: string
  partition: number
  offset: number
  metadata: string
  leaderEpoch: number
}

/** Every offset a group has committed, by topic then partition. */
export function committedOffsets(core: BrokerCore, groupId: string): CommittedOffsetInfo[] {
  const out: CommittedOffsetInfo[] = []
  for (const [topic, partitions] of core.groups.offsets.all(groupId)) {
    for (const [partition, o] of partitions) {
      out.push({ topic, partition, offset: Number(o.offset), metadata: o.metadata, leaderEpoch: o.leaderEpoch })
    }
  }
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
}

/** A transactional id's coordinator state. */
export interface TransactionInfo {
  transactionalId: string
  /** Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, ... */
  state: string
  producerId: number
  producerEpoch: number
  timeoutMs: number
  /** Partitions in the open transaction, by topic. */
  partitions: Record<string, number[]>
  /** Groups whose offsets the open transaction commits. */
  groups: string[]
}

export function describeTransaction(core: BrokerCore, transactionalId: string): TransactionInfo | undefined {
  const t = core.txns.get(transactionalId)
  if (t === undefined) return undefined
  const partitions: Record<string, number[]> = {}
  for (const [topic, ps] of t.partitions) partitions[topic] = [...ps].sort((a, b) => a - b)
  return {
    transactionalId,
    state: t.state,
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    timeoutMs: t.timeoutMs,
    partitions,
    groups: [...t.groups.keys()],
  }
}

/**
 * The "consumer" embedded protocol: subscription and assignment bytes carried opaquely by
 * JoinGroup/SyncGroup, each an int16 version followed by the versioned body.
 */
import {
  createTopicPartition as createAssignedTopic,
  createConsumerProtocolAssignment,
  decodeConsumerProtocolAssignment,
  encodeConsumerProtocolAssignment,
} from '../../protocol/generated/consumer-protocol-assignment.ts'
import {
  createConsumerProtocolSubscription,
  createTopicPartition as createOwnedTopic,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolSubscription,
} from '../../protocol/generated/consumer-protocol-subscription.ts'
import { Reader } from '../../protocol/wire/reader.ts'
import { Writer } from '../../protocol/wire/writer.ts'

/** Version 1 adds owned partitions, which cooperative rebalancing needs. */
const SUBSCRIPTION_VERSION = 1
const ASSIGNMENT_VERSION = 0

/** Encodes a subscription with the partitions the member owns. */
export function encodeSubscription(topics: string[], owned: Record<string, number[]>): Buffer {
  const w = new Writer()
  w.writeInt16(SUBSCRIPTION_VERSION)
  encodeConsumerProtocolSubscription(
    w,
    SUBSCRIPTION_VERSION,
    createConsumerProtocolSubscription({
      topics,
      userData: null,
      ownedPartitions: Object.entries(owned).map(([topic, partitions]) => createOwnedTopic({ topic, partitions })),
    }),
  )
  return w.toBuffer()
}

/** Decodes any member's subscription (versions newer than ours read as far as we know). */
export function decodeSubscription(buf: Buffer): {
  topics: string[]
  owned: Record<string, number[]>
  generationId: number
} {
  const r = new Reader(buf)
  const version = r.readInt16()
  const s = decodeConsumerProtocolSubscription(r, Math.min(Math.max(version, 0), 3))
  const owned: Record<string, number[]> = {}
  for (const tp of s.ownedPartitions) owned[tp.topic] = tp.partitions
  return { topics: s.topics, owned, generationId: s.generationId }
}

/** Encodes an assignment. */
export function encodeAssignment(assignment: Record<string, number[]>): Buffer {
  const w = new Writer()
  w.writeInt16(ASSIGNMENT_VERSION)
  encodeConsumerProtocolAssignment(
    w,
    ASSIGNMENT_VERSION,
    createConsumerProtocolAssignment({
      assignedPartitions: Object.entries(assignment).map(([topic, partitions]) =>
        createAssignedTopic({ topic, partitions }),
      ),
      userData: null,
    }),
  )
  return w.toBuffer()
}

/** Decodes an assignment; an empty buffer (no assignment) gives no partitions. */
export function decodeAssignment(buf: Buffer): Record<string, number[]> {
  const out: Record<string, number[]> = {}
  if (buf.length === 0) return out
  const r = new Reader(buf)
  const version = r.readInt16()
  const a = decodeConsumerProtocolAssignment(r, Math.min(Math.max(version, 0), 3))
  for (const tp of a.assignedPartitions) out[tp.topic] = [...(out[tp.topic] ?? []), ...tp.partitions]
  return out
}

/**
 * Kafka keeps each group in one partition of its __consumer_offsets topic, and a transaction that
 * committed offsets for a group ends there with a marker written to that partition. samsa keeps
 * offsets as records in the store, not in a topic, but names the same partition in the
 * WriteTxnMarkers entry that ends a transaction's offsets at a group's coordinator.
 */

/** Kafka's internal topic of group offsets. */
export const OFFSETS_TOPIC = '__consumer_offsets'

/** Its partition count, Kafka's offsets.topic.num.partitions default. */
export const OFFSETS_TOPIC_PARTITIONS = 50

/** The partition of __consumer_offsets Kafka keeps a group in: abs(groupId.hashCode()) % 50. */
export function offsetsPartitionOf(groupId: string): number {
  let hash = 0
  for (let i = 0; i < groupId.length; i++) hash = (Math.imul(hash, 31) + groupId.charCodeAt(i)) | 0
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
  const abs = hash === -2147483648 ? 0 : Math.abs(hash)
  return abs % OFFSETS_TOPIC_PARTITIONS
}

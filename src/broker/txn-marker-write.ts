/**
 * One transaction marker written into a partition by its leader: what WriteTxnMarkers does for
 * each partition it names, and what the transaction coordinator does directly for the
 * partitions its own process leads. Kafka's checks come first (a marker of an epoch older than
 * the producer's current one is INVALID_PRODUCER_EPOCH, one from an older coordinator epoch
 * than the last marker's TRANSACTION_COORDINATOR_FENCED), then the durable append with this
 * broker's leader epoch, which the storage fences if another broker claimed the partition since.
 * Writing a marker twice is harmless: the second ends nothing.
 */
import { ErrorCode } from '../protocol/error-codes.ts'
import { kafkaErrorCodeOf } from '../storage/storage-error.ts'
import type { BrokerCore } from './broker-core.ts'

/** A transaction's outcome for one partition. */
export interface PartitionMarker {
  topic: string
  partition: number
  producerId: number
  producerEpoch: number
  commit: boolean
  coordinatorEpoch: number
}

/**
 * Writes the marker if node `nodeId` (of this process) leads the partition: NONE once durable,
 * else UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (also when the partition moved while
 * the append was in doubt), the fencing errors above, or the storage's error.
 */
export async function writeMarkerAsLeader(core: BrokerCore, nodeId: number, m: PartitionMarker): Promise<number> {
  const { topic, partition } = m
  if (!core.topics.hasPartition(topic, partition)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  if (core.cluster.leaderOf(topic, partition) !== nodeId || !core.leadership.leads(topic, partition)) {
    return ErrorCode.NOT_LEADER_OR_FOLLOWER
  }
  const known = core.producers.peek(topic, partition)?.producers.get(m.producerId)
  if (known !== undefined && m.producerEpoch < known.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH
  if (known !== undefined && m.coordinatorEpoch < known.coordinatorEpoch) {
    return ErrorCode.TRANSACTION_COORDINATOR_FENCED
  }
  const write = core.producers.writeMarker(
    topic,
    partition,
    m.producerId,
    m.producerEpoch,
    m.commit,
    m.coordinatorEpoch,
  )
  try {
    await core.leadership.whileLeading(topic, partition, write)
    return ErrorCode.NONE
  } catch (err) {
    const errorCode = kafkaErrorCodeOf(err)
    if (errorCode === ErrorCode.FENCED_LEADER_EPOCH) {
      core.leadership.fenced(topic, partition)
      return ErrorCode.NOT_LEADER_OR_FOLLOWER
    }
    core.log.error({ err, topic, partition }, 'writing a transaction marker failed')
    return errorCode
  }
}

/**
 * Partition choice compatible with the Java producer's default: a keyed record goes to
 * toPositive(murmur2(key)) % partitions; records without a key stick to one partition until its
 * batch is sent, then move on (KIP-480 sticky partitioning), which fills batches faster than
 * round robin.
 */
import { murmur2, toPositive } from './murmur2.ts'

/** Chooses a partition for a record. */
export type Partitioner = (topic: string, key: Buffer | null | undefined, partitionCount: number) => number

/** The partition the Java client picks for a key. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount
}

/** The default partitioner: murmur2 for keys, sticky for records without one. */
export class DefaultPartitioner {
  readonly #sticky = new Map<string, number>()

  /** Picks the partition of a record. */
  partition(topic: string, key: Buffer | null | undefined, partitionCount: number): number {
    if (key !== null && key !== undefined) return partitionForKey(key, partitionCount)
    let p = this.#sticky.get(topic)
    if (p === undefined || p >= partitionCount) {
      p = Math.floor(Math.random() * partitionCount)
      this.#sticky.set(topic, p)
    }
    return p
  }

  /** Called when the batch of the sticky partition was sent: the next unkeyed records move on. */
  batchSent(topic: string, partition: number, partitionCount: number): void {
    if (partitionCount > 1 && this.#sticky.get(topic) === partition) {
      this.#sticky.set(topic, (partition + 1 + Math.floor(Math.random() * (partitionCount - 1))) % partitionCount)
    }
  }
}

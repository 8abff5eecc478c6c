/**
 * Kafka's on-disk naming: a directory `<topic>-<partition>` per partition, segment files named by
 * their base offset in 20 digits (`00000000000000000000.log`, `.index`, `.timeindex`), and a
 * `-delete` suffix for partition directories waiting to be removed.
 */

/** Extensions of a segment's files. */
export const LOG_SUFFIX = '.log'
export const INDEX_SUFFIX = '.index'
export const TIME_INDEX_SUFFIX = '.timeindex'
/**
 * Written in the data directory by a clean stop, after every log was synced and its indexes
 * written; removed on open before anything new is written (Kafka's `.kafka_cleanshutdown`).
 */
export const CLEAN_SHUTDOWN_FILE = '.samsa_cleanshutdown'
/**
 * Locked by the broker that has the data directory open (Kafka's `.lock`); holds its pid and host
 * name, so that a broker refused the lock can say who holds it.
 */
export const LOCK_FILE = '.lock'
/** Suffix of a partition directory renamed for asynchronous deletion. */
export const DELETE_SUFFIX = '-delete'

/** `<topic>-<partition>`. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`
}

/** Topic and partition of a partition directory name, or null for any other name. */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const match = /^(.+)-(\d{1,9})$/.exec(name)
  if (match === null) return null
  return { topic: match[1] as string, partition: Number(match[2]) }
}

/** A segment file name: the base offset in 20 digits plus the suffix. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`
}

/** Base offset of a `.log` file name, or null for any other name. */
export function parseLogFileName(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name)
  return match === null ? null : Number(match[1])
}

/**
 * The Java client's "txns" scenario (test/java JavaClient): three transactions (commit 5 records
 * with offset 5 of partition 0 for a group, abort 3, commit 4), a zombie fenced by a successor
 * that commits one record, and what a read_committed consumer reads; with the checks every
 * transaction version shares.
 */
import assert from 'node:assert/strict'

/** What the scenario printed. */
export interface JavaTransactions {
  /** DescribeTransactions' producer epoch after initTransactions and after each end. */
  epochs: number[]
  /** The epochs DescribeProducers reports on the topic's partitions at the end. */
  partitionEpochs: number[]
  /** The exception the zombie got. */
  fenced: string
  groupOffset: number
  read: string[]
}

const COMMITTED = [
  ...Array.from({ length: 5 }, (_, i) => `commit-1-${i}`),
  ...Array.from({ length: 4 }, (_, i) => `commit-3-${i}`),
  'successor-0',
].sort()

/** The zombie is fenced, the group's offset is committed, read_committed reads exactly the committed records. */
export function assertTransactionsOutcome(seen: JavaTransactions): void {
  assert.ok(['ProducerFencedException', 'InvalidProducerEpochException'].includes(seen.fenced), seen.fenced)
  assert.equal(seen.groupOffset, 5)
  assert.deepEqual(seen.read, COMMITTED)
}

/** Transaction version 2: every end bumped the epoch, and the markers carry the bumped epochs. */
export function assertEpochBumps(seen: JavaTransactions): void {
  const [e0 = -1, ...rest] = seen.epochs
  assert.deepEqual(rest, [e0 + 1, e0 + 2, e0 + 3], 'each end bumps the epoch')
  assert.ok(seen.partitionEpochs.length > 0)
  assert.ok(
    seen.partitionEpochs.every((e) => e > e0 && e <= e0 + 3),
    `markers' epochs ${seen.partitionEpochs}`,
  )
  assert.equal(Math.max(...seen.partitionEpochs), e0 + 3)
}

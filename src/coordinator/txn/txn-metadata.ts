/**
 * A transactional id's coordinator state, as Kafka's TransactionMetadata: producer id and epoch
 * (and the previous pair, for KIP-360 retries), the transaction's state, partitions, consumer
 * groups (whose coordinators hold the transaction's pending offsets), and timestamps. Stored as JSON in the
 * key-value store, namespace `txn-state`, one key per transactional id.
 */

/** Transaction states, named as DescribeTransactions / ListTransactions report them. */
export const TxnState = {
  EMPTY: 'Empty',
  ONGOING: 'Ongoing',
  PREPARE_COMMIT: 'PrepareCommit',
  PREPARE_ABORT: 'PrepareAbort',
  COMPLETE_COMMIT: 'CompleteCommit',
  COMPLETE_ABORT: 'CompleteAbort',
  DEAD: 'Dead',
  PREPARE_EPOCH_FENCE: 'PrepareEpochFence',
} as const
export type TxnStateName = (typeof TxnState)[keyof typeof TxnState]

export const ALL_TXN_STATES: readonly string[] = Object.values(TxnState)

export interface TxnMetadata {
  transactionalId: string
  producerId: number
  /** The producer id before the last change (epoch exhaustion), -1 if none. */
  lastProducerId: number
  producerEpoch: number
  /** The epoch before the last bump, -1 if none (a retried InitProducerId / EndTxn matches it). */
  lastProducerEpoch: number
  /**
   * While a transaction version 2 end that exhausted the epoch is prepared: the producer id the
   * producer gets once it completes (markers still carry the old id); else -1.
   */
  nextProducerId: number
  /** The transaction version of the client's last request that changed the state (0 or 2, as Kafka records it). */
  clientTxnVersion: number
  timeoutMs: number
  state: TxnStateName
  /** Partitions in the transaction, by topic. */
  partitions: Map<string, Set<number>>
  /** Groups added with AddOffsetsToTxn: their coordinators hear how the transaction ends. */
  groups: Set<string>
  /** When the transaction started (first AddPartitions/AddOffsets), -1 when none is open. */
  startTimeMs: number
  updateTimeMs: number
}

interface StoredTxn {
  pid: number
  lpid: number
  epoch: number
  lepoch: number
  /** Absent in records written before transaction version 2. */
  next?: number
  tv?: number
  timeout: number
  state: TxnStateName
  parts: [string, number[]][]
  /** Records written while the offsets were kept here hold [group, offsets] pairs. */
  groups: (string | [string, unknown])[]
  start: number
  update: number
}

/** Serializes for the key-value store. */
export function encodeTxn(t: TxnMetadata): Buffer {
  const stored: StoredTxn = {
    pid: t.producerId,
    lpid: t.lastProducerId,
    epoch: t.producerEpoch,
    lepoch: t.lastProducerEpoch,
    next: t.nextProducerId,
    tv: t.clientTxnVersion,
    timeout: t.timeoutMs,
    state: t.state,
    parts: [...t.partitions].map(([topic, ps]) => [topic, [...ps]]),
    groups: [...t.groups],
    start: t.startTimeMs,
    update: t.updateTimeMs,
  }
  return Buffer.from(JSON.stringify(stored))
}

/** Reads back what encodeTxn wrote. */
export function decodeTxn(transactionalId: string, buf: Buffer): TxnMetadata {
  const s = JSON.parse(buf.toString()) as StoredTxn
  return {
    transactionalId,
    producerId: s.pid,
    lastProducerId: s.lpid,
    producerEpoch: s.epoch,
    lastProducerEpoch: s.lepoch,
    nextProducerId: s.next ?? -1,
    clientTxnVersion: s.tv ?? 0,
    timeoutMs: s.timeout,
    state: s.state,
    partitions: new Map(s.parts.map(([topic, ps]) => [topic, new Set(ps)])),
    groups: new Set(s.groups.map((g) => (typeof g === 'string' ? g : g[0]))),
    startTimeMs: s.start,
    updateTimeMs: s.update,
  }
}

/** Kafka's largest usable epoch: Short.MAX_VALUE - 1 leaves room for one fencing bump. */
export const MAX_EPOCH = 32766
/** The epoch a fencing bump or a transaction version 2 end may reach, never returned to a client. */
export const FENCE_EPOCH = 32767

/**
 * How the transaction coordinator's markers reach the brokers that must write them, as Kafka's
 * TransactionMarkerChannelManager: a partition's marker is written by its leader, and the end of
 * a transaction's offsets for a group by the group's coordinator. Where this process is that
 * broker the write is direct; elsewhere the marker goes in a WriteTxnMarkers request to the
 * broker the cluster view names (over peer-connections.ts). Markers asked for in the same turn of
 * the event loop travel in one request per broker.
 *
 * Every error is retried, after the view changes or a short backoff, until it is written or
 * MARKER_RETRY_MS have passed; the coordinator then keeps the transaction prepared and tries
 * again later. Writing a marker twice is harmless, so a retry after an answer lost in a
 * connection failure changes nothing. A group's end is sent as Kafka sends it, a marker for the
 * group's partition of __consumer_offsets (which ends the producer's transaction in every group
 * of that partition the receiving coordinator holds); since that answer cannot tell a group it
 * holds from one it does not, the group's offsets record is read back from storage and a
 * transaction still pending there is retried.
 */
import { OFFSETS_TOPIC, offsetsPartitionOf } from '../coordinator/group/offsets-partition.ts'
import type { TxnMarkerWriter } from '../coordinator/txn/txn-coordinator.ts'
import { ErrorCode, errorInfo } from '../protocol/error-codes.ts'
import { ApiKey } from '../protocol/generated/index.ts'
import {
  createWritableTxnMarker,
  createWriteTxnMarkersRequest,
  type WritableTxnMarker,
  type WriteTxnMarkersResponse,
} from '../protocol/generated/write-txn-markers.ts'
import type { BrokerCore } from './broker-core.ts'
import { type PartitionMarker, writeMarkerAsLeader } from './txn-marker-write.ts'

/** How long one marker is retried before the coordinator leaves the transaction prepared for later. */
const MARKER_RETRY_MS = 15_000
const MAX_BACKOFF_MS = 1_000

/** A marker waiting for the next request to its broker. */
interface Outgoing {
  marker: PartitionMarker
  answer: (errorCode: number) => void
}

/** The transaction coordinator's marker writer of one broker process. */
export class TxnMarkerChannel implements TxnMarkerWriter {
  readonly #core: BrokerCore
  readonly #outbox = new Map<number, Outgoing[]>()
  /** Retries waiting for the view to change (or their backoff). */
  readonly #waiting = new Set<() => void>()

  constructor(core: BrokerCore) {
    this.#core = core
    core.cluster.onChange(() => this.#wake())
    core.closing.signal.addEventListener('abort', () => this.#close(), { once: true })
  }

  writeMarker(
    topic: string,
    partition: number,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
    coordinatorEpoch: number,
  ): Promise<void> {
    const marker = { topic, partition, producerId, producerEpoch, commit, coordinatorEpoch }
    return this.#retry(`the marker of ${topic}-${partition}`, () => this.#writePartition(marker))
  }

  endGroupTransaction(groupId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<void> {
    return this.#retry(`the transactional offsets of group ${groupId}`, () =>
      this.#endGroup(groupId, producerId, producerEpoch, commit),
    )
  }

  async #writePartition(m: PartitionMarker): Promise<number> {
    const { cluster, topics } = this.#core
    // A deleted topic has nothing left to mark.
    if (!topics.hasPartition(m.topic, m.partition)) return ErrorCode.NONE
    const leader = cluster.leaderOf(m.topic, m.partition)
    if (leader < 0) return ErrorCode.LEADER_NOT_AVAILABLE
    if (cluster.isLocal(leader)) return writeMarkerAsLeader(this.#core, leader, m)
    return this.#send(leader, m)
  }

  async #endGroup(groupId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    const { cluster, groups } = this.#core
    const coordinator = cluster.coordinatorOf(groupId)
    if (coordinator < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (cluster.isLocal(coordinator)) return groups.endTransaction(groupId, producerId, commit)
    const partition = offsetsPartitionOf(groupId)
    const marker = { topic: OFFSETS_TOPIC, partition, producerId, producerEpoch, commit, coordinatorEpoch: 0 }
    const errorCode = await this.#send(coordinator, marker)
    if (errorCode !== ErrorCode.NONE) return errorCode
    const stored = await groups.offsets.read(groupId)
    return stored.pending.has(producerId) ? ErrorCode.NOT_COORDINATOR : ErrorCode.NONE
  }

  /** Runs `attempt` until it answers NONE (or a marker the partition has moved beyond), or gives up. */
  async #retry(what: string, attempt: () => Promise<number>): Promise<void> {
    const deadline = Date.now() + MARKER_RETRY_MS
    for (let n = 0; ; n++) {
      if (n > 0) await this.#backoff(Math.min(MAX_BACKOFF_MS, 50 * 2 ** n))
      if (this.#core.closing.signal.aborted) throw new Error(`${what} was not written: the broker is closing`)
      let errorCode: number
      try {
        errorCode = await attempt()
      } catch (err) {
        this.#core.log.debug({ err }, `writing ${what} failed`)
        errorCode = ErrorCode.UNKNOWN_SERVER_ERROR
      }
      if (errorCode === ErrorCode.NONE) return
      if (errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
        // The partition saw a newer epoch of the producer or a newer coordinator: this
        // transaction ended there before (Kafka's channel drops such a marker too).
        this.#core.log.warn({ errorCode }, `${what} is refused as stale (${errorInfo(errorCode).name}); not retried`)
        return
      }
      if (Date.now() >= deadline) {
        throw new Error(`${what} was not written within ${MARKER_RETRY_MS} ms (${errorInfo(errorCode).name})`)
      }
    }
  }

  /** Waits `ms`, or less when the cluster view changes (a leader or coordinator may have moved). */
  #backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#waiting.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#waiting.add(done)
    })
  }

  #wake(): void {
    for (const done of [...this.#waiting]) done()
  }

  /** Queues a marker for broker `nodeId`; the markers queued in this turn go in one request. */
  #send(nodeId: number, marker: PartitionMarker): Promise<number> {
    return new Promise((answer) => {
      let queue = this.#outbox.get(nodeId)
      if (queue === undefined) {
        queue = []
        this.#outbox.set(nodeId, queue)
        setImmediate(() => {
          this.#outbox.delete(nodeId)
          void this.#flush(nodeId, queue as Outgoing[])
        })
      }
      queue.push({ marker, answer })
    })
  }

  /** One WriteTxnMarkers request to `nodeId`; each marker is answered with its partition's error code. */
  async #flush(nodeId: number, queue: Outgoing[]): Promise<void> {
    let res: WriteTxnMarkersResponse
    try {
      const conn = await this.#core.peers.get(nodeId)
      res = await conn.send<WriteTxnMarkersResponse>(ApiKey.WriteTxnMarkers, () =>
        createWriteTxnMarkersRequest({ markers: requestMarkers(queue) }),
      )
    } catch (err) {
      this.#core.log.debug({ err, nodeId }, 'WriteTxnMarkers to another broker failed')
      this.#core.peers.drop(nodeId)
      for (const o of queue) o.answer(ErrorCode.NETWORK_EXCEPTION)
      return
    }
    for (const { marker: m, answer } of queue) {
      const found = res.markers
        .filter((r) => r.producerId === BigInt(m.producerId))
        .flatMap((r) => r.topics.filter((t) => t.name === m.topic))
        .flatMap((t) => t.partitions.filter((p) => p.partitionIndex === m.partition))
      answer(found[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR)
    }
  }

  #close(): void {
    this.#wake()
  }
}

/** The queued markers as WriteTxnMarkers entries: one per producer, epoch, outcome and coordinator epoch. */
function requestMarkers(queue: Outgoing[]): WritableTxnMarker[] {
  const byTxn = new Map<string, WritableTxnMarker>()
  for (const { marker: m } of queue) {
    const key = `${m.producerId}:${m.producerEpoch}:${m.commit}:${m.coordinatorEpoch}`
    let entry = byTxn.get(key)
    if (entry === undefined) {
      entry = createWritableTxnMarker({
        producerId: BigInt(m.producerId),
        producerEpoch: m.producerEpoch,
        transactionResult: m.commit,
        coordinatorEpoch: m.coordinatorEpoch,
      })
      byTxn.set(key, entry)
    }
    let topic = entry.topics.find((t) => t.name === m.topic)
    if (topic === undefined) {
      topic = { name: m.topic, partitionIndexes: [] }
      entry.topics.push(topic)
    }
    if (!topic.partitionIndexes.includes(m.partition)) topic.partitionIndexes.push(m.partition)
  }
  return [...byTxn.values()]
}

/**
 * The transaction coordinator (Kafka's TransactionCoordinator and TransactionStateManager):
 * producer ids for transactional and idempotent producers, the transaction state machine
 * Empty → Ongoing → PrepareCommit/PrepareAbort → CompleteCommit/CompleteAbort, markers written
 * to every partition of a transaction, transactional offsets handed to the group coordinator on
 * commit, transaction timeouts and zombie fencing by epoch.
 *
 * Every state change is durable (key-value namespace `txn-state`) before it takes effect: a
 * Prepare* state found on start is completed (markers written again: a second marker for an
 * ended transaction changes nothing), an Ongoing one is left to its timeout.
 *
 * Operations on one transactional id run one at a time. Fencing errors are PRODUCER_FENCED;
 * handlers turn them into INVALID_PRODUCER_EPOCH for versions older than KIP-588.
 */

import { ErrorCode } from '../../protocol/error-codes.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import type { ProducerIdManager } from '../producer/producer-ids.ts'
import type { ProducerStateManager } from '../producer/producer-state-manager.ts'
import {
  decodeTxn,
  encodeTxn,
  MAX_EPOCH,
  type PendingOffset,
  type TxnMetadata,
  TxnState,
  type TxnStateName,
} from './txn-metadata.ts'

const NAMESPACE = 'txn-state'
/** Single coordinator: the epoch written into markers. */
const COORDINATOR_EPOCH = 0

export interface TxnCoordinatorDeps {
  kv: KeyValueStore
  ids: ProducerIdManager
  producers: ProducerStateManager
  hasPartition: (topic: string, partition: number) => boolean
  /** Makes offsets committed inside a transaction visible to the group. */
  commitOffsets: (groupId: string, offsets: PendingOffset[]) => Promise<void>
  now: () => number
  prop: (name: string) => string
  log: Log
}

/** Result of InitProducerId and EndTxn. */
export interface ProducerIdResult {
  errorCode: number
  producerId: number
  producerEpoch: number
}

/** A partition added to a transaction, with its outcome. */
export interface PartitionResult {
  topic: string
  partition: number
  errorCode: number
}

/** The transaction coordinator. */
export class TxnCoordinator {
  readonly #deps: TxnCoordinatorDeps
  readonly #txns = new Map<string, TxnMetadata>()
  /** Transactional ids by current producer id (produce verification). */
  readonly #byProducer = new Map<number, TxnMetadata>()
  readonly #locks = new Map<string, Promise<unknown>>()
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(deps: TxnCoordinatorDeps) {
    this.#deps = deps
  }

  /** Loads every transaction and completes those caught between prepare and complete. */
  async load(): Promise<void> {
    for (const [id, value] of await this.#deps.kv.list(NAMESPACE)) {
      const txn = decodeTxn(id, value)
      this.#txns.set(id, txn)
      this.#byProducer.set(txn.producerId, txn)
    }
    for (const txn of this.#txns.values()) {
      if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        await this.#locked(txn.transactionalId, () => this.#complete(txn))
      }
    }
    const every = Number(this.#deps.prop('transaction.abort.timed.out.transaction.cleanup.interval.ms'))
    this.#timer = setInterval(() => {
      this.abortTimedOut().catch((err: unknown) => this.#deps.log.error({ err }, 'transaction timeout check failed'))
    }, every)
    this.#timer.unref()
  }

  /** Stops the timer and waits for operations in progress. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    this.#timer = undefined
    await Promise.allSettled([...this.#locks.values()])
  }

  /** Runs `task` after every earlier operation on the same transactional id. */
  #locked<T>(id: string, task: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve()
    const run = prev.then(task, task)
    const tail = run.catch(() => {})
    this.#locks.set(id, tail)
    tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id)
    })
    return run
  }

  async #persist(txn: TxnMetadata): Promise<void> {
    txn.updateTimeMs = this.#deps.now()
    await this.#deps.kv.put(NAMESPACE, new Map([[txn.transactionalId, encodeTxn(txn)]]))
  }

  get(transactionalId: string): TxnMetadata | undefined {
    return this.#txns.get(transactionalId)
  }

  all(): IterableIterator<TxnMetadata> {
    return this.#txns.values()
  }

  // ---- InitProducerId

  /** InitProducerId: a new producer id, or the transactional id's producer with its epoch bumped. */
  async initProducerId(
    transactionalId: string | null,
    timeoutMs: number,
    expected: { producerId: number; producerEpoch: number },
  ): Promise<ProducerIdResult> {
    if (transactionalId === null) {
      // Idempotent producers always get a fresh id (Kafka ignores the expected pair here).
      return { errorCode: ErrorCode.NONE, producerId: await this.#deps.ids.next(), producerEpoch: 0 }
    }
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST)
    const max = Number(this.#deps.prop('transaction.max.timeout.ms'))
    if (timeoutMs <= 0 || timeoutMs > max) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    return this.#locked(transactionalId, async () => {
      let txn = this.#txns.get(transactionalId)
      if (txn === undefined) {
        txn = {
          transactionalId,
          producerId: await this.#deps.ids.next(),
          lastProducerId: -1,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          timeoutMs,
          state: TxnState.EMPTY,
          partitions: new Map(),
          groups: new Map(),
          startTimeMs: -1,
          updateTimeMs: this.#deps.now(),
        }
      }
      const hasExpected = expected.producerId >= 0
      if (hasExpected && txn.producerEpoch >= 0) {
        // KIP-360: a producer that lost track of its state may re-init with its last pair; a
        // retried request matches the pair before the bump and gets the current one back.
        const isCurrent = expected.producerId === txn.producerId && expected.producerEpoch === txn.producerEpoch
        const isRetry =
          (expected.producerId === txn.lastProducerId || expected.producerId === txn.producerId) &&
          expected.producerEpoch === txn.lastProducerEpoch &&
          (txn.state === TxnState.EMPTY || isComplete(txn.state))
        if (isRetry && !isCurrent) return ok(txn)
        if (!isCurrent) return fail(ErrorCode.PRODUCER_FENCED)
      }
      if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS)
      }
      if (txn.state === TxnState.ONGOING) {
        // A new instance of the producer: fence the old one and abort what it left open.
        await this.#bump(txn)
        await this.#endTransaction(txn, false)
      }
      await this.#bump(txn)
      txn.timeoutMs = timeoutMs
      txn.state = TxnState.EMPTY
      txn.partitions = new Map()
      txn.groups = new Map()
      txn.startTimeMs = -1
      await this.#persist(txn)
      this.#txns.set(transactionalId, txn)
      this.#byProducer.set(txn.producerId, txn)
      return ok(txn)
    })
  }

  /** Next epoch of the same producer id (the caller checked it is not exhausted). */
  #bumpEpoch(txn: TxnMetadata): void {
    txn.lastProducerId = txn.producerId
    txn.lastProducerEpoch = txn.producerEpoch
    txn.producerEpoch++
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn

  /** Common checks of AddPartitions, AddOffsets, EndTxn: NONE or the error for the request. */
  #checkProducer(txn: TxnMetadata | undefined, producerId: number, epoch: number): number {
    if (txn === undefined || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (epoch !== txn.producerEpoch) return ErrorCode.PRODUCER_FENCED
    return ErrorCode.NONE
  }

  /** AddPartitionsToTxn: adds partitions (or, with verifyOnly, checks they were added). */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    epoch: number,
    partitions: { topic: string; partition: number }[],
    verifyOnly = false,
  ): Promise<PartitionResult[]> {
    const unknown = partitions.filter((p) => !this.#deps.hasPartition(p.topic, p.partition))
    if (unknown.length > 0) {
      return partitions.map((p) => ({
        ...p,
        errorCode: unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED,
      }))
    }
    const all = (errorCode: number): PartitionResult[] => partitions.map((p) => ({ ...p, errorCode }))
    return this.#locked(transactionalId, async () => {
      const txn = this.#txns.get(transactionalId)
      const err = this.#checkProducer(txn, producerId, epoch)
      if (err !== ErrorCode.NONE || txn === undefined) return all(err)
      if (verifyOnly) {
        return partitions.map((p) => ({
          ...p,
          errorCode:
            txn.state === TxnState.ONGOING && txn.partitions.get(p.topic)?.has(p.partition)
              ? ErrorCode.NONE
              : ErrorCode.INVALID_TXN_STATE,
        }))
      }
      if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        return all(ErrorCode.CONCURRENT_TRANSACTIONS)
      }
      if (txn.state === TxnState.ONGOING && partitions.every((p) => txn.partitions.get(p.topic)?.has(p.partition))) {
        return all(ErrorCode.NONE)
      }
      this.#begin(txn)
      for (const p of partitions) {
        let set = txn.partitions.get(p.topic)
        if (set === undefined) {
          set = new Set()
          txn.partitions.set(p.topic, set)
        }
        set.add(p.partition)
      }
      await this.#persist(txn)
      return all(ErrorCode.NONE)
    })
  }

  /** Moves an Empty or Complete* transaction to Ongoing. */
  #begin(txn: TxnMetadata): void {
    if (txn.state === TxnState.ONGOING) return
    txn.state = TxnState.ONGOING
    txn.startTimeMs = this.#deps.now()
    txn.partitions = new Map()
    txn.groups = new Map()
  }

  /** AddOffsetsToTxn: the group's offsets will be committed with the transaction. */
  addOffsets(transactionalId: string, producerId: number, epoch: number, groupId: string): Promise<number> {
    return this.#locked(transactionalId, async () => {
      const txn = this.#txns.get(transactionalId)
      const err = this.#checkProducer(txn, producerId, epoch)
      if (err !== ErrorCode.NONE || txn === undefined) return err
      if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        return ErrorCode.CONCURRENT_TRANSACTIONS
      }
      if (txn.state === TxnState.ONGOING && txn.groups.has(groupId)) return ErrorCode.NONE
      this.#begin(txn)
      if (!txn.groups.has(groupId)) txn.groups.set(groupId, [])
      await this.#persist(txn)
      return ErrorCode.NONE
    })
  }

  /** TxnOffsetCommit: offsets pending until the transaction commits. */
  txnOffsetCommit(
    transactionalId: string,
    groupId: string,
    producerId: number,
    epoch: number,
    offsets: PendingOffset[],
  ): Promise<number> {
    return this.#locked(transactionalId, async () => {
      const txn = this.#txns.get(transactionalId)
      if (txn === undefined || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
      if (epoch < txn.producerEpoch) return ErrorCode.PRODUCER_FENCED
      if (epoch > txn.producerEpoch || txn.state !== TxnState.ONGOING) return ErrorCode.INVALID_TXN_STATE
      const pending = txn.groups.get(groupId)
      if (pending === undefined) return ErrorCode.INVALID_TXN_STATE
      for (const o of offsets) {
        const i = pending.findIndex((p) => p.topic === o.topic && p.partition === o.partition)
        if (i >= 0) pending[i] = o
        else pending.push(o)
      }
      await this.#persist(txn)
      return ErrorCode.NONE
    })
  }

  /** True while an open transaction holds an offset of the group's partition (require_stable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    for (const txn of this.#txns.values()) {
      if (txn.state !== TxnState.ONGOING && txn.state !== TxnState.PREPARE_COMMIT) continue
      if (txn.groups.get(groupId)?.some((o) => o.topic === topic && o.partition === partition)) return true
    }
    return false
  }

  // ---- EndTxn

  /**
   * EndTxn: commits or aborts. `bumpEpoch` (EndTxn v5, KIP-890 part 2) ends with a new epoch
   * returned to the producer. Retries of a completed end answer NONE.
   */
  endTxn(
    transactionalId: string,
    producerId: number,
    epoch: number,
    commit: boolean,
    bumpEpoch: boolean,
  ): Promise<ProducerIdResult> {
    return this.#locked(transactionalId, async () => {
      const txn = this.#txns.get(transactionalId)
      if (txn === undefined) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
      const wanted = commit ? TxnState.COMPLETE_COMMIT : TxnState.COMPLETE_ABORT
      if (bumpEpoch && txn.state === wanted && producerId === txn.lastProducerId && epoch === txn.lastProducerEpoch) {
        return ok(txn) // retry after the bump
      }
      const err = this.#checkProducer(txn, producerId, epoch)
      if (err !== ErrorCode.NONE) return fail(err)
      switch (txn.state) {
        case TxnState.ONGOING:
          break
        case TxnState.EMPTY:
          if (!commit && bumpEpoch) break
          return fail(ErrorCode.INVALID_TXN_STATE)
        case TxnState.PREPARE_COMMIT:
        case TxnState.PREPARE_ABORT:
          return fail(
            txn.state === (commit ? TxnState.PREPARE_COMMIT : TxnState.PREPARE_ABORT)
              ? ErrorCode.CONCURRENT_TRANSACTIONS
              : ErrorCode.INVALID_TXN_STATE,
          )
        default:
          if (txn.state === wanted && !bumpEpoch) return ok(txn)
          return fail(ErrorCode.INVALID_TXN_STATE)
      }
      if (bumpEpoch) await this.#bump(txn)
      await this.#endTransaction(txn, commit)
      return ok(txn)
    })
  }

  /** Next epoch, or a new producer id at epoch 0 once the epoch is exhausted. */
  async #bump(txn: TxnMetadata): Promise<void> {
    if (txn.producerEpoch < MAX_EPOCH) {
      this.#bumpEpoch(txn)
      return
    }
    const pid = await this.#deps.ids.next()
    txn.lastProducerId = txn.producerId
    txn.lastProducerEpoch = txn.producerEpoch
    this.#byProducer.delete(txn.producerId)
    txn.producerId = pid
    txn.producerEpoch = 0
    this.#byProducer.set(pid, txn)
  }

  /** Prepare (durable), write markers, apply offsets, complete (durable). */
  async #endTransaction(txn: TxnMetadata, commit: boolean): Promise<void> {
    txn.state = commit ? TxnState.PREPARE_COMMIT : TxnState.PREPARE_ABORT
    await this.#persist(txn)
    await this.#complete(txn)
  }

  /** Finishes a prepared transaction. */
  async #complete(txn: TxnMetadata): Promise<void> {
    const commit = txn.state === TxnState.PREPARE_COMMIT
    const writes: Promise<void>[] = []
    for (const [topic, ps] of txn.partitions) {
      for (const p of ps) {
        if (!this.#deps.hasPartition(topic, p)) continue
        writes.push(
          this.#deps.producers.writeMarker(topic, p, txn.producerId, txn.producerEpoch, commit, COORDINATOR_EPOCH),
        )
      }
    }
    await Promise.all(writes)
    if (commit) {
      for (const [groupId, offsets] of txn.groups) {
        if (offsets.length > 0) await this.#deps.commitOffsets(groupId, offsets)
      }
    }
    txn.state = commit ? TxnState.COMPLETE_COMMIT : TxnState.COMPLETE_ABORT
    txn.partitions = new Map()
    txn.groups = new Map()
    txn.startTimeMs = -1
    await this.#persist(txn)
  }

  // ---- produce verification, timeouts

  /** KIP-890 verification of a transactional batch: NONE if the partition is in the producer's open transaction. */
  verify(producerId: number, epoch: number, topic: string, partition: number): number {
    const txn = this.#byProducer.get(producerId)
    if (txn === undefined || txn.producerId !== producerId) return ErrorCode.INVALID_TXN_STATE
    if (epoch < txn.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH
    if (epoch !== txn.producerEpoch || txn.state !== TxnState.ONGOING) return ErrorCode.INVALID_TXN_STATE
    return txn.partitions.get(topic)?.has(partition) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE
  }

  /**
   * Aborts transactions open longer than their timeout, bumping the epoch so the producer is
   * fenced (Kafka's abortTimedOutTransactions); retries prepared ones whose markers failed; forgets
   * transactional ids idle past transactional.id.expiration.ms.
   */
  async abortTimedOut(): Promise<void> {
    const now = this.#deps.now()
    const expiry = Number(this.#deps.prop('transactional.id.expiration.ms'))
    for (const txn of [...this.#txns.values()]) {
      if (this.#closed) return
      const id = txn.transactionalId
      if (this.#locks.has(id)) continue
      if (txn.state === TxnState.ONGOING && now > txn.startTimeMs + txn.timeoutMs) {
        await this.#locked(id, async () => {
          if (txn.state !== TxnState.ONGOING || this.#closed) return
          this.#deps.log.info({ transactionalId: id, producerId: txn.producerId }, 'aborting a timed out transaction')
          await this.#bump(txn)
          await this.#endTransaction(txn, false)
        })
      } else if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        await this.#locked(id, () => this.#complete(txn))
      } else if ((txn.state === TxnState.EMPTY || isComplete(txn.state)) && now - txn.updateTimeMs > expiry) {
        await this.#locked(id, async () => {
          if (this.#txns.get(id) !== txn) return
          await this.#deps.kv.put(NAMESPACE, new Map([[id, null]]))
          this.#txns.delete(id)
          if (this.#byProducer.get(txn.producerId) === txn) this.#byProducer.delete(txn.producerId)
        })
      }
    }
  }
}

function isComplete(state: TxnStateName): boolean {
  return state === TxnState.COMPLETE_COMMIT || state === TxnState.COMPLETE_ABORT
}

function ok(txn: TxnMetadata): ProducerIdResult {
  return { errorCode: ErrorCode.NONE, producerId: txn.producerId, producerEpoch: txn.producerEpoch }
}

function fail(errorCode: number): ProducerIdResult {
  return { errorCode, producerId: -1, producerEpoch: -1 }
}

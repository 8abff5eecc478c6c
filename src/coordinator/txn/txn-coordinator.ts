/**
 * The transaction coordinator (Kafka's TransactionCoordinator and TransactionStateManager):
 * producer ids for transactional and idempotent producers, the transaction state machine
 * Empty → Ongoing → PrepareCommit/PrepareAbort → CompleteCommit/CompleteAbort, markers written
 * to every partition of a transaction and the end told to the coordinator of every group whose
 * offsets it committed (deps.markers: the partitions' leaders and the groups' coordinators may
 * be other brokers), transaction timeouts and zombie fencing by epoch.
 *
 * Every state change is durable (key-value namespace `txn-state`) before it takes effect, and is
 * a compare-and-set over the version this coordinator read: a coordinator that lost a
 * transactional id can never overwrite its successor's state (its operation answers
 * NOT_COORDINATOR instead). A Prepare* state found when a transactional id is loaded (on start,
 * or from another coordinator) is completed, as Kafka's coordinator completes it (markers
 * written again: a second marker for an ended transaction changes nothing); an Ongoing one keeps
 * its timeout, counted from its start, and is aborted when it passes.
 *
 * Over a store several brokers share, the broker says which transactional ids this coordinator
 * coordinates (deps.coordinates) and when that may have changed (coordinatorsChanged): see
 * coordinated-keys.ts. Producer ids come from the store's shared allocation (producer-ids.ts).
 *
 * Operations on one transactional id run one at a time. Fencing errors are PRODUCER_FENCED;
 * handlers turn them into INVALID_PRODUCER_EPOCH for versions older than KIP-588.
 *
 * Transaction version 2 (KIP-890 part 2), as Kafka decides it per request from the client's
 * versions (EndTxn v5+, partitions and groups added implicitly by Produce v12+ and TxnOffsetCommit
 * v5+), not from the finalized level: every end bumps the epoch when it is prepared, the markers
 * carry the bumped epoch, and the producer gets it back; an end that exhausts the epoch prepares a
 * new producer id, which replaces the old one once the markers are written. A retried end (the
 * epoch before the bump, or the last epoch of the previous producer id) is answered with the
 * current pair. An abort with nothing open is a bump alone. The coordinator's own aborts run at
 * the finalized level.
 */

import { ErrorCode } from '../../protocol/error-codes.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import { CoordinatedKeys, type CoordinatesPredicate } from '../coordinated-keys.ts'
import type { ProducerIdManager } from '../producer/producer-ids.ts'
import {
  decodeTxn,
  encodeTxn,
  FENCE_EPOCH,
  MAX_EPOCH,
  type TxnMetadata,
  TxnState,
  type TxnStateName,
} from './txn-metadata.ts'

const NAMESPACE = 'txn-state'
/**
 * The coordinator epoch written into markers. Kafka's is the leader epoch of the coordinator's
 * __transaction_state partition; here coordinators are fenced by the compare-and-set of the
 * transaction state instead, so every coordinator writes the same.
 */
const COORDINATOR_EPOCH = 0

/**
 * How a transaction's end reaches its partitions and groups. Each call resolves once done
 * durably and rejects when it could not be (the transaction then stays prepared and its
 * completion is tried again); doing it twice is harmless.
 */
export interface TxnMarkerWriter {
  /** Writes the transaction's COMMIT or ABORT marker into a partition, at its leader. */
  writeMarker(
    topic: string,
    partition: number,
    producerId: number,
    epoch: number,
    commit: boolean,
    coordinatorEpoch: number,
  ): Promise<void>
  /** Commits or drops the offsets the producer's transaction committed for a group, at its coordinator. */
  endGroupTransaction(groupId: string, producerId: number, epoch: number, commit: boolean): Promise<void>
}

export interface TxnCoordinatorDeps {
  kv: KeyValueStore
  ids: ProducerIdManager
  markers: TxnMarkerWriter
  hasPartition: (topic: string, partition: number) => boolean
  now: () => number
  prop: (name: string) => string
  log: Log
  /** Whether this broker coordinates a transactional id now (default: every id). */
  coordinates?: CoordinatesPredicate
  /**
   * Other brokers coordinate transactional ids over the same store: a producer id this coordinator
   * does not hold may be theirs, so verify() lets its batches through (see there).
   */
  othersCoordinate?: boolean
  /**
   * The cluster's finalized transaction.version: what the coordinator's own aborts (timeouts,
   * fencing a producer's previous instance) run as, no client having asked for one (default 0).
   */
  transactionVersion?: () => number
}

/** A write of a transactional id's state was refused: this coordinator no longer holds it. */
class NotCoordinator extends Error {}

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
  readonly #keys: CoordinatedKeys
  readonly #txns = new Map<string, TxnMetadata>()
  /** Version of each transactional id's stored state as last read or written; absent: not known yet. */
  readonly #versions = new Map<string, number>()
  /** Transactional ids by current producer id (produce verification). */
  readonly #byProducer = new Map<number, TxnMetadata>()
  readonly #locks = new Map<string, Promise<unknown>>()
  /** Completions of prepared transactions found when loading. */
  readonly #recoveries = new Set<Promise<void>>()
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(deps: TxnCoordinatorDeps) {
    this.#deps = deps
    this.#keys = new CoordinatedKeys({
      coordinates: deps.coordinates,
      list: async () => (await deps.kv.list(NAMESPACE)).keys(),
      read: (id) => this.#read(id),
      unload: (id) => this.#unload(id),
      log: deps.log,
      what: 'transactional id',
    })
  }

  /**
   * Loads the transactional ids this coordinator coordinates, completes those caught between
   * prepare and complete, and starts the timeout timer.
   */
  async load(): Promise<void> {
    await this.coordinatorsChanged()
    const every = Number(this.#deps.prop('transaction.abort.timed.out.transaction.cleanup.interval.ms'))
    this.#timer = setInterval(() => {
      this.abortTimedOut().catch((err: unknown) => this.#deps.log.error({ err }, 'transaction timeout check failed'))
    }, every)
    this.#timer.unref()
  }

  /**
   * Call whenever the answer of deps.coordinates may have changed (brokers joined or died), in
   * the same step as the change: transactional ids this coordinator lost leave memory at once
   * (their timeouts are no longer watched here, nothing is written); ids it gained are read from
   * storage, prepared transactions among them completed. Resolves once that is done.
   */
  async coordinatorsChanged(): Promise<void> {
    await this.#keys.changed()
    await Promise.allSettled([...this.#recoveries])
  }

  /** Stops the timer and waits for operations in progress. */
  async close(): Promise<void> {
    this.#closed = true
    this.#keys.close()
    clearInterval(this.#timer)
    this.#timer = undefined
    await Promise.allSettled([...this.#locks.values()])
  }

  /** Reads a transactional id's stored state; what it returns installs it in memory. */
  async #read(id: string): Promise<() => void> {
    const { value, version } = await this.#deps.kv.getVersioned(NAMESPACE, id)
    return () => {
      this.#unload(id)
      this.#versions.set(id, version)
      if (value === undefined) return
      const txn = decodeTxn(id, value)
      this.#txns.set(id, txn)
      this.#byProducer.set(txn.producerId, txn)
      if (txn.state !== TxnState.PREPARE_COMMIT && txn.state !== TxnState.PREPARE_ABORT) return
      const recovery = this.#locked(id, () => this.#complete(txn))
        .catch((err: unknown) => this.#completionFailed(txn, err))
        .finally(() => this.#recoveries.delete(recovery))
      this.#recoveries.add(recovery)
    }
  }

  /** Drops a transactional id from memory, without writing. */
  #unload(id: string): void {
    const txn = this.#txns.get(id)
    if (txn !== undefined && this.#byProducer.get(txn.producerId) === txn) this.#byProducer.delete(txn.producerId)
    this.#txns.delete(id)
    this.#versions.delete(id)
  }

  #completionFailed(txn: TxnMetadata, err: unknown): void {
    if (err instanceof NotCoordinator) return
    this.#deps.log.warn(
      { err, transactionalId: txn.transactionalId },
      'completing a prepared transaction failed; trying again later',
    )
  }

  /**
   * Runs an operation on a transactional id once it is held here (read first if need be), after
   * every earlier operation on it; `fail` answers NOT_COORDINATOR (also when a write of the
   * operation was refused), COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE.
   */
  async #run<T>(id: string, fail: (code: number) => T, task: () => Promise<T>): Promise<T> {
    const held = await this.#keys.ensure(id)
    if (held !== ErrorCode.NONE) return fail(held)
    return this.#locked(id, async () => {
      // Lost (or dropped after a refused write) while waiting for the earlier operations.
      const still = this.#keys.check(id)
      if (still !== ErrorCode.NONE) return fail(still)
      try {
        return await task()
      } catch (err) {
        if (err instanceof NotCoordinator) return fail(ErrorCode.NOT_COORDINATOR)
        throw err
      }
    })
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

  /**
   * Writes a transactional id's state over the version this coordinator last saw, while it
   * holds the id; throws NotCoordinator when refused (the id then leaves memory, to be read again).
   */
  async #persist(txn: TxnMetadata): Promise<void> {
    txn.updateTimeMs = this.#deps.now()
    await this.#write(txn, encodeTxn(txn))
  }

  /** A compare-and-set of a transactional id's state (null deletes it). */
  async #write(txn: TxnMetadata, value: Buffer | null): Promise<void> {
    const id = txn.transactionalId
    if (this.#closed || this.#txns.get(id) !== txn || !this.#keys.coordinates(id)) {
      if (this.#txns.get(id) === txn) this.#keys.refused(id)
      throw new NotCoordinator(id)
    }
    let version: number | null = null
    try {
      let expected = this.#versions.get(id)
      if (expected === undefined) {
        // An id created here: its state may only be absent (or deleted).
        const stored = await this.#deps.kv.getVersioned(NAMESPACE, id)
        expected = stored.value === undefined ? stored.version : -1
      }
      if (expected >= 0) version = await this.#deps.kv.putIfVersion(NAMESPACE, id, expected, value)
    } catch (err) {
      // The outcome is unknown: the id is read again.
      if (this.#txns.get(id) === txn) this.#keys.refused(id)
      throw err
    }
    if (this.#txns.get(id) !== txn) throw new NotCoordinator(id)
    if (version === null) {
      this.#deps.log.warn({ transactionalId: id }, 'transaction state was written by another coordinator')
      this.#keys.refused(id)
      throw new NotCoordinator(id)
    }
    this.#versions.set(id, version)
  }

  /** A transactional id's state, if this coordinator holds it (one it coordinates but has not read yet starts loading). */
  get(transactionalId: string): TxnMetadata | undefined {
    if (this.#keys.check(transactionalId) !== ErrorCode.NONE) return undefined
    return this.#txns.get(transactionalId)
  }

  /** Every transactional id this coordinator holds. */
  all(): TxnMetadata[] {
    return [...this.#txns.values()].filter((t) => this.#keys.coordinates(t.transactionalId))
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
    return this.#run(transactionalId, fail, async () => {
      let txn = this.#txns.get(transactionalId)
      if (txn === undefined) {
        txn = {
          transactionalId,
          producerId: await this.#deps.ids.next(),
          lastProducerId: -1,
          producerEpoch: -1,
          lastProducerEpoch: -1,
          nextProducerId: -1,
          clientTxnVersion: 0,
          timeoutMs,
          state: TxnState.EMPTY,
          partitions: new Map(),
          groups: new Set(),
          startTimeMs: -1,
          updateTimeMs: this.#deps.now(),
        }
        this.#txns.set(transactionalId, txn)
        this.#byProducer.set(txn.producerId, txn)
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
        this.#fence(txn)
        if (!(await this.#endTransaction(txn, false, this.#serverTxnVersion(), true))) {
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS)
        }
      }
      await this.#bump(txn)
      txn.timeoutMs = timeoutMs
      txn.state = TxnState.EMPTY
      txn.partitions = new Map()
      txn.groups = new Set()
      txn.startTimeMs = -1
      await this.#persist(txn)
      return ok(txn)
    })
  }

  /** Next epoch of the same producer id (the caller checked it is not exhausted). */
  #bumpEpoch(txn: TxnMetadata): void {
    txn.lastProducerId = txn.producerId
    txn.lastProducerEpoch = txn.producerEpoch
    txn.producerEpoch++
  }

  /**
   * Fences the producer before the coordinator aborts its transaction: the next epoch of the same
   * producer id, at most FENCE_EPOCH (the markers must name the producer id that wrote the data).
   */
  #fence(txn: TxnMetadata): void {
    if (txn.producerEpoch < FENCE_EPOCH) this.#bumpEpoch(txn)
  }

  #serverTxnVersion(): number {
    return this.#deps.transactionVersion?.() ?? 0
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn

  /** Common checks of AddPartitions, AddOffsets, EndTxn: NONE or the error for the request. */
  #checkProducer(txn: TxnMetadata | undefined, producerId: number, epoch: number): number {
    if (txn === undefined || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (epoch !== txn.producerEpoch) return ErrorCode.PRODUCER_FENCED
    return ErrorCode.NONE
  }

  /**
   * AddPartitionsToTxn: adds partitions (or, with verifyOnly, checks they were added);
   * `clientTxnVersion` is recorded with the transaction (2 for brokers' adds, Kafka's
   * transactionVersionForAddPartitionsToTxn).
   */
  async addPartitions(
    transactionalId: string,
    producerId: number,
    epoch: number,
    partitions: { topic: string; partition: number }[],
    options: { verifyOnly?: boolean; clientTxnVersion?: number } = {},
  ): Promise<PartitionResult[]> {
    const verifyOnly = options.verifyOnly ?? false
    const unknown = partitions.filter((p) => !this.#deps.hasPartition(p.topic, p.partition))
    if (unknown.length > 0) {
      return partitions.map((p) => ({
        ...p,
        errorCode: unknown.includes(p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED,
      }))
    }
    const all = (errorCode: number): PartitionResult[] => partitions.map((p) => ({ ...p, errorCode }))
    return this.#run(transactionalId, all, async () => {
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
      txn.clientTxnVersion = options.clientTxnVersion ?? 0
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
    txn.groups = new Set()
  }

  /**
   * AddOffsetsToTxn (or TxnOffsetCommit v5+ adding the group implicitly, `clientTxnVersion` 2):
   * the group's offsets will be committed with the transaction.
   */
  addOffsets(
    transactionalId: string,
    producerId: number,
    epoch: number,
    groupId: string,
    clientTxnVersion = 0,
  ): Promise<number> {
    return this.#run(transactionalId, code, async () => {
      const txn = this.#txns.get(transactionalId)
      const err = this.#checkProducer(txn, producerId, epoch)
      if (err !== ErrorCode.NONE || txn === undefined) return err
      if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        return ErrorCode.CONCURRENT_TRANSACTIONS
      }
      if (txn.state === TxnState.ONGOING && txn.groups.has(groupId)) return ErrorCode.NONE
      this.#begin(txn)
      txn.clientTxnVersion = clientTxnVersion
      txn.groups.add(groupId)
      await this.#persist(txn)
      return ErrorCode.NONE
    })
  }

  /**
   * TxnOffsetCommit's check of the transaction, at the group's coordinator: NONE when the producer
   * (current epoch) has a transaction open with the group added (AddOffsetsToTxn), else
   * INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED or INVALID_TXN_STATE. The transactional id's
   * state is this coordinator's when it holds it, else read from storage, where its coordinator
   * made AddOffsetsToTxn durable before answering it.
   */
  async checkOffsetCommit(
    transactionalId: string,
    groupId: string,
    producerId: number,
    epoch: number,
  ): Promise<number> {
    if (this.#keys.coordinates(transactionalId)) {
      return this.#run(transactionalId, code, async () =>
        offsetCommitError(this.#txns.get(transactionalId), groupId, producerId, epoch),
      )
    }
    const { value } = await this.#deps.kv.getVersioned(NAMESPACE, transactionalId)
    const txn = value === undefined ? undefined : decodeTxn(transactionalId, value)
    return offsetCommitError(txn, groupId, producerId, epoch)
  }

  // ---- EndTxn

  /**
   * EndTxn: commits or aborts, with the rules of the client's transaction version (EndTxn v5+ is
   * 2: see endDecisionV2). Answers with the producer id and epoch the producer continues with.
   */
  endTxn(
    transactionalId: string,
    producerId: number,
    epoch: number,
    commit: boolean,
    clientTxnVersion: number,
  ): Promise<ProducerIdResult> {
    return this.#run(transactionalId, fail, async () => {
      const txn = this.#txns.get(transactionalId)
      if (txn === undefined) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
      const v2 = clientTxnVersion >= 2
      const decision = v2
        ? endDecisionV2(txn, producerId, epoch, commit)
        : endDecisionV1(txn, this.#checkProducer(txn, producerId, epoch), commit)
      if (decision !== 'end') return decision
      await this.#endTransaction(txn, commit, clientTxnVersion, false)
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

  /**
   * Prepare (durable), write markers, apply offsets, complete (durable). Once prepared the
   * outcome is decided: if completing fails it is tried again later (abortTimedOut), and this
   * resolves false. At transaction version 2 the prepare bumps the epoch (the markers carry it)
   * and, when that exhausts it, a new producer id waits for the completion; an abort with no
   * transaction open ends an empty one. `fenced`: the coordinator bumped the epoch already to
   * abort on its own, which never takes a new producer id (Kafka's epoch fence).
   */
  async #endTransaction(
    txn: TxnMetadata,
    commit: boolean,
    clientTxnVersion: number,
    fenced: boolean,
  ): Promise<boolean> {
    if (clientTxnVersion >= 2) {
      if (txn.state !== TxnState.ONGOING) {
        txn.partitions = new Map()
        txn.groups = new Set()
        txn.startTimeMs = this.#deps.now()
      }
      const exhausted = txn.producerEpoch >= MAX_EPOCH
      txn.lastProducerId = txn.producerId
      txn.lastProducerEpoch = txn.producerEpoch
      if (txn.producerEpoch < FENCE_EPOCH) txn.producerEpoch++
      txn.nextProducerId = exhausted && !fenced ? await this.#deps.ids.next() : -1
    }
    txn.clientTxnVersion = clientTxnVersion
    txn.state = commit ? TxnState.PREPARE_COMMIT : TxnState.PREPARE_ABORT
    await this.#persist(txn)
    try {
      await this.#complete(txn)
      return true
    } catch (err) {
      this.#completionFailed(txn, err)
      return false
    }
  }

  /** Finishes a prepared transaction: every marker and every group's end, then the completed state. */
  async #complete(txn: TxnMetadata): Promise<void> {
    const commit = txn.state === TxnState.PREPARE_COMMIT
    const { markers } = this.#deps
    const { producerId, producerEpoch } = txn
    const writes: Promise<void>[] = []
    for (const [topic, ps] of txn.partitions) {
      for (const p of ps) {
        if (!this.#deps.hasPartition(topic, p)) continue
        writes.push(markers.writeMarker(topic, p, producerId, producerEpoch, commit, COORDINATOR_EPOCH))
      }
    }
    for (const groupId of txn.groups)
      writes.push(markers.endGroupTransaction(groupId, producerId, producerEpoch, commit))
    // Every write is tried even when one fails, so a retry has less left to do.
    const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    txn.state = commit ? TxnState.COMPLETE_COMMIT : TxnState.COMPLETE_ABORT
    txn.partitions = new Map()
    txn.groups = new Set()
    txn.startTimeMs = -1
    if (txn.nextProducerId >= 0) {
      // The exhausted producer id retires; its last epoch stays the one the client last held.
      txn.lastProducerId = txn.producerId
      this.#byProducer.delete(txn.producerId)
      txn.producerId = txn.nextProducerId
      txn.producerEpoch = 0
      txn.nextProducerId = -1
      this.#byProducer.set(txn.producerId, txn)
    }
    await this.#persist(txn)
  }

  // ---- produce verification, timeouts

  /**
   * KIP-890 verification of a transactional batch: NONE if the partition is in the producer's open
   * transaction. A producer whose transactional id another broker coordinates is not verified
   * (Kafka's leader would ask that coordinator, with AddPartitionsToTxn verify_only): its batches
   * are taken as Kafka took them before KIP-890, fenced by epoch in the partition only.
   */
  verify(producerId: number, epoch: number, topic: string, partition: number): number {
    const txn = this.#byProducer.get(producerId)
    if (txn === undefined || txn.producerId !== producerId) {
      return this.#deps.othersCoordinate ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE
    }
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
      // Lost meanwhile: the id's new coordinator watches it now.
      if (this.#locks.has(id) || !this.#keys.coordinates(id)) continue
      const held = (task: () => Promise<void>): Promise<void> =>
        this.#locked(id, async () => {
          if (this.#txns.get(id) === txn && !this.#closed) await task()
        }).catch((err: unknown) => this.#completionFailed(txn, err))
      if (txn.state === TxnState.ONGOING && now > txn.startTimeMs + txn.timeoutMs) {
        await held(async () => {
          if (txn.state !== TxnState.ONGOING) return
          this.#deps.log.info({ transactionalId: id, producerId: txn.producerId }, 'aborting a timed out transaction')
          this.#fence(txn)
          await this.#endTransaction(txn, false, this.#serverTxnVersion(), true)
        })
      } else if (txn.state === TxnState.PREPARE_COMMIT || txn.state === TxnState.PREPARE_ABORT) {
        await held(() => this.#complete(txn))
      } else if ((txn.state === TxnState.EMPTY || isComplete(txn.state)) && now - txn.updateTimeMs > expiry) {
        await held(async () => {
          await this.#write(txn, null)
          this.#unload(id)
          this.#keys.forget(id)
        })
      }
    }
  }
}

function isComplete(state: TxnStateName): boolean {
  return state === TxnState.COMPLETE_COMMIT || state === TxnState.COMPLETE_ABORT
}

function isPrepared(state: TxnStateName): boolean {
  return state === TxnState.PREPARE_COMMIT || state === TxnState.PREPARE_ABORT
}

/** What an end does at transaction version 1: 'end' the open transaction, or the answer. */
function endDecisionV1(txn: TxnMetadata, producerError: number, commit: boolean): ProducerIdResult | 'end' {
  if (producerError !== ErrorCode.NONE) return fail(producerError)
  switch (txn.state) {
    case TxnState.ONGOING:
      return 'end'
    case TxnState.PREPARE_COMMIT:
    case TxnState.PREPARE_ABORT:
      return fail(
        txn.state === (commit ? TxnState.PREPARE_COMMIT : TxnState.PREPARE_ABORT)
          ? ErrorCode.CONCURRENT_TRANSACTIONS
          : ErrorCode.INVALID_TXN_STATE,
      )
    case TxnState.COMPLETE_COMMIT:
    case TxnState.COMPLETE_ABORT:
      // A retry of the end that completed it.
      if (txn.state === (commit ? TxnState.COMPLETE_COMMIT : TxnState.COMPLETE_ABORT)) return ok(txn)
      return fail(ErrorCode.INVALID_TXN_STATE)
    default:
      return fail(ErrorCode.INVALID_TXN_STATE)
  }
}

/**
 * What an end does at transaction version 2, as Kafka's coordinator decides it: the same epoch is
 * the next end (an abort of nothing open included), the epoch before the bump (or the last epoch
 * of the producer id an overflow retired) a retry of the end that bumped it, answered with the
 * current pair once completed and CONCURRENT_TRANSACTIONS while prepared; anything else is fenced.
 */
function endDecisionV2(txn: TxnMetadata, producerId: number, epoch: number, commit: boolean): ProducerIdResult | 'end' {
  const retryOnOverflow =
    txn.producerId !== producerId && txn.lastProducerId === producerId && epoch === MAX_EPOCH && txn.producerEpoch === 0
  const retryOnBump = txn.producerId === producerId && txn.producerEpoch === epoch + 1
  if (txn.producerId !== producerId && !retryOnOverflow) return fail(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
  const retry = retryOnBump || retryOnOverflow
  const current = epoch === txn.producerEpoch
  const validEpoch = isPrepared(txn.state) ? retryOnBump : isComplete(txn.state) ? retry || current : current
  if (!validEpoch) return fail(ErrorCode.PRODUCER_FENCED)
  switch (txn.state) {
    case TxnState.ONGOING:
      return 'end'
    case TxnState.EMPTY:
      return commit ? fail(ErrorCode.INVALID_TXN_STATE) : 'end'
    case TxnState.PREPARE_COMMIT:
      return fail(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE)
    case TxnState.PREPARE_ABORT:
      return fail(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS)
    case TxnState.COMPLETE_COMMIT:
      if (commit) return retry ? ok(txn) : fail(ErrorCode.INVALID_TXN_STATE)
      return retry ? fail(ErrorCode.INVALID_TXN_STATE) : 'end'
    case TxnState.COMPLETE_ABORT:
      if (commit) return fail(ErrorCode.INVALID_TXN_STATE)
      return retry ? ok(txn) : 'end'
    default:
      return fail(ErrorCode.INVALID_TXN_STATE)
  }
}

function ok(txn: TxnMetadata): ProducerIdResult {
  return { errorCode: ErrorCode.NONE, producerId: txn.producerId, producerEpoch: txn.producerEpoch }
}

function fail(errorCode: number): ProducerIdResult {
  return { errorCode, producerId: -1, producerEpoch: -1 }
}

function code(errorCode: number): number {
  return errorCode
}

/** Whether a transaction may commit offsets for a group now (checkOffsetCommit). */
function offsetCommitError(txn: TxnMetadata | undefined, groupId: string, producerId: number, epoch: number): number {
  if (txn === undefined || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
  if (epoch < txn.producerEpoch) return ErrorCode.PRODUCER_FENCED
  if (epoch > txn.producerEpoch || txn.state !== TxnState.ONGOING || !txn.groups.has(groupId)) {
    return ErrorCode.INVALID_TXN_STATE
  }
  return ErrorCode.NONE
}

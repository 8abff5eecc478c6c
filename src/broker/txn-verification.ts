/**
 * What a partition's leader and a group's coordinator ask a transaction's coordinator before they
 * write for the transaction (KIP-890), as Kafka's AddPartitionsToTxnManager does.
 *
 * Part 1, verification: a transactional batch that would start a transaction in a partition is
 * checked against the coordinator before it is written: otherwise a late batch of a transaction
 * that has already ended (a retry that arrives after the abort) would open a transaction there
 * that nobody ends, holding every read_committed consumer of the partition back. Where this
 * process coordinates the transactional id, the producer state asks the coordinator directly
 * (TxnCoordinator.verify); where another broker does, the leader asks it with AddPartitionsToTxn
 * (v4, verify_only).
 *
 * Part 2, implicit adds (transaction version 2): a Produce v12+ batch adds its partition to the
 * transaction, and a TxnOffsetCommit v5+ its group, instead of the client's AddPartitionsToTxn and
 * AddOffsetsToTxn. The leader asks the coordinator to add the partition (directly, or with
 * AddPartitionsToTxn v5 without verify_only); the group's coordinator asks it to add the group
 * (directly, or with AddOffsetsToTxn: samsa's coordinator keeps a transaction's groups by id,
 * where Kafka adds the group's __consumer_offsets partition).
 *
 * Only the first batch of a transaction in a partition is verified or added: later ones continue
 * a transaction the partition already holds open. As in Kafka, a coordinator that cannot be
 * reached or asked is answered NOT_ENOUGH_REPLICAS (the producer retries), PRODUCER_FENCED
 * INVALID_PRODUCER_EPOCH, a transaction that does not hold the partition INVALID_TXN_STATE.
 */
import { ErrorCode, errorInfo } from '../protocol/error-codes.ts'
import { type AddOffsetsToTxnResponse, createAddOffsetsToTxnRequest } from '../protocol/generated/add-offsets-to-txn.ts'
import {
  type AddPartitionsToTxnResponse,
  createAddPartitionsToTxnRequest,
} from '../protocol/generated/add-partitions-to-txn.ts'
import { ApiKey } from '../protocol/generated/index.ts'
import type { BrokerCore } from './broker-core.ts'

/** The first AddPartitionsToTxn version of brokers' batched form, with verify_only. */
const VERIFY_VERSION = 4
/** The version a leader adds a partition with (transaction version 2 coordinators answer TRANSACTION_ABORTABLE). */
const ADD_VERSION = 5
/** The AddOffsetsToTxn version a group's coordinator adds a group with (PRODUCER_FENCED from v2). */
const ADD_OFFSETS_VERSION = 4

/** Errors of a coordinator that may answer differently once asked again (or once it moved). */
const RETRIABLE = new Set<number>([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
])

export interface Verdict {
  errorCode: number
  message?: string
}

export class TxnVerification {
  readonly #core: BrokerCore
  /** Adds in flight by partition and producer: the producer's next batches wait for them, in order. */
  readonly #adding = new Map<string, Promise<Verdict>>()

  constructor(core: BrokerCore) {
    this.#core = core
  }

  /** Whether this process coordinates the transactional id (always, over storage no other broker shares). */
  #coordinatesHere(transactionalId: string): boolean {
    const { cluster, storage } = this.#core
    return !storage.capabilities.shared || cluster.isLocal(cluster.coordinatorOf(transactionalId))
  }

  /**
   * Whether a transactional batch must be verified with another broker before it is written: it
   * starts the producer's transaction in this partition, and its transactional id is coordinated
   * elsewhere.
   */
  needed(transactionalId: string | null, topic: string, partition: number, producerId: number): boolean {
    if (transactionalId === null || this.#coordinatesHere(transactionalId)) return false
    return !this.#core.producers.inTransaction(topic, partition, producerId)
  }

  /**
   * Whether a Produce v12+ batch must add its partition first: the producer has no transaction of
   * this epoch open there (one of an older epoch is a transaction whose marker is still to come:
   * the coordinator answers CONCURRENT_TRANSACTIONS until it is written).
   */
  addNeeded(
    transactionalId: string | null,
    topic: string,
    partition: number,
    producerId: number,
    producerEpoch: number,
  ): boolean {
    if (transactionalId === null) return false
    const { producers } = this.#core
    return (
      this.#adding.has(addKey(topic, partition, producerId)) ||
      !producers.inTransaction(topic, partition, producerId) ||
      producers.peek(topic, partition)?.producers.get(producerId)?.epoch !== producerEpoch
    )
  }

  /** Asks the transactional id's coordinator whether its ongoing transaction holds the partition. */
  async verify(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): Promise<Verdict> {
    const asked = await this.#askCoordinator(transactionalId, producerId, producerEpoch, topic, partition, true)
    if (typeof asked !== 'number') return asked
    // A producer unknown to the coordinator has no transaction.
    const errorCode = asked === ErrorCode.INVALID_PRODUCER_ID_MAPPING ? ErrorCode.INVALID_TXN_STATE : asked
    return verdict(transactionalId, errorCode, `has no ongoing transaction with ${topic}-${partition}`)
  }

  /**
   * Adds a partition to the producer's transaction (Produce v12+), at the coordinator of its
   * transactional id. The producer's later batches for the partition wait for the add in flight.
   */
  add(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): Promise<Verdict> {
    const key = addKey(topic, partition, producerId)
    const before = this.#adding.get(key)
    const adding = (async (): Promise<Verdict> => {
      if (before !== undefined && (await before).errorCode === ErrorCode.NONE) return { errorCode: ErrorCode.NONE }
      const asked = this.#coordinatesHere(transactionalId)
        ? await this.#core.txns
            .addPartitions(transactionalId, producerId, producerEpoch, [{ topic, partition }], { clientTxnVersion: 2 })
            .then((r) => r[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR)
        : await this.#askCoordinator(transactionalId, producerId, producerEpoch, topic, partition, false)
      if (typeof asked !== 'number') return asked
      return verdict(transactionalId, asked, `could not add ${topic}-${partition} to its transaction`)
    })().catch((err: unknown) => {
      this.#core.log.warn({ err, transactionalId }, 'adding a partition to a transaction failed')
      return notVerified(`adding ${topic}-${partition} to the transaction of ${transactionalId} failed`)
    })
    this.#adding.set(key, adding)
    const forget = (): void => {
      if (this.#adding.get(key) === adding) this.#adding.delete(key)
    }
    adding.then(forget, forget)
    return adding
  }

  /**
   * Adds a group to the producer's transaction (TxnOffsetCommit v5+), at the coordinator of its
   * transactional id: NONE, or the error for the TxnOffsetCommit (COORDINATOR_NOT_AVAILABLE where
   * the coordinator could not be asked or answered a retriable error, as Kafka's group coordinator
   * answers a verification that did not complete).
   */
  async addGroup(transactionalId: string, producerId: number, producerEpoch: number, groupId: string): Promise<number> {
    const { cluster, peers, log, txns } = this.#core
    let errorCode: number
    if (this.#coordinatesHere(transactionalId)) {
      errorCode = await txns.addOffsets(transactionalId, producerId, producerEpoch, groupId, 2)
    } else {
      const coordinator = cluster.coordinatorOf(transactionalId)
      if (coordinator < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE
      try {
        const conn = await peers.get(coordinator)
        const res = await conn.sendVersion<AddOffsetsToTxnResponse>(
          ApiKey.AddOffsetsToTxn,
          ADD_OFFSETS_VERSION,
          createAddOffsetsToTxnRequest({ transactionalId, producerId: BigInt(producerId), producerEpoch, groupId }),
        )
        errorCode = res.errorCode
      } catch (err) {
        log.debug({ err, coordinator }, 'adding a group to a transaction at its coordinator failed')
        peers.drop(coordinator)
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
      }
    }
    if (RETRIABLE.has(errorCode)) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    return errorCode === ErrorCode.INVALID_PRODUCER_EPOCH ? ErrorCode.PRODUCER_FENCED : errorCode
  }

  /**
   * One partition of one transaction in an AddPartitionsToTxn request to the transactional id's
   * coordinator (another broker): its error code, or the verdict when it could not be asked.
   */
  async #askCoordinator(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
    verifyOnly: boolean,
  ): Promise<number | Verdict> {
    const { cluster, peers, log } = this.#core
    const coordinator = cluster.coordinatorOf(transactionalId)
    if (coordinator < 0) return notVerified(`no broker coordinates transactional id ${transactionalId}`)
    let res: AddPartitionsToTxnResponse
    try {
      const conn = await peers.get(coordinator)
      res = await conn.sendVersion<AddPartitionsToTxnResponse>(
        ApiKey.AddPartitionsToTxn,
        verifyOnly ? VERIFY_VERSION : ADD_VERSION,
        createAddPartitionsToTxnRequest({
          transactions: [
            {
              transactionalId,
              producerId: BigInt(producerId),
              producerEpoch,
              verifyOnly,
              topics: [{ name: topic, partitions: [partition] }],
            },
          ],
        }),
      )
    } catch (err) {
      log.debug({ err, coordinator }, 'asking a transaction coordinator about a partition failed')
      peers.drop(coordinator)
      return notVerified(`the coordinator of transactional id ${transactionalId} could not be asked`)
    }
    // The client is not told of the brokers' authorization: the verification did not complete.
    if (res.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED) return ErrorCode.INVALID_TXN_STATE
    if (res.errorCode !== ErrorCode.NONE) return res.errorCode
    return (
      res.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition[0]?.partitionErrorCode ??
      ErrorCode.UNKNOWN_SERVER_ERROR
    )
  }
}

function addKey(topic: string, partition: number, producerId: number): string {
  return `${topic}\u0000${partition}\u0000${producerId}`
}

/** The produce answer for a coordinator's error code about a transaction and a partition. */
function verdict(transactionalId: string, errorCode: number, failed: string): Verdict {
  if (errorCode === ErrorCode.NONE) return { errorCode }
  if (RETRIABLE.has(errorCode)) {
    return notVerified(`the coordinator of transactional id ${transactionalId} answered ${errorInfo(errorCode).name}`)
  }
  // Produce has no PRODUCER_FENCED.
  const answer = errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode
  return { errorCode: answer, message: `Transactional id ${transactionalId} ${failed} (${errorInfo(errorCode).name})` }
}

function notVerified(why: string): Verdict {
  return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, message: `The transaction could not be verified: ${why}` }
}

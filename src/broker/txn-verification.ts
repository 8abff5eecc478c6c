/**
 * Transaction verification across brokers (KIP-890 part 1). A transactional batch that would
 * start a transaction in a partition is checked against the transaction's coordinator before it
 * is written: otherwise a late batch of a transaction that has already ended (a retry that
 * arrives after the abort) would open a transaction there that nobody ends, holding every
 * read_committed consumer of the partition back. Where this process coordinates the
 * transactional id, the producer state asks the coordinator directly (TxnCoordinator.verify);
 * where another broker does, the partition's leader asks it with AddPartitionsToTxn (v4,
 * verify_only), as Kafka's leaders do.
 *
 * Only the first batch of a transaction in a partition is verified: later ones continue a
 * transaction the partition already holds open. As in Kafka, a coordinator that cannot be
 * reached or asked is answered NOT_ENOUGH_REPLICAS (the producer retries), a transaction that
 * does not hold the partition INVALID_TXN_STATE.
 */
import { ErrorCode, errorInfo } from '../protocol/error-codes.ts'
import {
  type AddPartitionsToTxnResponse,
  createAddPartitionsToTxnRequest,
} from '../protocol/generated/add-partitions-to-txn.ts'
import { ApiKey } from '../protocol/generated/index.ts'
import type { BrokerCore } from './broker-core.ts'

/** The first AddPartitionsToTxn version of brokers' batched form, with verify_only. */
const VERIFY_VERSION = 4

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

  constructor(core: BrokerCore) {
    this.#core = core
  }

  /**
   * Whether a transactional batch must be verified with another broker before it is written: it
   * starts the producer's transaction in this partition, and its transactional id is coordinated
   * elsewhere.
   */
  needed(transactionalId: string | null, topic: string, partition: number, producerId: number): boolean {
    const { cluster, storage, producers } = this.#core
    if (transactionalId === null || !storage.capabilities.shared) return false
    if (cluster.isLocal(cluster.coordinatorOf(transactionalId))) return false
    return !producers.inTransaction(topic, partition, producerId)
  }

  /** Asks the transactional id's coordinator whether its ongoing transaction holds the partition. */
  async verify(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    topic: string,
    partition: number,
  ): Promise<Verdict> {
    const { cluster, peers, log } = this.#core
    const coordinator = cluster.coordinatorOf(transactionalId)
    if (coordinator < 0) return notVerified(`no broker coordinates transactional id ${transactionalId}`)
    let res: AddPartitionsToTxnResponse
    try {
      const conn = await peers.get(coordinator)
      res = await conn.sendVersion<AddPartitionsToTxnResponse>(
        ApiKey.AddPartitionsToTxn,
        VERIFY_VERSION,
        createAddPartitionsToTxnRequest({
          transactions: [
            {
              transactionalId,
              producerId: BigInt(producerId),
              producerEpoch,
              verifyOnly: true,
              topics: [{ name: topic, partitions: [partition] }],
            },
          ],
        }),
      )
    } catch (err) {
      log.debug({ err, coordinator }, 'verifying a transaction with its coordinator failed')
      peers.drop(coordinator)
      return notVerified(`the coordinator of transactional id ${transactionalId} could not be asked`)
    }
    const errorCode =
      res.errorCode !== ErrorCode.NONE
        ? res.errorCode
        : (res.resultsByTransaction[0]?.topicResults[0]?.resultsByPartition[0]?.partitionErrorCode ??
          ErrorCode.UNKNOWN_SERVER_ERROR)
    if (errorCode === ErrorCode.NONE) return { errorCode }
    if (RETRIABLE.has(errorCode)) {
      return notVerified(`the coordinator of transactional id ${transactionalId} answered ${errorInfo(errorCode).name}`)
    }
    // Produce has no PRODUCER_FENCED; a producer unknown to the coordinator has no transaction.
    const answer =
      errorCode === ErrorCode.PRODUCER_FENCED
        ? ErrorCode.INVALID_PRODUCER_EPOCH
        : errorCode === ErrorCode.INVALID_PRODUCER_ID_MAPPING
          ? ErrorCode.INVALID_TXN_STATE
          : errorCode
    return {
      errorCode: answer,
      message: `Transactional id ${transactionalId} has no ongoing transaction with ${topic}-${partition} (${errorInfo(errorCode).name})`,
    }
  }
}

function notVerified(why: string): Verdict {
  return { errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, message: `The transaction could not be verified: ${why}` }
}

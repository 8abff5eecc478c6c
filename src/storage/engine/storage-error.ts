/**
 * What the engines throw. Expected outcomes of a read are values (ReadResult.errorCode); the
 * methods whose results have no room for a code throw one of these instead:
 * - EngineRequestError: a request the engine cannot serve for a Kafka reason (unknown
 *   partition, shrinking partitions, DeleteRecords above the high watermark, an append with a
 *   stale leader epoch). Carries the Kafka
 *   error code to answer with; not an I/O fault.
 * - EngineIoError: an I/O fault or a closed engine. It extends the shared StorageError, so the
 *   broker's isStorageError() answers KAFKA_STORAGE_ERROR.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'
import { StorageError } from '../storage-error.ts'

/** Reasons of EngineRequestError. */
export type EngineRequestReason =
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'INVALID_PARTITIONS'
  | 'OFFSET_OUT_OF_RANGE'
  | 'FENCED_LEADER_EPOCH'
/** Reasons of EngineIoError. */
export type EngineIoReason = 'IO' | 'CLOSED'

const REQUEST_CODES: Record<EngineRequestReason, number> = {
  UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  INVALID_PARTITIONS: ErrorCode.INVALID_PARTITIONS,
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  FENCED_LEADER_EPOCH: ErrorCode.FENCED_LEADER_EPOCH,
}

/** A request refused with a Kafka error code (`errorCode`). */
export class EngineRequestError extends Error {
  readonly reason: EngineRequestReason
  readonly errorCode: number

  constructor(reason: EngineRequestReason, message: string) {
    super(message)
    this.name = 'EngineRequestError'
    this.reason = reason
    this.errorCode = REQUEST_CODES[reason]
  }
}

/** An I/O fault (or use after close): KAFKA_STORAGE_ERROR. */
export class EngineIoError extends StorageError {
  readonly reason: EngineIoReason
  readonly errorCode: number = ErrorCode.KAFKA_STORAGE_ERROR

  constructor(reason: EngineIoReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/** The error for a topic or partition the engine does not have. */
export function unknownPartition(topic: string, partition: number): EngineRequestError {
  return new EngineRequestError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${topic}-${partition}`)
}

/** The error for a topic the engine does not have. */
export function unknownTopic(topic: string): EngineRequestError {
  return new EngineRequestError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${topic}`)
}

/** The error for an append whose leader epoch is not the partition's current one. */
export function fencedLeaderEpoch(
  topic: string,
  partition: number,
  epoch: number,
  current: number,
): EngineRequestError {
  return new EngineRequestError(
    'FENCED_LEADER_EPOCH',
    `append to ${topic}-${partition} with leader epoch ${epoch}, but the partition's leader epoch is ${current}`,
  )
}

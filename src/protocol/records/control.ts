/**
 * Control records: the commit/abort markers a transaction coordinator writes into partitions.
 * A control batch (attributes bit 5, transactional) holds one record whose
 *   key   = version int16 (0) + type int16 (0 abort, 1 commit)
 *   value = version int16 (0) + coordinatorEpoch int32.
 */
import { encodeBatchSync } from './batch.ts'
import { invalid } from './errors.ts'
import type { KafkaRecord } from './record-codec.ts'

/** Control record types. */
export const ControlType = { ABORT: 0, COMMIT: 1 } as const
/** 0 abort, 1 commit. */
export type ControlTypeValue = (typeof ControlType)[keyof typeof ControlType]

/** A decoded end-transaction marker. */
export interface EndTxnMarker {
  type: ControlTypeValue
  coordinatorEpoch: number
}

/** Key bytes of a control record. */
export function encodeControlKey(type: number): Buffer {
  const key = Buffer.allocUnsafe(4)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(type, 2)
  return key
}

/** Type from a control record's key (≥ 4 bytes, version 0); unknown types are returned as is. */
export function readControlType(record: KafkaRecord): number {
  const key = record.key
  if (key === null || key.length < 4) throw invalid('BAD_CONTROL_RECORD', 'control record key too short')
  const version = key.readInt16BE(0)
  if (version < 0) throw invalid('BAD_CONTROL_RECORD', `control record key version ${version}`)
  return key.readInt16BE(2)
}

/** Decode an abort/commit marker from a control record. */
export function readEndTxnMarker(record: KafkaRecord): EndTxnMarker {
  const type = readControlType(record)
  if (type !== ControlType.ABORT && type !== ControlType.COMMIT) {
    throw invalid('BAD_CONTROL_RECORD', `control record type ${type} is not a transaction marker`)
  }
  const value = record.value
  if (value === null || value.length < 6) throw invalid('BAD_CONTROL_RECORD', 'end transaction marker value too short')
  return { type, coordinatorEpoch: value.readInt32BE(2) }
}

/** What a coordinator needs to write a marker batch. */
export interface EndTxnMarkerInput {
  type: ControlTypeValue
  coordinatorEpoch: number
  producerId: number | bigint
  producerEpoch: number
  timestamp: number
  baseOffset?: number | bigint
  partitionLeaderEpoch?: number
}

/** Encode a control batch holding one end-transaction marker (uncompressed, sequence -1). */
export function encodeEndTxnMarkerBatch(input: EndTxnMarkerInput): Buffer {
  const value = Buffer.allocUnsafe(6)
  value.writeInt16BE(0, 0)
  value.writeInt32BE(input.coordinatorEpoch, 2)
  return encodeBatchSync({
    records: [{ key: encodeControlKey(input.type), value, timestamp: input.timestamp }],
    baseOffset: input.baseOffset ?? 0,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1,
    isTransactional: true,
    isControl: true,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: -1,
  })
}

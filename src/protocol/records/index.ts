/** The record layer: batches (v2), legacy message sets (v0/v1), compression. Sans-IO. */

export * from './batch.ts'
export * from './batch-header.ts'
export {
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
  RECORDS as BATCH_HEADER_SIZE,
  TimestampType,
  type TimestampTypeValue,
} from './batch-layout.ts'
export * from './batch-patch.ts'
export * from './batch-scan.ts'
export * from './batch-validate.ts'
export * from './compression.ts'
export * from './control.ts'
export * from './convert.ts'
export * from './errors.ts'
export * from './legacy.ts'
export * from './record-codec.ts'

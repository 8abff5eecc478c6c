/**
 * What an engine measures of its own work, for the broker's /metrics: per append, read, sync and
 * commit (never per record), into plain numbers and histograms that the metrics code reads at
 * scrape time. Every engine has one; the fields an engine has no use for stay at zero.
 */
import { Histogram } from '../../util/histogram.ts'
import { EngineIoError } from './storage-error.ts'

/** Bounds of the appends-per-sync histogram: 1 to 1024 appends, powers of two. */
export const APPENDS_BOUNDS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
/** Bounds of the bytes-per-sync histogram: 1 KiB to 64 MiB, powers of four. */
export const BYTES_BOUNDS: readonly number[] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536].map((k) => k * 1024)

/** Operations whose failures are counted (storageErrors). */
export type StorageOperation = 'append' | 'read' | 'sync' | 'commit' | 'retention' | 'cleaner'

/** The pg pool's connections, read at scrape time. */
export interface PoolUse {
  total: number
  idle: number
  waiting: number
}

/** An engine's counters and histograms. */
export class StorageMetrics {
  /** Storage.append calls, from the call to the answer (acks=all: once durable). */
  readonly appendSeconds = new Histogram()
  /** Storage.read calls. */
  readonly readSeconds = new Histogram()
  /** One durable write of log data: an fdatasync (local) or a commit transaction (postgres). */
  readonly syncSeconds = new Histogram()
  /** Appends made durable by one group commit (an fdatasync waited for, a postgres commit). */
  readonly syncAppends = new Histogram(APPENDS_BOUNDS)
  /** Bytes made durable by one group commit. */
  readonly syncBytes = new Histogram(BYTES_BOUNDS)
  /** Database statements (postgres), each from its send to its answer. */
  readonly querySeconds = new Histogram()
  /** Failed operations, by operation. */
  readonly errors = new Map<StorageOperation, number>()
  /** Retention passes over every partition (the timer's and runRetention's). */
  retentionPasses = 0
  /** Segments (local) or batches (memory, postgres) that retention and DeleteRecords removed. */
  deletedSegments = 0
  deletedBytes = 0
  /** Log cleaner passes, partitions cleaned, bytes removed (before less after) and records removed. */
  cleanerPasses = 0
  cleanedPartitions = 0
  cleanedBytes = 0
  cleanedRecords = 0
  /** The connection pool's use (postgres), read at scrape time. */
  pool: (() => PoolUse) | undefined

  failed(operation: StorageOperation): void {
    this.errors.set(operation, (this.errors.get(operation) ?? 0) + 1)
  }

  /** Times `run` into `histogram`, counting its I/O failure under `operation`. */
  timed<T>(histogram: Histogram, operation: StorageOperation, run: () => Promise<T>): Promise<T> {
    const start = performance.now()
    const promise = run()
    // Observed beside the caller's own await, not around it: no extra async frame per append.
    promise.then(
      () => histogram.observe((performance.now() - start) / 1000),
      (err: unknown) => {
        histogram.observe((performance.now() - start) / 1000)
        // I/O faults only: a fenced epoch or an unknown partition is an answer, not a failure.
        if (err instanceof EngineIoError) this.failed(operation)
      },
    )
    return promise
  }
}

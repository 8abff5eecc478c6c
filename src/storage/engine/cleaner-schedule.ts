/**
 * When an engine's log cleaner runs (Kafka's log.cleaner.*): every log.cleaner.backoff.ms, unless
 * log.cleaner.enable is false, a pass over the engine's compacted partitions; one pass at a
 * time, a pass asked for during another running after it. The timer is unref'd and stopped by
 * close, which waits for the running pass (the engine's pass checks `stopped` between batches).
 * Each engine's cleaner extends this with its pass.
 */
import { SerialQueue } from '../../util/serial-queue.ts'
import type { CleanResult } from './compaction.ts'
import type { StorageLogger } from './logger.ts'
import type { StorageMetrics } from './storage-metrics.ts'

/** Kafka's defaults. */
const DEFAULT_BACKOFF_MS = 15_000
const DEFAULT_DEDUPE_BUFFER_BYTES = 128 * 1024 * 1024

/** The result of cleaning one partition. */
export interface PartitionCleanResult extends CleanResult {
  topic: string
  partition: number
}

/** What the schedule needs from its engine. */
export interface CleanerScheduleOptions {
  /** Broker configs: log.cleaner.enable, log.cleaner.backoff.ms, log.cleaner.dedupe.buffer.size. */
  brokerDefaults: () => Record<string, string>
  logger: StorageLogger
  /** Overrides log.cleaner.backoff.ms; 0 starts no timer (tests call runOnce). */
  backoffMs?: number
  /** Counts the passes and what they removed. */
  metrics?: StorageMetrics
}

/** log.cleaner.dedupe.buffer.size: the memory of a pass's key map. */
export function dedupeBufferBytes(brokerDefaults: Record<string, string>): number {
  const configured = Number(brokerDefaults['log.cleaner.dedupe.buffer.size'] ?? DEFAULT_DEDUPE_BUFFER_BYTES)
  return configured > 0 ? configured : DEFAULT_DEDUPE_BUFFER_BYTES
}

/** The timer and the queue of an engine's cleaning passes; the engine's cleaner gives the pass. */
export abstract class CleanerSchedule {
  readonly #options: CleanerScheduleOptions
  readonly #passes = new SerialQueue()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(options: CleanerScheduleOptions) {
    this.#options = options
  }

  /** One pass over every compacted partition that is due. */
  protected abstract pass(): Promise<PartitionCleanResult[]>

  /** True once close was called: a running pass stops at its next batch. */
  get stopped(): boolean {
    return this.#stopped
  }

  /** Starts the timer (unless backoffMs is 0). */
  start(): void {
    if (this.#options.backoffMs === 0) return
    this.#schedule()
  }

  #schedule(): void {
    if (this.#stopped) return
    const configured = Number(this.#options.brokerDefaults()['log.cleaner.backoff.ms'] ?? DEFAULT_BACKOFF_MS)
    const delay = this.#options.backoffMs ?? (configured > 0 ? configured : DEFAULT_BACKOFF_MS)
    this.#timer = setTimeout(() => {
      const enabled = this.#options.brokerDefaults()['log.cleaner.enable'] !== 'false'
      const run = enabled ? this.runOnce() : Promise.resolve([])
      run
        .catch((err: unknown) => this.#options.logger.error({ err }, 'log cleaner failed'))
        .finally(() => this.#schedule())
    }, delay)
    this.#timer.unref()
  }

  /**
   * Runs a pass on every compacted partition that is due; resolves what was cleaned. Asked for
   * during a pass, it runs after that one, so it judges what is due by the clock of its call.
   */
  runOnce(): Promise<PartitionCleanResult[]> {
    return this.#passes.run(async () => {
      if (this.#stopped) return []
      const results = await this.pass()
      const metrics = this.#options.metrics
      if (metrics !== undefined) {
        metrics.cleanerPasses++
        for (const r of results) {
          if (r.bytesBefore === 0) continue
          metrics.cleanedPartitions++
          metrics.cleanedBytes += Math.max(0, r.bytesBefore - r.bytesAfter)
          metrics.cleanedRecords += r.recordsRemoved
        }
      }
      return results
    })
  }

  /** Stops the timer and waits for a running pass to stop. */
  async close(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#passes.idle()
  }
}

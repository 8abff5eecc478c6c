/**
 * The local engine's background log cleaner (Kafka's log.cleaner.*): every log.cleaner.backoff.ms
 * it looks at the partitions whose cleanup.policy includes compact and runs a compaction pass
 * (compaction.ts) on each one that is due, one partition at a time. The timer is unref'd and
 * stopped on close; a running pass stops at its next batch (the schedule is the postgres
 * engine's too: ../engine/cleaner-schedule.ts).
 *
 * Each partition's first dirty offset and earliest delete horizon are checkpointed in its
 * directory (`cleaner-offset-checkpoint`, written atomically), so a restart neither recopies a
 * clean log nor forgets when kept tombstones and markers expire. The horizons themselves live in
 * the batches (KIP-534); the checkpoint only says when the next one is due. Losing it costs one
 * extra pass: the whole log counts as dirty then.
 */

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CleanerSchedule,
  type CleanerScheduleOptions,
  dedupeBufferBytes,
  type PartitionCleanResult,
} from '../engine/cleaner-schedule.ts'
import { EngineIoError } from '../engine/storage-error.ts'
import type { AbortedTxnsCleanedHandler } from '../types.ts'
import {
  type CleanerCheckpoint,
  type CleanOptions,
  type CleanResult,
  cleanPartition,
  planCleaning,
} from './compaction.ts'
import type { StorageFaults } from './faults.ts'
import { isNotFound, writeFileAtomic } from './fs-util.ts'
import type { PartitionLog } from './partition-log.ts'

/** File of a partition directory holding the cleaner's first dirty offset. */
export const CLEANER_CHECKPOINT_FILE = 'cleaner-offset-checkpoint'

/** What the cleaner needs from its engine. */
export interface LogCleanerOptions extends CleanerScheduleOptions {
  /** Every open partition log, with its name for logs. */
  logs: () => Iterable<{ topic: string; partition: number; log: PartitionLog }>
  now: () => number
  faults?: StorageFaults
  /** Who keeps the aborted-transaction index, once known (Storage.onAbortedTxnsCleaned). */
  abortedTxnsCleaned: () => AbortedTxnsCleanedHandler | undefined
}

export type { PartitionCleanResult }

/** The background compaction of an engine's compacted partitions. */
export class LogCleaner extends CleanerSchedule {
  readonly #options: LogCleanerOptions
  readonly #checkpoints = new WeakMap<PartitionLog, CleanerCheckpoint>()

  constructor(options: LogCleanerOptions) {
    super(options)
    this.#options = options
  }

  protected override async pass(): Promise<PartitionCleanResult[]> {
    const results: PartitionCleanResult[] = []
    for (const { topic, partition, log } of [...this.#options.logs()]) {
      if (this.stopped) break
      try {
        const result = await this.#clean(topic, partition, log)
        if (result !== null) results.push({ topic, partition, ...result })
      } catch (err) {
        if (err instanceof EngineIoError && err.reason === 'CLOSED') continue
        this.#options.metrics?.failed('cleaner')
        this.#options.logger.error({ err, topic, partition }, 'log cleaning failed')
      }
    }
    return results
  }

  async #clean(topic: string, partition: number, log: PartitionLog): Promise<CleanResult | null> {
    const view = log.cleanerView()
    if (!view.config.cleanupPolicy.compact) return null
    const checkpoint = await this.#checkpoint(log, view.dir)
    checkpoint.firstDirtyOffset = Math.max(checkpoint.firstDirtyOffset, view.logStartOffset)
    const now = this.#options.now()
    const plan = planCleaning(view, checkpoint, now)
    if (plan.reason === null) return null
    const result = await cleanPartition(log, plan, {
      now,
      maxMapBytes: dedupeBufferBytes(this.#options.brokerDefaults()),
      logger: this.#options.logger,
      faults: this.#options.faults,
      stopped: () => this.stopped,
      forgetAbortedTxns: forgetter(this.#options.abortedTxnsCleaned(), topic, partition),
    })
    if (result === null) return null
    checkpoint.firstDirtyOffset = result.cleanedUpTo
    checkpoint.nextDeleteHorizon = result.nextDeleteHorizon
    await writeCheckpoint(view.dir, checkpoint)
    return result
  }

  async #checkpoint(log: PartitionLog, dir: string): Promise<CleanerCheckpoint> {
    let checkpoint = this.#checkpoints.get(log)
    if (checkpoint === undefined) {
      checkpoint = await readCheckpoint(dir)
      this.#checkpoints.set(log, checkpoint)
    }
    return checkpoint
  }
}

/** The checkpoint file: the first dirty offset, then the next delete horizon if any, one per line. */
async function readCheckpoint(dir: string): Promise<CleanerCheckpoint> {
  const none: CleanerCheckpoint = { firstDirtyOffset: 0, nextDeleteHorizon: Number.POSITIVE_INFINITY }
  let text: string
  try {
    text = await readFile(join(dir, CLEANER_CHECKPOINT_FILE), 'utf8')
  } catch (err) {
    if (isNotFound(err)) return none
    throw err
  }
  const [offset, horizon] = text.trim().split('\n').map(Number)
  if (offset === undefined || !Number.isSafeInteger(offset) || offset < 0) return none
  return {
    firstDirtyOffset: offset,
    nextDeleteHorizon: horizon !== undefined && Number.isSafeInteger(horizon) ? horizon : Number.POSITIVE_INFINITY,
  }
}

async function writeCheckpoint(dir: string, checkpoint: CleanerCheckpoint): Promise<void> {
  const lines = [checkpoint.firstDirtyOffset]
  if (Number.isFinite(checkpoint.nextDeleteHorizon)) lines.push(checkpoint.nextDeleteHorizon)
  await writeFileAtomic(join(dir, CLEANER_CHECKPOINT_FILE), Buffer.from(`${lines.join('\n')}\n`))
}

function forgetter(
  handler: AbortedTxnsCleanedHandler | undefined,
  topic: string,
  partition: number,
): CleanOptions['forgetAbortedTxns'] {
  return handler === undefined ? undefined : (txns) => handler(topic, partition, txns)
}

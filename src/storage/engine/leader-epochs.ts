/**
 * Partition leader epochs for the engines one process owns (memory, local): kept in memory for
 * the check every append makes, and in the engine's key-value store (namespace `leader-epochs`)
 * so that they survive a restart where the engine is durable. A partition never claimed is at
 * epoch 0.
 */

import type { KeyValueStore, LeaderEpochListener } from '../types.ts'
import { Listeners } from './listeners.ts'
import type { StorageLogger } from './logger.ts'
import { fencedLeaderEpoch } from './storage-error.ts'

const NAMESPACE = 'leader-epochs'

function key(topic: string, partition: number): string {
  return JSON.stringify([topic, partition])
}

export class LeaderEpochs {
  readonly #kv: KeyValueStore
  readonly #epochs = new Map<string, number>()
  /** The engine's onLeaderEpoch listeners, told of every claim that raised an epoch. */
  readonly raised: Listeners<Parameters<LeaderEpochListener>>

  /** Epochs over `kv`, none loaded: for a store known to be empty (the memory engine's new one). */
  constructor(kv: KeyValueStore, logger: StorageLogger) {
    this.#kv = kv
    this.raised = new Listeners(logger, 'onLeaderEpoch')
  }

  /** Loads the stored epochs. */
  static async load(kv: KeyValueStore, logger: StorageLogger): Promise<LeaderEpochs> {
    const epochs = new LeaderEpochs(kv, logger)
    for (const [k, v] of await kv.list(NAMESPACE)) epochs.#epochs.set(k, Number(v.toString()))
    return epochs
  }

  current(topic: string, partition: number): number {
    return this.#epochs.get(key(topic, partition)) ?? 0
  }

  /** Throws FENCED_LEADER_EPOCH unless `epoch` is the partition's current epoch. */
  check(topic: string, partition: number, epoch: number): void {
    const current = this.current(topic, partition)
    if (epoch !== current) throw fencedLeaderEpoch(topic, partition, epoch, current)
  }

  /** Stores `epoch` if it is above the current one, durably before appends must carry it; resolves the epoch now current. */
  async claim(topic: string, partition: number, epoch: number): Promise<number> {
    if (epoch <= this.current(topic, partition)) return this.current(topic, partition)
    const k = key(topic, partition)
    await this.#kv.put(NAMESPACE, new Map([[k, Buffer.from(String(epoch))]]))
    if (epoch > this.current(topic, partition)) {
      this.#epochs.set(k, epoch)
      this.raised.emit(topic, partition, epoch)
    }
    return this.current(topic, partition)
  }

  /** Forgets a deleted topic's epochs (a topic created again under its name starts at 0). */
  async forgetTopic(topic: string): Promise<void> {
    const gone = new Map<string, Buffer | null>()
    for (const k of this.#epochs.keys()) {
      if ((JSON.parse(k) as [string, number])[0] === topic) gone.set(k, null)
    }
    for (const k of gone.keys()) this.#epochs.delete(k)
    if (gone.size > 0) await this.#kv.put(NAMESPACE, gone)
  }
}

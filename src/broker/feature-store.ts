/**
 * The finalized feature levels (KIP-584) as UpdateFeatures leaves them, kept through the storage
 * engine's key-value store so that they survive a restart and every broker of a cluster over
 * PostgreSQL reports the same: one key holding the levels changed from their defaults
 * (features.ts) and the epoch, written with compare-and-set over the version last read, and
 * polled by the other brokers (change-marker.ts, the key being its own marker). Each change moves
 * the epoch on, as Kafka's metadata offset moves, so that clients take the new levels.
 */
import { ChangeMarker } from '../storage/change-marker.ts'
import type { KeyValueStore } from '../storage/types.ts'
import type { Log } from '../util/logger.ts'
import { FINALIZED_FEATURES_EPOCH, type FinalizedFeatures, SUPPORTED_FEATURES } from './features.ts'

const NAMESPACE = 'features'
const KEY = 'finalized'

interface Stored {
  epoch: number
  levels: Record<string, number>
}

export interface FeatureStoreOptions {
  kv: KeyValueStore
  /** Other brokers share the store: their changes are polled for. */
  shared: boolean
  log: Log
}

/** The cluster's finalized feature levels. */
export class FeatureStore implements FinalizedFeatures {
  readonly #options: FeatureStoreOptions
  readonly #changes: ChangeMarker
  #stored: Stored = { epoch: Number(FINALIZED_FEATURES_EPOCH), levels: {} }
  /** The stored key's version when last read or written (0: never written). */
  #version = 0

  constructor(options: FeatureStoreOptions) {
    this.#options = options
    this.#changes = new ChangeMarker(options.kv, NAMESPACE, KEY)
  }

  get epoch(): bigint {
    return BigInt(this.#stored.epoch)
  }

  /** A feature's finalized level (0: not finalized, or unknown). */
  level(name: string): number {
    return this.#stored.levels[name] ?? SUPPORTED_FEATURES.find((f) => f.name === name)?.level ?? 0
  }

  async load(): Promise<void> {
    await this.#reload()
    if (this.#options.shared) this.#changes.watch(() => this.#reload(), this.#options.log, 'finalized features')
  }

  close(): void {
    this.#changes.stop()
  }

  /**
   * Finalizes new levels at the next epoch, over the levels last read; false when another broker
   * changed them first (they are read again, and the caller may decide again).
   */
  async update(levels: ReadonlyMap<string, number>): Promise<boolean> {
    const next: Stored = { epoch: this.#stored.epoch + 1, levels: { ...this.#stored.levels } }
    for (const [name, level] of levels) next.levels[name] = level
    const written = await this.#options.kv.putIfVersion(
      NAMESPACE,
      KEY,
      this.#version,
      Buffer.from(JSON.stringify(next)),
    )
    if (written === null) {
      await this.#reload()
      return false
    }
    this.#stored = next
    this.#version = written
    return true
  }

  async #reload(): Promise<void> {
    const { value, version } = await this.#changes.read(() => this.#options.kv.getVersioned(NAMESPACE, KEY))
    this.#version = version
    if (value !== undefined) this.#stored = JSON.parse(value.toString('utf8')) as Stored
  }
}

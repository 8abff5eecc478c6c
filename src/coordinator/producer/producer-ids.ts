/**
 * Producer id allocation. Ids come from blocks reserved atomically in the key-value store
 * (namespace `producer-ids`, KeyValueStore.allocate), as Kafka's ProducerIdManager reserves
 * blocks through the controller: a restart skips the rest of the current block, and brokers
 * sharing one store get disjoint blocks, so no id is ever handed out twice.
 */
import type { KeyValueStore } from '../../storage/types.ts'

const NAMESPACE = 'producer-ids'
const KEY = 'next-block'
/** Ids reserved per allocation. */
export const PRODUCER_ID_BLOCK_SIZE = 1000

/** Hands out producer ids, never twice across restarts or brokers. */
export class ProducerIdManager {
  readonly #kv: KeyValueStore
  #next = 0
  #blockEnd = 0
  #reserving: Promise<void> | null = null

  constructor(kv: KeyValueStore) {
    this.#kv = kv
  }

  /** The next unused producer id. */
  async next(): Promise<number> {
    while (this.#next >= this.#blockEnd) {
      this.#reserving ??= this.#reserve().finally(() => {
        this.#reserving = null
      })
      await this.#reserving
    }
    return this.#next++
  }

  async #reserve(): Promise<void> {
    const start = await this.#kv.allocate(NAMESPACE, KEY, PRODUCER_ID_BLOCK_SIZE)
    this.#next = start
    this.#blockEnd = start + PRODUCER_ID_BLOCK_SIZE
  }
}

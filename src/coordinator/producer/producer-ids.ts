/**
 * Producer id allocation. Ids come from blocks reserved durably in the key-value store
 * (namespace `producer-ids`), as Kafka's ProducerIdManager reserves blocks in the metadata log:
 * a restart skips the rest of the current block and never hands out an id twice.
 */
import type { KeyValueStore } from '../../storage/types.ts'

const NAMESPACE = 'producer-ids'
const KEY = 'next-block'
/** Ids reserved per write. */
export const PRODUCER_ID_BLOCK_SIZE = 1000

/** Hands out producer ids, never twice across restarts. */
export class ProducerIdManager {
  readonly #kv: KeyValueStore
  #next = 0
  #blockEnd = 0
  #reserving: Promise<void> | null = null

  constructor(kv: KeyValueStore) {
    this.#kv = kv
  }

  /** Reads where the next block starts. */
  async load(): Promise<void> {
    const stored = await this.#kv.get(NAMESPACE, KEY)
    this.#next = stored === undefined ? 0 : Number(stored.toString())
    this.#blockEnd = this.#next
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

  /** One past the largest id handed out so far, or reserved. */
  get reservedEnd(): number {
    return this.#blockEnd
  }

  async #reserve(): Promise<void> {
    const end = this.#blockEnd + PRODUCER_ID_BLOCK_SIZE
    await this.#kv.put(NAMESPACE, new Map([[KEY, Buffer.from(String(end))]]))
    this.#next = this.#blockEnd
    this.#blockEnd = end
  }
}

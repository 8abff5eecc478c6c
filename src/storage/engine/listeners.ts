/** The listener registries engines keep (onAppend, onMetadataChange): listeners run synchronously, one throwing does not stop the rest. */
import type { StorageLogger } from './logger.ts'

/** A set of listeners called with `Args`. */
export class Listeners<Args extends unknown[]> {
  #listeners = new Set<(...args: Args) => void>()
  readonly #logger: StorageLogger
  readonly #name: string

  /** `name` says in the log which registry a failing listener belonged to. */
  constructor(logger: StorageLogger, name: string) {
    this.#logger = logger
    this.#name = name
  }

  /** Adds a listener; the returned function removes it. */
  add(listener: (...args: Args) => void): () => void {
    // Wrapped so the same function can be registered twice and removed independently.
    const entry = (...args: Args): void => listener(...args)
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  /** Calls every listener. */
  emit(...args: Args): void {
    for (const listener of this.#listeners) {
      try {
        listener(...args)
      } catch (err) {
        this.#logger.error({ err, args }, `${this.#name} listener failed`)
      }
    }
  }
}

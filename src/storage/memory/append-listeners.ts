/** The onAppend registry both engines use: listeners run synchronously, one throwing does not stop the rest. */
import type { AppendListener } from '../types.ts'
import type { StorageLogger } from './logger.ts'

/** A set of AppendListeners. */
export class AppendListeners {
  #listeners = new Set<AppendListener>()
  readonly #logger: StorageLogger

  constructor(logger: StorageLogger) {
    this.#logger = logger
  }

  /** Adds a listener; the returned function removes it. */
  add(listener: AppendListener): () => void {
    // Wrapped so the same function can be registered twice and removed independently.
    const entry: AppendListener = (t, p, hw) => listener(t, p, hw)
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  /** Tells every listener about a new high watermark. */
  emit(topic: string, partition: number, highWatermark: number): void {
    for (const listener of this.#listeners) {
      try {
        listener(topic, partition, highWatermark)
      } catch (err) {
        this.#logger.error({ err, topic, partition }, 'onAppend listener failed')
      }
    }
  }
}

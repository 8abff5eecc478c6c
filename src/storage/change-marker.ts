/**
 * A namespace of the key-value store whose writers bump a change marker in the same atomic put,
 * so that readers over shared storage (the other brokers of a cluster) poll one key to know when
 * to read the namespace again: the ACLs and client quotas use it. Data kept in one key, written
 * with compare-and-set, may be its own marker (the finalized features).
 */
import type { Log } from '../util/logger.ts'
import type { KeyValueStore } from './types.ts'

/** The marker's key: not a valid key of the data kept beside it. */
export const CHANGE_MARKER = '#changes'
const POLL_MS = 1000

export class ChangeMarker {
  readonly #kv: KeyValueStore
  readonly #namespace: string
  readonly #key: string
  /** The marker's version when the namespace was last read. */
  #seen = -1
  #timer: NodeJS.Timeout | undefined

  /** `key`: the marker's key, CHANGE_MARKER unless the data's own key is watched. */
  constructor(kv: KeyValueStore, namespace: string, key = CHANGE_MARKER) {
    this.#kv = kv
    this.#namespace = namespace
    this.#key = key
  }

  /** The entry a write puts beside its changes. */
  bump(): [string, Buffer] {
    return [this.#key, Buffer.from(String(Date.now()))]
  }

  /** Reads the namespace through `read`, remembering which change it has seen. */
  async read<T>(read: () => Promise<T>): Promise<T> {
    const version = (await this.#kv.getVersioned(this.#namespace, this.#key)).version
    const value = await read()
    this.#seen = version
    return value
  }

  /** Calls `reload` every second in which the marker moved; `what` names the data for the log. */
  watch(reload: () => Promise<void>, log: Log, what: string): void {
    this.#timer = setInterval(() => {
      this.#changed()
        .then((changed) => (changed ? reload() : undefined))
        .catch((err: unknown) => log.warn({ err }, `reading changed ${what} failed`))
    }, POLL_MS)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  async #changed(): Promise<boolean> {
    return (await this.#kv.getVersioned(this.#namespace, this.#key)).version !== this.#seen
  }
}

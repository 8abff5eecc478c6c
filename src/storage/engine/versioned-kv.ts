/**
 * Conditional writes and allocation for the key-value stores of engines that one process owns
 * (memory, local): versions are kept in memory, since no other process writes the store, and
 * start at 1 for every key found on open. Atomicity comes from the event loop: a conditional
 * write or an allocation first waits for the writes of its key already under way, then checks and
 * starts its own in one synchronous step, so two of them can never both pass the same check.
 */
import type { KeyValueStore, Versioned } from '../types.ts'

/** A KeyValueStore whose engine supplies only plain reads and writes. */
export abstract class SingleWriterKeyValueStore implements KeyValueStore {
  /** namespace → key → version; keys never written are at 0, stored keys not written since open at 1. */
  readonly #versions = new Map<string, Map<string, number>>()
  /** namespace → key → the last write of the key under way. */
  readonly #writing = new Map<string, Map<string, Promise<void>>>()

  abstract get(namespace: string, key: string): Promise<Buffer | undefined>
  abstract list(namespace: string): Promise<Map<string, Buffer>>
  /** Writes every entry atomically; a null value deletes the key. */
  protected abstract write(namespace: string, entries: Map<string, Buffer | null>): Promise<void>
  /** Removes a whole namespace. */
  protected abstract dropNamespace(namespace: string): Promise<void>
  /** The stored value, read synchronously from the engine's memory. */
  protected abstract peek(namespace: string, key: string): Buffer | undefined

  put(namespace: string, entries: Map<string, Buffer | null>): Promise<void> {
    // Versions are read before the write starts: an engine may apply it synchronously.
    const before = [...entries.keys()].map((key) => [key, this.#version(namespace, key)] as const)
    const written = this.write(namespace, entries)
    for (const [key, version] of before) this.#started(namespace, key, version, written)
    return written
  }

  drop(namespace: string): Promise<void> {
    const before = [...(this.#versions.get(namespace)?.keys() ?? [])].map(
      (key) => [key, this.#version(namespace, key)] as const,
    )
    const dropped = this.dropNamespace(namespace)
    for (const [key, version] of before) this.#started(namespace, key, version, dropped)
    return dropped
  }

  async getVersioned(namespace: string, key: string): Promise<Versioned> {
    for (let p = this.#pending(namespace, key); p !== undefined; p = this.#pending(namespace, key)) await p
    const value = this.peek(namespace, key)
    return { value: value === undefined ? undefined : Buffer.from(value), version: this.#version(namespace, key) }
  }

  async putIfVersion(namespace: string, key: string, expected: number, value: Buffer | null): Promise<number | null> {
    for (let p = this.#pending(namespace, key); p !== undefined; p = this.#pending(namespace, key)) await p
    if (this.#version(namespace, key) !== expected) return null
    await this.put(namespace, new Map([[key, value]]))
    return expected + 1
  }

  async allocate(namespace: string, key: string, count: number): Promise<number> {
    for (let p = this.#pending(namespace, key); p !== undefined; p = this.#pending(namespace, key)) await p
    const raw = this.peek(namespace, key)
    const start = raw === undefined ? 0 : Number(raw.toString())
    await this.put(namespace, new Map([[key, Buffer.from(String(start + count))]]))
    return start
  }

  /**
   * The write of the key under way, if any. Callers wait in a loop until there is none and then
   * check and write in the same synchronous step, so no other write can slip in between.
   */
  #pending(namespace: string, key: string): Promise<void> | undefined {
    return this.#writing
      .get(namespace)
      ?.get(key)
      ?.catch(() => {})
  }

  #version(namespace: string, key: string): number {
    return this.#versions.get(namespace)?.get(key) ?? (this.peek(namespace, key) === undefined ? 0 : 1)
  }

  /** A write of the key has started: its version moves now, its promise is awaited by checks. */
  #started(namespace: string, key: string, version: number, written: Promise<void>): void {
    let versions = this.#versions.get(namespace)
    if (versions === undefined) {
      versions = new Map()
      this.#versions.set(namespace, versions)
    }
    versions.set(key, version + 1)
    let writing = this.#writing.get(namespace)
    if (writing === undefined) {
      writing = new Map()
      this.#writing.set(namespace, writing)
    }
    writing.set(key, written)
    const done = (): void => {
      if (writing.get(key) === written) writing.delete(key)
    }
    written.then(done, done)
  }
}

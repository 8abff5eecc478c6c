/** The memory engine's KeyValueStore: namespaces of maps; a put is applied in one synchronous step. */
import { SingleWriterKeyValueStore } from '../engine/versioned-kv.ts'

/** An in-memory KeyValueStore. Values are copied in and out, so callers cannot alias stored state. */
export class MemoryKeyValueStore extends SingleWriterKeyValueStore {
  #namespaces = new Map<string, Map<string, Buffer>>()

  async get(namespace: string, key: string): Promise<Buffer | undefined> {
    const value = this.#namespaces.get(namespace)?.get(key)
    return value === undefined ? undefined : Buffer.from(value)
  }

  protected peek(namespace: string, key: string): Buffer | undefined {
    return this.#namespaces.get(namespace)?.get(key)
  }

  async list(namespace: string): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>()
    for (const [key, value] of this.#namespaces.get(namespace) ?? []) out.set(key, Buffer.from(value))
    return out
  }

  protected async write(namespace: string, entries: Map<string, Buffer | null>): Promise<void> {
    let ns = this.#namespaces.get(namespace)
    if (ns === undefined) {
      ns = new Map()
      this.#namespaces.set(namespace, ns)
    }
    for (const [key, value] of entries) {
      if (value === null) ns.delete(key)
      else ns.set(key, Buffer.from(value))
    }
    if (ns.size === 0) this.#namespaces.delete(namespace)
  }

  protected async dropNamespace(namespace: string): Promise<void> {
    this.#namespaces.delete(namespace)
  }
}

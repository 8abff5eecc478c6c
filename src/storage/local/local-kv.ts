/** The local engine's KeyValueStore: reads from the metadata state, writes through its journal. */
import { SingleWriterKeyValueStore } from '../engine/versioned-kv.ts'
import type { MetadataStore } from './metadata-store.ts'

/** A durable KeyValueStore; a put is one journal record, so all its keys land or none. */
export class LocalKeyValueStore extends SingleWriterKeyValueStore {
  readonly #meta: MetadataStore

  constructor(meta: MetadataStore) {
    super()
    this.#meta = meta
  }

  protected peek(namespace: string, key: string): Buffer | undefined {
    return this.#meta.kv.get(namespace)?.get(key)
  }

  async get(namespace: string, key: string): Promise<Buffer | undefined> {
    const value = this.#meta.kv.get(namespace)?.get(key)
    return value === undefined ? undefined : Buffer.from(value)
  }

  async list(namespace: string): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>()
    for (const [key, value] of this.#meta.kv.get(namespace) ?? []) out.set(key, Buffer.from(value))
    return out
  }

  protected async write(namespace: string, entries: Map<string, Buffer | null>): Promise<void> {
    if (entries.size === 0) return
    const encoded: [string, string | null][] = []
    for (const [key, value] of entries) encoded.push([key, value === null ? null : value.toString('base64')])
    await this.#meta.commit({ op: 'kv', ns: namespace, entries: encoded })
  }

  protected async dropNamespace(namespace: string): Promise<void> {
    // Always journaled, even for an absent namespace: a put queued before it must not survive it.
    await this.#meta.commit({ op: 'kvDrop', ns: namespace })
  }
}

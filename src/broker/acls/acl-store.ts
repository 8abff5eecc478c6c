/**
 * ACLs kept through the storage engine's key-value store, so that every broker of a cluster over
 * PostgreSQL sees the same ones: one key per ACL (its binding), and a change marker that every
 * write bumps in the same atomic put, which the other brokers poll to know when to read again.
 */
import type { KeyValueStore } from '../../storage/types.ts'
import { type AclBinding, aclFromKey, aclKey } from './acl-model.ts'

const NAMESPACE = 'acls'
/** Not an ACL key (those are JSON arrays): its version rises with every change. */
const CHANGE_MARKER = '#changes'

export class AclStore {
  readonly #kv: KeyValueStore

  constructor(kv: KeyValueStore) {
    this.#kv = kv
  }

  async list(): Promise<AclBinding[]> {
    const entries = await this.#kv.list(NAMESPACE)
    return [...entries.keys()].filter((k) => k !== CHANGE_MARKER).map(aclFromKey)
  }

  /** A number that differs after any change made through any broker. */
  async changeVersion(): Promise<number> {
    return (await this.#kv.getVersioned(NAMESPACE, CHANGE_MARKER)).version
  }

  /** Adds and removes ACLs in one atomic step. */
  async write(add: readonly AclBinding[], remove: readonly AclBinding[]): Promise<void> {
    const entries = new Map<string, Buffer | null>()
    for (const acl of remove) entries.set(aclKey(acl), null)
    for (const acl of add) entries.set(aclKey(acl), Buffer.alloc(0))
    entries.set(CHANGE_MARKER, Buffer.from(String(Date.now())))
    await this.#kv.put(NAMESPACE, entries)
  }
}

/**
 * ACLs kept through the storage engine's key-value store, so that every broker of a cluster over
 * PostgreSQL sees the same ones: one key per ACL (its binding), and a change marker that every
 * write bumps in the same atomic put, which the other brokers poll to know when to read again.
 */
import { CHANGE_MARKER, ChangeMarker } from '../../storage/change-marker.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import { type AclBinding, aclFromKey, aclKey } from './acl-model.ts'

const NAMESPACE = 'acls'

export class AclStore {
  readonly #kv: KeyValueStore
  /** Bumped with every write (an ACL key is a JSON array, never the marker's key). */
  readonly changes: ChangeMarker

  constructor(kv: KeyValueStore) {
    this.#kv = kv
    this.changes = new ChangeMarker(kv, NAMESPACE)
  }

  async list(): Promise<AclBinding[]> {
    const entries = await this.#kv.list(NAMESPACE)
    return [...entries.keys()].filter((k) => k !== CHANGE_MARKER).map(aclFromKey)
  }

  /** Adds and removes ACLs in one atomic step. */
  async write(add: readonly AclBinding[], remove: readonly AclBinding[]): Promise<void> {
    const entries = new Map<string, Buffer | null>()
    for (const acl of remove) entries.set(aclKey(acl), null)
    for (const acl of add) entries.set(aclKey(acl), Buffer.alloc(0))
    entries.set(...this.changes.bump())
    await this.#kv.put(NAMESPACE, entries)
  }
}

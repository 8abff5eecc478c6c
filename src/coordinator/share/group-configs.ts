/**
 * Group configs (the GROUP config resource, KIP-848 and KIP-932): per-group overrides of the
 * broker's group defaults, kept in the key-value namespace `group-configs` (one JSON object per
 * group) and in memory for the hot paths that read them. Over a store several brokers share, a
 * broker reads them again before it describes or alters them (refresh).
 */
import type { KeyValueStore } from '../../storage/types.ts'

export const GROUP_CONFIGS_NAMESPACE = 'group-configs'

export class GroupConfigStore {
  readonly #kv: KeyValueStore
  #configs = new Map<string, Readonly<Record<string, string>>>()

  constructor(kv: KeyValueStore) {
    this.#kv = kv
  }

  /** Reads every group's overrides (at start, and before describing or altering them). */
  async load(): Promise<void> {
    const stored = await this.#kv.list(GROUP_CONFIGS_NAMESPACE)
    const next = new Map<string, Readonly<Record<string, string>>>()
    for (const [groupId, value] of stored) next.set(groupId, JSON.parse(value.toString()) as Record<string, string>)
    this.#configs = next
  }

  /** A group's overrides ({} when it has none). */
  get(groupId: string): Readonly<Record<string, string>> {
    return this.#configs.get(groupId) ?? {}
  }

  /** The groups that have overrides. */
  groupIds(): string[] {
    return [...this.#configs.keys()]
  }

  /** Replaces a group's overrides durably (none: removed). */
  async set(groupId: string, configs: Record<string, string>): Promise<void> {
    const empty = Object.keys(configs).length === 0
    await this.#kv.put(
      GROUP_CONFIGS_NAMESPACE,
      new Map([[groupId, empty ? null : Buffer.from(JSON.stringify(configs))]]),
    )
    if (empty) this.#configs.delete(groupId)
    else this.#configs.set(groupId, { ...configs })
  }
}

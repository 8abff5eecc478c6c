/**
 * SCRAM credentials kept through the storage engine's key-value store (so every broker of a
 * cluster over PostgreSQL sees the same users): one entry per user and mechanism, holding the
 * salt, iterations and the stored and server keys, never the password.
 */
import { SCRAM_MECHANISMS, type ScramCredential, type ScramMechanism } from '../../server/sasl/scram.ts'
import type { KeyValueStore } from '../../storage/types.ts'

const NAMESPACE = 'scram-credentials'

/** Kafka's ScramMechanism ids in DescribeUserScramCredentials and AlterUserScramCredentials. */
export const SCRAM_MECHANISM_IDS: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 }

/** The mechanism of a Kafka id, if it is one. */
export function scramMechanismOf(id: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_IDS[m] === id)
}

const keyOf = (user: string, mechanism: ScramMechanism): string => `${mechanism}\u0000${user}`

interface StoredCredential {
  salt: string
  storedKey: string
  serverKey: string
  iterations: number
}

function decode(value: Buffer): ScramCredential {
  const v = JSON.parse(value.toString('utf8')) as StoredCredential
  return {
    salt: Buffer.from(v.salt, 'base64'),
    storedKey: Buffer.from(v.storedKey, 'base64'),
    serverKey: Buffer.from(v.serverKey, 'base64'),
    iterations: v.iterations,
  }
}

function encode(c: ScramCredential): Buffer {
  const v: StoredCredential = {
    salt: c.salt.toString('base64'),
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
    iterations: c.iterations,
  }
  return Buffer.from(JSON.stringify(v))
}

export class ScramStore {
  readonly #kv: KeyValueStore

  constructor(kv: KeyValueStore) {
    this.#kv = kv
  }

  async get(user: string, mechanism: ScramMechanism): Promise<ScramCredential | undefined> {
    const value = await this.#kv.get(NAMESPACE, keyOf(user, mechanism))
    return value && decode(value)
  }

  /** Every user with its mechanisms and iterations. */
  async list(): Promise<Map<string, { mechanism: ScramMechanism; iterations: number }[]>> {
    const out = new Map<string, { mechanism: ScramMechanism; iterations: number }[]>()
    for (const [key, value] of await this.#kv.list(NAMESPACE)) {
      const sep = key.indexOf('\u0000')
      const mechanism = key.slice(0, sep) as ScramMechanism
      const user = key.slice(sep + 1)
      out.set(user, [...(out.get(user) ?? []), { mechanism, iterations: decode(value).iterations }])
    }
    return out
  }

  /** Writes and deletes (null) credentials in one atomic step. */
  async write(
    changes: { user: string; mechanism: ScramMechanism; credential: ScramCredential | null }[],
  ): Promise<void> {
    const entries = new Map<string, Buffer | null>()
    for (const c of changes) entries.set(keyOf(c.user, c.mechanism), c.credential && encode(c.credential))
    await this.#kv.put(NAMESPACE, entries)
  }
}

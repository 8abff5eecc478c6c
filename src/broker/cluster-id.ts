import { randomBytes } from 'node:crypto'
import type { KeyValueStore } from '../storage/types.ts'

const NAMESPACE = 'cluster'

/**
 * The cluster id, made once and kept in storage: 16 random bytes in URL-safe base64 without
 * padding, the form Kafka's storage tool generates.
 */
export async function loadClusterId(kv: KeyValueStore): Promise<string> {
  const stored = await kv.get(NAMESPACE, 'id')
  if (stored) return stored.toString('utf8')
  const id = randomBytes(16).toString('base64url')
  await kv.put(NAMESPACE, new Map([['id', Buffer.from(id)]]))
  return id
}

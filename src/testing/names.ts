import { randomBytes } from 'node:crypto'

let counter = 0

/**
 * A name no other test in this process (or a parallel one) uses: `prefix-<n>-<random>`, valid as
 * a topic, group or transactional id. Give each test its own topics and groups and they cannot
 * see each other's records or offsets, even on a shared broker.
 */
export function uniqueName(prefix = 'test'): string {
  counter++
  return `${prefix}-${counter}-${randomBytes(4).toString('hex')}`
}

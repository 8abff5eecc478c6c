/** Helpers of the ACL tests: a broker's SASL PLAIN users and the client options that log in as them. */
import { createRequire } from 'node:module'

/** kafkajs' ACL enums (a CommonJS module whose named exports an ES import does not see). */
export const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = createRequire(
  import.meta.url,
)('kafkajs') as typeof import('kafkajs')

/** Kafka's standard authorizer, as a server.properties names it. */
export const AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'

/** The PLAIN users: admin (the tests' super user) and one per test; each password is `<name>-secret`. */
export const USERS = [
  'admin',
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'kim',
  'liam',
  'mia',
  'nora',
  'mallory',
]

/** A JAAS config whose PLAIN module knows USERS. */
export const PLAIN_JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" ${USERS.map((u) => `user_${u}="${u}-secret"`).join(' ')};`

/** kafkajs' sasl option for one of the PLAIN users. */
export function sasl(user: string): { mechanism: 'plain'; username: string; password: string } {
  return { mechanism: 'plain', username: user, password: `${user}-secret` }
}

export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

/**
 * Whether a client's error carries Kafka's error `name` anywhere: kafkajs' `type` (also on its
 * `cause`), @platformatic/kafka's `apiId` in the errors of an AggregateError.
 */
export function carriesKafkaError(err: unknown, name: string): boolean {
  const seen = new Set<unknown>()
  const visit = (e: unknown): boolean => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return false
    seen.add(e)
    const o = e as { type?: unknown; apiId?: unknown; cause?: unknown; errors?: unknown }
    if (o.type === name || o.apiId === name) return true
    return visit(o.cause) || (Array.isArray(o.errors) && o.errors.some(visit))
  }
  return visit(err)
}

/** Helpers of the ACL tests: a broker's SASL PLAIN users and the client options that log in as them. */
import { createRequire } from 'node:module'

/** kafkajs' ACL enums (a CommonJS module whose named exports an ES import does not see). */
export const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = createRequire(
  import.meta.url,
)('kafkajs') as typeof import('kafkajs')

/** Kafka's standard authorizer, as a server.properties names it. */
export const AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer'

/** PLAIN users: admin (the tests' super user), alice, bob and carol; each password is `<name>-secret`. */
export const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret" user_carol="carol-secret";'

/** kafkajs' sasl option for one of the PLAIN users. */
export function sasl(user: string): { mechanism: 'plain'; username: string; password: string } {
  return { mechanism: 'plain', username: user, password: `${user}-secret` }
}

export const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

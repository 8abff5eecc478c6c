/**
 * The TLS, SASL and authorizer broker configs samsa applies, under Kafka's names and with Kafka's
 * defaults. Each TLS and SASL config may also be set for one listener as
 * `listener.name.<listener>.<config>` (the SASL JAAS config as
 * `listener.name.<listener>.<mechanism>.sasl.jaas.config`), as in Kafka.
 */
import type { ConfigDefinition } from './topic-configs.ts'

/** The authorizer.class.name values that turn ACL checks on: Kafka's standard authorizer, new and old. */
export const STANDARD_AUTHORIZERS: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
]

export const SECURITY_CONFIGS: readonly ConfigDefinition[] = [
  {
    name: 'ssl.keystore.type',
    type: 'STRING',
    default: 'JKS',
    doc: 'Format of the key store: PEM (ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key) or PKCS12; JKS cannot be read here.',
  },
  {
    name: 'ssl.keystore.location',
    type: 'STRING',
    default: '',
    doc: "The broker's key store: a PEM file holding its private key and certificate chain, or a PKCS12 file. Reloaded when it changes.",
  },
  {
    name: 'ssl.keystore.password',
    type: 'PASSWORD',
    default: '',
    doc: 'Password of a PKCS12 key store (PEM key stores take ssl.key.password instead).',
  },
  {
    name: 'ssl.keystore.certificate.chain',
    type: 'PASSWORD',
    default: '',
    doc: "The broker's certificate chain in PEM, inline (with ssl.keystore.type=PEM).",
  },
  {
    name: 'ssl.keystore.key',
    type: 'PASSWORD',
    default: '',
    doc: "The broker's private key in PEM, inline (with ssl.keystore.type=PEM).",
  },
  {
    name: 'ssl.key.password',
    type: 'PASSWORD',
    default: '',
    doc: 'Password of an encrypted private key in the key store.',
  },
  {
    name: 'ssl.truststore.type',
    type: 'STRING',
    default: 'JKS',
    doc: 'Format of the trust store; PEM is read here.',
  },
  {
    name: 'ssl.truststore.location',
    type: 'STRING',
    default: '',
    doc: 'PEM file of the certificate authorities whose client certificates are trusted (mTLS). Reloaded when it changes.',
  },
  {
    name: 'ssl.truststore.certificates',
    type: 'PASSWORD',
    default: '',
    doc: 'The trusted certificate authorities in PEM, inline.',
  },
  {
    name: 'ssl.truststore.password',
    type: 'PASSWORD',
    default: '',
    doc: 'Password of a trust store; PEM trust stores have none.',
  },
  {
    name: 'ssl.client.auth',
    type: 'STRING',
    default: 'none',
    validValues: ['required', 'requested', 'none'],
    doc: 'Whether TLS clients must (required) or may (requested) present a certificate a trusted authority signed; its subject is their principal.',
  },
  {
    name: 'ssl.principal.mapping.rules',
    type: 'STRING',
    default: 'DEFAULT',
    doc: 'Rules turning a client certificate subject into a principal name: RULE:pattern/replacement/[LU], comma separated, and DEFAULT (the subject as is).',
  },
  {
    name: 'sasl.enabled.mechanisms',
    type: 'LIST',
    default: 'GSSAPI',
    doc: 'SASL mechanisms offered on SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.',
  },
  {
    name: 'sasl.jaas.config',
    type: 'PASSWORD',
    default: '',
    doc: 'JAAS login module options; the PLAIN module\'s user_<name>="<password>" entries are the users PLAIN accepts.',
  },
  {
    name: 'sasl.oauthbearer.jwks.endpoint.url',
    type: 'STRING',
    default: '',
    doc: "The identity provider's JWKS (an https URL, or a file: URL read again when the file changes): OAUTHBEARER tokens must be JWTs signed by one of its keys. Unset, OAUTHBEARER accepts unsecured tokens only when its JAAS config names the OAuthBearerLoginModule (Kafka's test mode).",
  },
  {
    name: 'sasl.oauthbearer.expected.audience',
    type: 'LIST',
    default: '',
    doc: "Audiences of which an OAUTHBEARER token's aud claim must name one; empty: not checked.",
  },
  {
    name: 'sasl.oauthbearer.expected.issuer',
    type: 'STRING',
    default: '',
    doc: "The issuer an OAUTHBEARER token's iss claim must name; empty: not checked.",
  },
  {
    name: 'sasl.oauthbearer.sub.claim.name',
    type: 'STRING',
    default: 'sub',
    doc: "The claim holding an OAUTHBEARER token's principal name.",
  },
  {
    name: 'sasl.oauthbearer.scope.claim.name',
    type: 'STRING',
    default: 'scope',
    doc: "The claim holding an OAUTHBEARER token's scopes (a space-separated string or a list).",
  },
  {
    name: 'sasl.oauthbearer.clock.skew.seconds',
    type: 'INT',
    default: '30',
    min: 0,
    doc: "Clock difference allowed with the identity provider when checking a token's times.",
  },
  {
    name: 'sasl.oauthbearer.jwks.endpoint.refresh.ms',
    type: 'LONG',
    default: '3600000',
    min: 0,
    doc: 'How long keys fetched from an https JWKS are used before they are fetched again (sooner when a token names an unknown key).',
  },
  {
    name: 'delegation.token.secret.key',
    type: 'PASSWORD',
    default: '',
    doc: 'Secret that signs delegation tokens (their HMAC); the same on every broker of a cluster. Empty: delegation tokens are off (DELEGATION_TOKEN_AUTH_DISABLED).',
  },
  {
    name: 'delegation.token.expiry.time.ms',
    type: 'LONG',
    default: '86400000',
    min: 1,
    doc: 'How long a delegation token lasts when created or renewed without a period of its own.',
  },
  {
    name: 'delegation.token.max.lifetime.ms',
    type: 'LONG',
    default: '604800000',
    min: 1,
    doc: 'Longest a delegation token can live, renewals included.',
  },
  {
    name: 'delegation.token.expiry.check.interval.ms',
    type: 'LONG',
    default: '3600000',
    min: 1,
    doc: 'How often expired delegation tokens are removed; until then they are described and refused with DELEGATION_TOKEN_EXPIRED.',
  },
  {
    name: 'connections.max.reauth.ms',
    type: 'LONG',
    default: '0',
    min: 0,
    doc: 'SASL sessions last this long (KIP-368): clients re-authenticate on the open connection before it ends, and a connection whose session ended is closed at its next request. 0: sessions never end.',
  },
  {
    name: 'connection.failed.authentication.delay.ms',
    type: 'INT',
    default: '100',
    min: 0,
    doc: 'How long the answer to a failed authentication is held back, against password guessing.',
  },
  {
    name: 'authorizer.class.name',
    type: 'STRING',
    default: '',
    validator: (name, value) =>
      value === '' || STANDARD_AUTHORIZERS.includes(value)
        ? undefined
        : `${name} must be empty or one of ${STANDARD_AUTHORIZERS.join(', ')} (samsa has only Kafka's standard authorizer)`,
    doc: "Kafka's standard authorizer (org.apache.kafka.metadata.authorizer.StandardAuthorizer or kafka.security.authorizer.AclAuthorizer) turns ACL checks on; empty: everyone may do everything.",
  },
  {
    name: 'super.users',
    type: 'STRING',
    default: '',
    doc: 'Principals (User:name, semicolon-separated) that the authorizer allows everything, whatever the ACLs say.',
  },
  {
    name: 'allow.everyone.if.no.acl.found',
    type: 'BOOLEAN',
    default: 'false',
    doc: 'With an authorizer: whether a resource that no ACL covers is open to everyone (otherwise only super users may use it).',
  },
]

/** Connection limits a listener may have of its own (KIP-612), besides the broker's. */
const LISTENER_LIMITS = ['max.connections', 'max.connection.creation.rate']

/** The broker config a `listener.name.<listener>.<limit>` name sets for one listener, if it is a connection limit. */
export function listenerLimitOf(name: string): string | undefined {
  const suffix = /^listener\.name\.[^.]+\.(.+)$/.exec(name)?.[1]
  return suffix !== undefined && LISTENER_LIMITS.includes(suffix) ? suffix : undefined
}

/**
 * Whether a `listener.name.<listener>.<config>` name sets, for one listener, a config samsa
 * applies (`<mechanism>.sasl.jaas.config` and the connection limits included).
 */
export function isAppliedListenerConfig(name: string): boolean {
  const m = /^listener\.name\.[^.]+\.(.+)$/.exec(name)
  if (!m) return false
  // Mechanism-prefixed SASL configs: <mechanism>.sasl.jaas.config, oauthbearer.sasl.oauthbearer.*.
  const suffix = (m[1] as string).replace(/^[a-z0-9-]+\.(?=sasl\.)/, '')
  return listenerLimitOf(name) !== undefined || SECURITY_CONFIGS.some((c) => c.name === suffix)
}

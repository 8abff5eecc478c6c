/**
 * What each listener needs for its security protocol, read from Kafka's ssl.* and sasl.* configs
 * (a `listener.name.<listener>.` prefixed one wins over the broker-wide one, as in Kafka), and
 * checked before anything binds, so that `samsa broker` refuses what it cannot serve as a usage
 * error.
 */
import { jaasOptions, jaasPlainUsers } from '../server/sasl/jaas.ts'
import { jwksValidator, unsecuredOptionsOf, unsecuredValidator } from '../server/sasl/token-validators.ts'
import type { TlsConfig } from '../server/tls.ts'
import { type ListenerAddress, usesSasl, usesTls } from './listeners-config.ts'
import type { SaslListener } from './sasl/authenticator.ts'

type Props = Readonly<Record<string, string | undefined>>

/** A config for one listener: its `listener.name.<name>.` form, else the broker-wide one; '' counts as unset. */
export function listenerProp(props: Props, listener: string, name: string): string | undefined {
  const value = props[`listener.name.${listener.toLowerCase()}.${name}`] ?? props[name]
  return value === undefined || value.trim() === '' ? undefined : value
}

/** The TLS configuration of an SSL or SASL_SSL listener (throws what is wrong with it). */
export function tlsConfig(props: Props, spec: ListenerAddress): TlsConfig {
  const get = (name: string) => listenerProp(props, spec.name, name)
  const where = `listener ${spec.name} (${spec.protocol})`
  const type = (get('ssl.keystore.type') ?? 'JKS').toUpperCase()
  const location = get('ssl.keystore.location')
  let keystore: TlsConfig['keystore']
  if (location === undefined && get('ssl.keystore.certificate.chain') === undefined) {
    throw new Error(
      `${where} has no key store: set ssl.keystore.type=PEM and ssl.keystore.location (a PEM file with the private key and certificate chain), or ssl.keystore.certificate.chain and ssl.keystore.key`,
    )
  }
  if (type === 'PEM') {
    const certificateChain = get('ssl.keystore.certificate.chain')
    const key = get('ssl.keystore.key')
    if (location === undefined && (certificateChain === undefined || key === undefined)) {
      throw new Error(
        `${where}: set ssl.keystore.location (a PEM file with the private key and certificate chain), or ssl.keystore.certificate.chain and ssl.keystore.key`,
      )
    }
    if (get('ssl.keystore.password') !== undefined) {
      throw new Error(
        `${where}: SSL key store password cannot be specified with PEM format, only key password may be specified`,
      )
    }
    keystore = { type: 'PEM', location, certificateChain, key, keyPassword: get('ssl.key.password') }
  } else if (type === 'PKCS12') {
    if (location === undefined) throw new Error(`${where}: ssl.keystore.location is required for a PKCS12 key store`)
    keystore = { type: 'PKCS12', location, password: get('ssl.keystore.password') }
  } else {
    throw new Error(`${where}: ssl.keystore.type ${type} cannot be read here; use PEM (or PKCS12)`)
  }
  const trustLocation = get('ssl.truststore.location')
  const certificates = get('ssl.truststore.certificates')
  const trustType = (get('ssl.truststore.type') ?? (trustLocation || certificates ? 'PEM' : 'JKS')).toUpperCase()
  if ((trustLocation || certificates) && trustType !== 'PEM') {
    throw new Error(`${where}: ssl.truststore.type ${trustType} cannot be read here; use PEM`)
  }
  const clientAuth = (get('ssl.client.auth') ?? 'none') as TlsConfig['clientAuth']
  if (!['none', 'requested', 'required'].includes(clientAuth)) {
    throw new Error(`${where}: ssl.client.auth must be none, requested or required, got ${clientAuth}`)
  }
  if (clientAuth !== 'none' && !trustLocation && !certificates) {
    throw new Error(
      `${where}: ssl.client.auth=${clientAuth} needs the certificate authorities of clients: ssl.truststore.location`,
    )
  }
  return {
    keystore,
    truststore: trustLocation || certificates ? { location: trustLocation, certificates } : undefined,
    clientAuth,
    principalMappingRules: get('ssl.principal.mapping.rules') ?? 'DEFAULT',
  }
}

/** The mechanisms samsa serves. */
const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']

/** A mechanism's JAAS config for a listener: listener.name.<listener>.<mechanism>.sasl.jaas.config, or sasl.jaas.config. */
function jaasConfig(props: Props, listener: string, mechanism: string): string | undefined {
  return listenerProp(props, listener, `${mechanism.toLowerCase()}.sasl.jaas.config`) ?? props['sasl.jaas.config']
}

/**
 * How OAUTHBEARER tokens are checked on a listener: against the JWKS of
 * sasl.oauthbearer.jwks.endpoint.url when it is set; otherwise, as Kafka's test mode, unsecured
 * tokens, but only when an OAuthBearerLoginModule JAAS config says so, never by default.
 */
function oauthBearerConfig(props: Props, spec: ListenerAddress, where: string): SaslListener['oauthBearer'] {
  // A sasl.oauthbearer.* config may be set for the mechanism of one listener too, as in Kafka.
  const get = (name: string) =>
    listenerProp(props, spec.name, `oauthbearer.${name}`) ?? listenerProp(props, spec.name, name)
  const jwksUrl = get('sasl.oauthbearer.jwks.endpoint.url')
  if (jwksUrl !== undefined) {
    if (!/^(https?|file):/.test(jwksUrl)) {
      throw new Error(`${where}: sasl.oauthbearer.jwks.endpoint.url must be an http(s) or file: URL, got ${jwksUrl}`)
    }
    const number = (name: string, fallback: number): number => {
      const value = Number(get(name) ?? fallback)
      if (!Number.isInteger(value) || value < 0) throw new Error(`${where}: ${name} must be a non-negative integer`)
      return value
    }
    return {
      mode: 'jwks',
      validate: jwksValidator({
        jwksUrl,
        audiences: (get('sasl.oauthbearer.expected.audience') ?? '')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
        issuer: get('sasl.oauthbearer.expected.issuer'),
        subClaim: get('sasl.oauthbearer.sub.claim.name') ?? 'sub',
        scopeClaim: get('sasl.oauthbearer.scope.claim.name') ?? 'scope',
        clockSkewSeconds: number('sasl.oauthbearer.clock.skew.seconds', 30),
        refreshMs: number('sasl.oauthbearer.jwks.endpoint.refresh.ms', 3_600_000),
      }),
    }
  }
  const jaas = jaasConfig(props, spec.name, 'OAUTHBEARER')
  if (jaas === undefined || !jaas.includes('OAuthBearerLoginModule')) {
    throw new Error(
      `${where}: OAUTHBEARER is enabled but has no way to check tokens: set sasl.oauthbearer.jwks.endpoint.url (the identity provider's JWKS), or, to accept unsecured tokens as Kafka's test mode does, listener.name.${spec.name.toLowerCase()}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;`,
    )
  }
  try {
    return { mode: 'unsecured', validate: unsecuredValidator(unsecuredOptionsOf(jaasOptions(jaas))) }
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`)
  }
}

/**
 * The SASL configuration of a SASL_PLAINTEXT or SASL_SSL listener (throws what is wrong with it).
 * PLAIN's users are the `user_<name>="<password>"` options of its JAAS config:
 * listener.name.<listener>.plain.sasl.jaas.config, or sasl.jaas.config.
 */
export function saslConfig(props: Props, spec: ListenerAddress): SaslListener {
  const where = `listener ${spec.name} (${spec.protocol})`
  const mechanisms = (listenerProp(props, spec.name, 'sasl.enabled.mechanisms') ?? 'GSSAPI')
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter(Boolean)
  const unsupported = mechanisms.filter((m) => !SASL_MECHANISMS.includes(m))
  if (mechanisms.length === 0 || unsupported.length > 0) {
    throw new Error(
      `${where}: sasl.enabled.mechanisms ${unsupported.length > 0 ? `has ${unsupported.join(', ')}, which samsa does not serve` : 'is empty'}; enable PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (Kafka's default is GSSAPI)`,
    )
  }
  let plainUsers = new Map<string, string>()
  if (mechanisms.includes('PLAIN')) {
    plainUsers = jaasPlainUsers(jaasConfig(props, spec.name, 'PLAIN') ?? '')
    if (plainUsers.size === 0) {
      throw new Error(
        `${where}: PLAIN is enabled but has no users: set listener.name.${spec.name.toLowerCase()}.plain.sasl.jaas.config to org.apache.kafka.common.security.plain.PlainLoginModule required user_<name>="<password>";`,
      )
    }
  }
  const oauthBearer = mechanisms.includes('OAUTHBEARER') ? oauthBearerConfig(props, spec, where) : undefined
  return { name: spec.name, mechanisms, plainUsers, oauthBearer }
}

/** The problems of a listener's security configuration (none: it can be served). */
export function listenerSecurityProblems(props: Props, spec: ListenerAddress): string[] {
  const problems: string[] = []
  const check = (f: () => unknown): void => {
    try {
      f()
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  if (usesTls(spec.protocol)) check(() => tlsConfig(props, spec))
  if (usesSasl(spec.protocol)) check(() => saslConfig(props, spec))
  return problems
}

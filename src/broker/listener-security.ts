/**
 * What each listener needs for its security protocol, read from Kafka's ssl.* and sasl.* configs
 * (a `listener.name.<listener>.` prefixed one wins over the broker-wide one, as in Kafka), and
 * checked before anything binds, so that `samsa broker` refuses what it cannot serve as a usage
 * error.
 */
import type { TlsConfig } from '../server/tls.ts'
import { type ListenerAddress, usesTls } from './listeners-config.ts'

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
  if (spec.protocol === 'SASL_PLAINTEXT' || spec.protocol === 'SASL_SSL') {
    problems.push(`listener ${spec.name}: ${spec.protocol} is not served yet`)
  }
  return problems
}

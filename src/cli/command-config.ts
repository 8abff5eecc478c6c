/**
 * `--command-config`: a Kafka client properties file, the one Kafka's own scripts take, turned
 * into the client's TLS and SASL settings, so the same file reaches a secured Kafka or samsa
 * cluster. Read: security.protocol; ssl.truststore.* and ssl.keystore.* in PEM (or a PKCS12 key
 * store), ssl.key.password, ssl.endpoint.identification.algorithm; sasl.mechanism with
 * sasl.jaas.config (PlainLoginModule and ScramLoginModule username/password; for OAUTHBEARER a
 * token from sasl.oauthbearer.token.endpoint.url, a file: URL holding the token or an OAuth
 * token endpoint asked with the JAAS clientId/clientSecret, or an unsecured token naming
 * unsecuredLoginStringClaim_sub, Kafka's test mode).
 */
import { readFileSync } from 'node:fs'
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { fileURLToPath } from 'node:url'
import type { ClientOptions } from '../client/cluster.ts'
import type { SaslCredentials } from '../client/sasl-client.ts'
import { readPropertiesFile } from '../config/properties-file.ts'
import { jaasOptions } from '../server/sasl/jaas.ts'
import { UsageError } from './usage.ts'

type Props = Readonly<Record<string, string | undefined>>

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']

/** The client security settings of a properties file (throws a UsageError naming what is wrong). */
export function readCommandConfig(path: string): Pick<ClientOptions, 'tls' | 'sasl'> {
  let props: Props
  try {
    props = readPropertiesFile(path)
  } catch (err) {
    throw new UsageError(`cannot read --command-config ${path}: ${(err as Error).message}`)
  }
  const fail = (message: string): never => {
    throw new UsageError(`--command-config ${path}: ${message}`)
  }
  const protocol = (props['security.protocol'] ?? 'PLAINTEXT').trim().toUpperCase()
  if (!PROTOCOLS.includes(protocol)) fail(`security.protocol ${protocol} is not one of ${PROTOCOLS.join(', ')}`)
  const settings: Pick<ClientOptions, 'tls' | 'sasl'> = {}
  try {
    if (protocol.endsWith('SSL')) settings.tls = tlsOptions(props)
    if (protocol.startsWith('SASL')) settings.sasl = saslCredentials(props)
  } catch (err) {
    fail((err as Error).message)
  }
  return settings
}

const set = (props: Props, name: string): string | undefined => {
  const value = props[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

/** A PEM trust store or key store (type PEM, or unset with PEM content): Node reads no JKS. */
function pemFile(props: Props, store: 'truststore' | 'keystore', location: string): string {
  const type = set(props, `ssl.${store}.type`)?.toUpperCase()
  const text = readFileSync(location, 'utf8')
  if ((type !== undefined && type !== 'PEM') || !text.includes('-----BEGIN')) {
    throw new Error(
      `ssl.${store}.location ${location} must be a PEM file (ssl.${store}.type=PEM); ${type ?? 'JKS'} cannot be read here`,
    )
  }
  return text
}

function tlsOptions(props: Props): TlsOptions {
  const tls: TlsOptions = {}
  const trust = set(props, 'ssl.truststore.location')
  const trustInline = set(props, 'ssl.truststore.certificates')
  if (trust) tls.ca = pemFile(props, 'truststore', trust)
  else if (trustInline) tls.ca = trustInline
  const keystore = set(props, 'ssl.keystore.location')
  const passphrase = set(props, 'ssl.key.password')
  if (keystore && set(props, 'ssl.keystore.type')?.toUpperCase() === 'PKCS12') {
    tls.pfx = readFileSync(keystore)
    tls.passphrase = set(props, 'ssl.keystore.password')
  } else if (keystore) {
    // One PEM file with the private key and its certificate chain, as Kafka's PEM key stores are.
    const pem = pemFile(props, 'keystore', keystore)
    tls.key = pem
    tls.cert = pem
    tls.passphrase = passphrase
  } else if (set(props, 'ssl.keystore.certificate.chain')) {
    tls.cert = set(props, 'ssl.keystore.certificate.chain')
    tls.key = set(props, 'ssl.keystore.key')
    tls.passphrase = passphrase
  }
  // Kafka's default is https (check the broker's name); an empty value turns the check off.
  if (props['ssl.endpoint.identification.algorithm']?.trim() === '') tls.checkServerIdentity = () => undefined
  return tls
}

function saslCredentials(props: Props): SaslCredentials {
  const mechanism = (set(props, 'sasl.mechanism') ?? 'GSSAPI').toUpperCase()
  if (!MECHANISMS.includes(mechanism)) {
    throw new Error(`sasl.mechanism ${mechanism} is not supported here; use ${MECHANISMS.join(', ')}`)
  }
  const jaas = jaasOptions(set(props, 'sasl.jaas.config') ?? '')
  if (mechanism === 'OAUTHBEARER') return { mechanism, token: tokenProvider(props, jaas) }
  const username = jaas.get('username')
  const password = jaas.get('password')
  if (username === undefined || password === undefined) {
    throw new Error(
      `${mechanism} needs sasl.jaas.config with username and password, e.g. org.apache.kafka.common.security.${mechanism === 'PLAIN' ? 'plain.PlainLoginModule' : 'scram.ScramLoginModule'} required username="alice" password="secret";`,
    )
  }
  return {
    mechanism: mechanism as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
    username,
    password,
    tokenAuth: jaas.get('tokenauth') === 'true',
  }
}

/** Where an OAUTHBEARER token comes from; it is fetched once per run. */
function tokenProvider(props: Props, jaas: ReadonlyMap<string, string>): () => Promise<string> {
  const endpoint = set(props, 'sasl.oauthbearer.token.endpoint.url')
  let token: Promise<string> | undefined
  const once = (fetchToken: () => Promise<string>) => () => {
    token ??= fetchToken()
    return token
  }
  if (endpoint?.startsWith('file:')) {
    const file = fileURLToPath(endpoint)
    return once(async () => readFileSync(file, 'utf8').trim())
  }
  if (endpoint !== undefined)
    return once(() => clientCredentialsToken(endpoint, jaas, set(props, 'sasl.oauthbearer.scope')))
  const sub = jaas.get('unsecuredLoginStringClaim_sub')
  if (sub !== undefined) {
    const lifetime = Number(jaas.get('unsecuredLoginLifetimeSeconds') ?? 3600)
    return once(async () => unsecuredToken(sub, lifetime))
  }
  throw new Error(
    'OAUTHBEARER needs a token: sasl.oauthbearer.token.endpoint.url (a file: URL holding the token, or the OAuth token endpoint with clientId and clientSecret in sasl.jaas.config), or unsecuredLoginStringClaim_sub in sasl.jaas.config for unsecured tokens',
  )
}

/** An OAuth 2 client credentials grant, as Kafka's login module asks its token endpoint. */
async function clientCredentialsToken(
  endpoint: string,
  jaas: ReadonlyMap<string, string>,
  scope: string | undefined,
): Promise<string> {
  const clientId = jaas.get('clientId')
  const clientSecret = jaas.get('clientSecret')
  if (clientId === undefined || clientSecret === undefined) {
    throw new UsageError('sasl.oauthbearer.token.endpoint.url needs clientId and clientSecret in sasl.jaas.config')
  }
  const body = new URLSearchParams({ grant_type: 'client_credentials' })
  const chosenScope = scope ?? jaas.get('scope')
  if (chosenScope) body.set('scope', chosenScope)
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  })
  const reply = (await res.json().catch(() => ({}))) as { access_token?: unknown }
  if (!res.ok || typeof reply.access_token !== 'string') {
    throw new UsageError(`the token endpoint ${endpoint} gave no access token (HTTP ${res.status})`)
  }
  return reply.access_token
}

/** An unsecured JWT (alg none), as Kafka's OAuthBearerLoginModule makes one in test mode. */
function unsecuredToken(sub: string, lifetimeSeconds: number): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${part({ alg: 'none' })}.${part({ sub, iat: now, exp: now + lifetimeSeconds })}.`
}

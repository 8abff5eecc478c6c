/**
 * SASL OAUTHBEARER: signed JWTs checked against a JWKS (a file: URL here, written by the test
 * from keys it makes) with audience and issuer, on one listener; unsecured tokens (Kafka's test
 * mode, a required scope) on another. kafkajs, @platformatic/kafka, kcat (librdkafka fetching its
 * token from an OIDC token endpoint the test serves, and librdkafka's own unsecured tokens) and
 * @confluentinc/kafka-javascript where installed; expired, wrongly signed, wrong-audience,
 * wrong-issuer, unsigned and malformed tokens are refused with Kafka's error challenge, none ever
 * authenticated, and the session ends when the token does.
 */
import assert from 'node:assert/strict'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { exportJWK, SignJWT } from 'jose'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import {
  createSaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslHandshakeRequest, type SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.ts'
import { CaptureLog } from '../helpers/capture-log.ts'
import { CONFLUENT_MISSING, confluentKafkaJS, kafkajsClient, platformatic } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, KCAT_NO_OIDC, kcat, kcatHasOidc } from '../helpers/kcat.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { kafkajsRoundTrip } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

/** APIs a client calls before it is authenticated. */
const AUTHENTICATION_APIS = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate])
const AUDIENCE = 'samsa'
const ISSUER = 'https://idp.samsa.test'
const KID = 'test-key-1'
const TEST_MODE_JAAS =
  'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";'

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
/** A key the JWKS does not hold. */
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 })
const dir = mkdtempSync(join(tmpdir(), 'samsa-oauth-'))
const log = new CaptureLog()
/** Who sent each request other than the authentication ones, on the OAUTHBEARER listeners. */
const principals: string[] = []
let broker: Broker
let secured: string
let testMode: string

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

interface TokenOptions {
  sub?: string
  aud?: string
  iss?: string
  /** Seconds from now. */
  expiresIn?: number
  key?: KeyObject
  kid?: string
}

async function signedToken(o: TokenOptions = {}): Promise<string> {
  const now = nowSeconds()
  return new SignJWT({ scope: 'kafka' })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? KID })
    .setSubject(o.sub ?? 'alice')
    .setAudience(o.aud ?? AUDIENCE)
    .setIssuer(o.iss ?? ISSUER)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (o.expiresIn ?? 600))
    .sign(o.key ?? keys.privateKey)
}

/** An unsecured JWT (alg none), as librdkafka and Kafka's test mode make them. */
function unsecuredToken(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${part({ alg: 'none' })}.${part(claims)}.`
}

const clientMessage = (token: string, authzid = ''): Buffer =>
  Buffer.from(`n,${authzid ? `a=${authzid}` : ''},\u0001auth=Bearer ${token}\u0001\u0001`)

/** Handshake and first SaslAuthenticate of a raw connection; the connection is left open. */
async function authenticate(
  address: string,
  message: Buffer,
): Promise<{ raw: RawClient; answer: SaslAuthenticateResponse }> {
  const raw = await RawClient.connect(portOf(address), 'localhost')
  const hs = await raw.send<SaslHandshakeResponse>(
    ApiKey.SaslHandshake,
    1,
    createSaslHandshakeRequest({ mechanism: 'OAUTHBEARER' }),
  )
  assert.equal(hs.errorCode, ErrorCode.NONE)
  const answer = await raw.send<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    createSaslAuthenticateRequest({ authBytes: message }),
  )
  return { raw, answer }
}

/**
 * A refused token, as Kafka refuses it: an error challenge naming only the status, then, once the
 * client acknowledges it with ^A, SASL_AUTHENTICATION_FAILED and a closed connection.
 */
async function assertRefused(address: string, token: string, status = 'invalid_token'): Promise<void> {
  const { raw, answer } = await authenticate(address, clientMessage(token))
  try {
    assert.equal(answer.errorCode, ErrorCode.NONE)
    assert.deepEqual(JSON.parse(answer.authBytes.toString()), { status })
    const final = await raw.send<SaslAuthenticateResponse>(
      ApiKey.SaslAuthenticate,
      2,
      createSaslAuthenticateRequest({ authBytes: Buffer.from([1]) }),
    )
    assert.equal(final.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
    await assert.rejects(
      raw.send(ApiKey.ApiVersions, 3, createApiVersionsRequest()),
      /connection closed|ECONNRESET|EPIPE/,
    )
  } finally {
    await raw.close()
  }
}

/** An OIDC token endpoint (client credentials), as librdkafka's sasl.oauthbearer.method=oidc asks one. */
async function tokenEndpoint(): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', async () => {
      requests.push(`${req.headers.authorization ?? ''} ${body}`)
      const token = await signedToken({ sub: 'kcat-client' })
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 600 }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, requests }
}

before(async () => {
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }
  const jwksFile = join(dir, 'jwks.json')
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }))
  broker = await startBroker({
    logger: log,
    config: {
      listeners: 'PLAINTEXT://localhost:0,SECURED://localhost:0,TESTMODE://localhost:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SECURED:SASL_PLAINTEXT,TESTMODE:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'listener.name.secured.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwksFile).href,
      'sasl.oauthbearer.expected.audience': AUDIENCE,
      'sasl.oauthbearer.expected.issuer': ISSUER,
      'listener.name.testmode.oauthbearer.sasl.jaas.config': TEST_MODE_JAAS,
      'connection.failed.authentication.delay.ms': '50',
    },
    dispatchHook: (call) => {
      if (call.ctx.listener !== 'PLAINTEXT' && !AUTHENTICATION_APIS.has(call.apiKey)) {
        principals.push(call.ctx.connection.principal)
      }
      return call.next()
    },
  })
  secured = (broker.listeners.SECURED as string[])[0] as string
  testMode = (broker.listeners.TESTMODE as string[])[0] as string
  const admin = kafkajsClient((broker.listeners.PLAINTEXT as string[])[0] as string).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'oauth-platformatic' }] })
  await admin.disconnect()
})
after(async () => {
  await broker?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('SASL OAUTHBEARER', () => {
  test('a signed token with kafkajs: produced, consumed, the principal is User:<sub>', async () => {
    principals.length = 0
    const token = await signedToken()
    const sasl = { mechanism: 'oauthbearer' as const, oauthBearerProvider: async () => ({ value: token }) }
    assert.deepEqual(await kafkajsRoundTrip(secured, { sasl }, 'oauth-kafkajs'), ['one', 'two'])
    assert.deepEqual(new Set(principals), new Set(['User:alice']))
  })

  test('a signed token with @platformatic/kafka', async (t) => {
    const pk = await platformatic()
    const producer = new pk.Producer({
      clientId: 'pk-oauth',
      bootstrapBrokers: [secured],
      sasl: { mechanism: 'OAUTHBEARER', token: await signedToken({ sub: 'carol' }) },
      serializers: pk.stringSerializers,
    })
    t.after(() => producer.close())
    principals.length = 0
    const sent = await producer.send({ messages: [{ topic: 'oauth-platformatic', partition: 0, value: 'x' }] })
    assert.equal(sent.offsets?.[0]?.topic, 'oauth-platformatic')
    assert.ok(principals.includes('User:carol'))
  })

  test('kcat fetching its token from an OIDC token endpoint', {
    skip: (!hasKcat && KCAT_MISSING) || (!kcatHasOidc && KCAT_NO_OIDC),
  }, async (t) => {
    const idp = await tokenEndpoint()
    t.after(() => idp.server.close())
    const args = [
      ...['-b', secured, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=OAUTHBEARER'],
      ...['-X', 'sasl.oauthbearer.method=oidc', '-X', `sasl.oauthbearer.token.endpoint.url=${idp.url}`],
      ...['-X', 'sasl.oauthbearer.client.id=kcat', '-X', 'sasl.oauthbearer.client.secret=kcat-secret'],
    ]
    await kcat(['-P', '-t', 'oauth-kcat', ...args], 'a\nb\n')
    const out = await kcat(['-C', '-t', 'oauth-kcat', '-e', '-o', 'beginning', ...args])
    assert.deepEqual(out.trim().split('\n'), ['a', 'b'])
    assert.ok(idp.requests.length > 0, 'librdkafka asked the token endpoint')
    assert.match(idp.requests[0] as string, /^Basic /, 'with its client credentials')
  })

  test('unsecured tokens only where configured: librdkafka and kafkajs on the test-mode listener, never on the secured one', async () => {
    if (hasKcat) {
      const args = [
        ...['-b', testMode, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=OAUTHBEARER'],
        ...[
          '-X',
          'enable.sasl.oauthbearer.unsecure.jwt=true',
          '-X',
          'sasl.oauthbearer.config=principal=bob scope=kafka',
        ],
      ]
      await kcat(['-P', '-t', 'oauth-unsecured', ...args], 'u\n')
      assert.equal((await kcat(['-C', '-t', 'oauth-unsecured', '-e', '-o', 'beginning', ...args])).trim(), 'u')
    }
    const claims = { sub: 'dave', scope: 'kafka other', iat: nowSeconds(), exp: nowSeconds() + 600 }
    principals.length = 0
    const sasl = {
      mechanism: 'oauthbearer' as const,
      oauthBearerProvider: async () => ({ value: unsecuredToken(claims) }),
    }
    assert.deepEqual(await kafkajsRoundTrip(testMode, { sasl }, 'oauth-unsecured-kafkajs'), ['one', 'two'])
    assert.deepEqual(new Set(principals), new Set(['User:dave']))
    // The required scope (unsecuredValidatorRequiredScope) is missing: insufficient_scope.
    await assertRefused(testMode, unsecuredToken({ ...claims, scope: 'other' }), 'insufficient_scope')
    await assertRefused(testMode, unsecuredToken({ ...claims, exp: nowSeconds() - 10 }))
    // An unsigned token is no token where a JWKS is configured.
    await assertRefused(secured, unsecuredToken(claims))
  })

  test('@confluentinc/kafka-javascript with a token provider', {
    skip: confluentKafkaJS() ? false : CONFLUENT_MISSING,
  }, async () => {
    const { Kafka, logLevel } = confluentKafkaJS()!
    const token = await signedToken({ sub: 'erin' })
    const kafka = new Kafka({
      kafkaJS: {
        brokers: [secured],
        clientId: 'confluent-oauth',
        logLevel: logLevel.NOTHING,
        sasl: {
          mechanism: 'oauthbearer',
          oauthBearerProvider: async () => ({ value: token, principal: 'erin', lifetime: Date.now() + 600_000 }),
        },
      },
    })
    const producer = kafka.producer()
    await producer.connect()
    try {
      principals.length = 0
      const [sent] = await producer.send({ topic: 'oauth-confluent', messages: [{ value: 'c' }] })
      assert.equal(sent?.errorCode, 0)
      assert.ok(principals.includes('User:erin'))
    } finally {
      await producer.disconnect()
    }
  })

  test('refused tokens: expired, unknown key, wrong audience, wrong issuer, garbage; none authenticated, others served meanwhile', async () => {
    log.lines.length = 0
    await assertRefused(secured, await signedToken({ expiresIn: -120 }))
    await assertRefused(secured, await signedToken({ key: stranger.privateKey }))
    await assertRefused(secured, await signedToken({ aud: 'another-service' }))
    await assertRefused(secured, await signedToken({ iss: 'https://elsewhere.test' }))
    await assertRefused(secured, await signedToken({ kid: 'unknown-kid' }))
    await assertRefused(secured, 'not-a-jwt')
    const failures = log.find(/^failed authentication$/)
    const reasons = failures.map((l) => String(l.fields.reason))
    assert.equal(reasons.length, 6, 'each refusal logged once')
    assert.match(reasons[0] as string, /expired/)
    assert.match(reasons[2] as string, /aud/)
    assert.match(reasons[3] as string, /iss/)
    assert.ok(
      failures.every((l) => typeof l.fields.remote === 'string'),
      'with the client address',
    )

    // A malformed client message fails at once; an authorization id other than the subject too.
    const { raw, answer } = await authenticate(secured, Buffer.from('n,,auth=Bearer x'))
    assert.equal(answer.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
    await raw.close()
    const mismatch = await authenticate(secured, clientMessage(await signedToken(), 'mallory'))
    assert.equal(mismatch.answer.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
    assert.doesNotMatch(mismatch.answer.errorMessage ?? '', /alice/, 'the refusal names no principal')
    await mismatch.raw.close()

    // kafkajs with an expired token gets nowhere; a good client is served.
    const expired = await signedToken({ expiresIn: -120 })
    const bad = kafkajsClient(secured, {
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: expired }) },
      retry: { retries: 0 },
    }).producer()
    await assert.rejects(async () => {
      await bad.connect()
      await bad.send({ topic: 'oauth-refused', messages: [{ value: 'no' }] })
    })
    await bad.disconnect()
    const token = await signedToken()
    const sasl = { mechanism: 'oauthbearer' as const, oauthBearerProvider: async () => ({ value: token }) }
    assert.deepEqual(await kafkajsRoundTrip(secured, { sasl }, 'oauth-after-refusals'), ['one', 'two'])
  })

  test('the session ends when the token expires: SaslAuthenticate says so, and the connection is closed after it', async () => {
    const { raw, answer } = await authenticate(secured, clientMessage(await signedToken({ expiresIn: 2 })))
    try {
      assert.equal(answer.errorCode, ErrorCode.NONE)
      const lifetime = Number(answer.sessionLifetimeMs)
      assert.ok(lifetime > 0 && lifetime <= 2000, `session lifetime ${lifetime} ms within the token's 2 s`)
      await raw.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      await new Promise((resolve) => setTimeout(resolve, lifetime + 200))
      await assert.rejects(
        raw.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: [] })),
        /connection closed|ECONNRESET|EPIPE/,
      )
    } finally {
      await raw.close()
    }
  })

  test('OAUTHBEARER with no way to check tokens is refused at start', async () => {
    await assert.rejects(
      startBroker({
        config: {
          listeners: 'SASL_PLAINTEXT://localhost:0',
          'sasl.enabled.mechanisms': 'OAUTHBEARER',
        },
      }),
      /OAUTHBEARER is enabled but has no way to check tokens: set sasl\.oauthbearer\.jwks\.endpoint\.url/,
    )
  })
})

/**
 * SASL on SASL_PLAINTEXT and SASL_SSL listeners: PLAIN (users from the JAAS config) and
 * SCRAM-SHA-256/512 (credentials set with AlterUserScramCredentials) with kafkajs,
 * @platformatic/kafka, kcat and @confluentinc/kafka-javascript where installed; refusals (wrong
 * password, unknown user, unsupported mechanism, requests before authentication, garbage tokens)
 * with Kafka's errors, while authenticated clients are served.
 */
import assert from 'node:assert/strict'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  type AlterUserScramCredentialsResponse,
  createAlterUserScramCredentialsRequest,
} from '../../src/protocol/generated/alter-user-scram-credentials.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import {
  createDescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../../src/protocol/generated/describe-user-scram-credentials.ts'
import { API_DESCRIPTORS, ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import {
  createSaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslHandshakeRequest, type SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.ts'
import { CaptureLog } from '../helpers/capture-log.ts'
import { makeCertificates, OPENSSL_SKIP, type TestCertificates } from '../helpers/certificates.ts'
import { CONFLUENT_MISSING, confluentKafkaJS, kafkajsClient, platformatic } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'
import { encodeFrame, RawClient } from '../helpers/raw-client.ts'
import { kafkajsRoundTrip } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";'

let certs: TestCertificates
let broker: Broker
const log = new CaptureLog()
/** APIs a client calls before it is authenticated. */
const AUTHENTICATION_APIS = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate])
/** Who sent each request other than those on the SASL listeners. */
const principals: string[] = []
let plaintext: string
let saslPlain: string
let saslSsl: string

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

/** Sets a SCRAM credential as Kafka's admin client does: the salted password, computed here. */
async function setScram(
  user: string,
  password: string,
  mechanism: 1 | 2,
  iterations = 4096,
): Promise<AlterUserScramCredentialsResponse> {
  const raw = await RawClient.connect(portOf(plaintext), 'localhost')
  try {
    const salt = randomBytes(16)
    const [alg, len] = mechanism === 1 ? ['sha256', 32] : ['sha512', 64]
    const saltedPassword = pbkdf2Sync(password, salt, iterations, len as number, alg as string)
    return await raw.send<AlterUserScramCredentialsResponse>(
      ApiKey.AlterUserScramCredentials,
      0,
      createAlterUserScramCredentialsRequest({
        upsertions: [{ name: user, mechanism, iterations, salt, saltedPassword }],
      }),
    )
  } finally {
    await raw.close()
  }
}

before(async () => {
  if (OPENSSL_SKIP) return
  certs = makeCertificates()
  broker = await startBroker({
    logger: log,
    config: {
      listeners: 'PLAINTEXT://localhost:0,SASL_PLAINTEXT://localhost:0,SASL_SSL://localhost:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
      'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS,
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.keystoreFile,
      'connection.failed.authentication.delay.ms': '300',
    },
    dispatchHook: (call) => {
      if (call.ctx.listener !== 'PLAINTEXT' && !AUTHENTICATION_APIS.has(call.apiKey)) {
        principals.push(call.ctx.connection.principal)
      }
      return call.next()
    },
  })
  plaintext = (broker.listeners.PLAINTEXT as string[])[0] as string
  saslPlain = (broker.listeners.SASL_PLAINTEXT as string[])[0] as string
  saslSsl = (broker.listeners.SASL_SSL as string[])[0] as string
  for (const [code] of [
    await setScram('scram256', 'secret-256', 1),
    await setScram('scram512', 'secret-512', 2, 8192),
  ].map((r) => r.results.map((x) => x.errorCode))) {
    assert.equal(code, ErrorCode.NONE)
  }
})
after(async () => {
  await broker?.close()
  certs?.remove()
})

/** A raw connection that has done SaslHandshake v1 for `mechanism`. */
async function handshaken(address: string, mechanism: string): Promise<RawClient> {
  const raw = await RawClient.connect(portOf(address), 'localhost')
  const hs = await raw.send<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, createSaslHandshakeRequest({ mechanism }))
  assert.equal(hs.errorCode, ErrorCode.NONE)
  return raw
}

/** Resolves once the socket under a raw client is closed by the broker. */
async function closedByBroker(raw: RawClient): Promise<void> {
  await assert.rejects(
    raw.send(ApiKey.ApiVersions, 3, createApiVersionsRequest()),
    /connection closed|ECONNRESET|EPIPE/,
  )
}

describe('SASL', { skip: OPENSSL_SKIP }, () => {
  test('PLAIN over SASL_PLAINTEXT and SASL_SSL with kafkajs; the principal is User:<name>', async () => {
    principals.length = 0
    const sasl = { mechanism: 'plain' as const, username: 'alice', password: 'alice-secret' }
    assert.deepEqual(await kafkajsRoundTrip(saslPlain, { sasl }, 'plain-kafkajs'), ['one', 'two'])
    assert.deepEqual(await kafkajsRoundTrip(saslSsl, { sasl, ssl: { ca: [certs.ca] } }, 'plain-ssl-kafkajs'), [
      'one',
      'two',
    ])
    assert.deepEqual(new Set(principals), new Set(['User:alice']))
  })

  test('SCRAM-SHA-256 and SCRAM-SHA-512 with kafkajs', async () => {
    principals.length = 0
    const s256 = { mechanism: 'scram-sha-256' as const, username: 'scram256', password: 'secret-256' }
    const s512 = { mechanism: 'scram-sha-512' as const, username: 'scram512', password: 'secret-512' }
    assert.deepEqual(await kafkajsRoundTrip(saslPlain, { sasl: s256 }, 'scram256-kafkajs'), ['one', 'two'])
    assert.deepEqual(await kafkajsRoundTrip(saslSsl, { sasl: s512, ssl: { ca: [certs.ca] } }, 'scram512-kafkajs'), [
      'one',
      'two',
    ])
    assert.deepEqual(new Set(principals), new Set(['User:scram256', 'User:scram512']))
  })

  test('PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 with @platformatic/kafka', async (t) => {
    const pk = await platformatic()
    for (const [mechanism, username, password, address, tls] of [
      ['PLAIN', 'alice', 'alice-secret', saslPlain, undefined],
      ['SCRAM-SHA-256', 'scram256', 'secret-256', saslSsl, { ca: certs.ca }],
      ['SCRAM-SHA-512', 'scram512', 'secret-512', saslPlain, undefined],
    ] as const) {
      const producer = new pk.Producer({
        clientId: `pk-${mechanism}`,
        bootstrapBrokers: [address],
        sasl: { mechanism, username, password },
        ...(tls ? { tls } : {}),
        serializers: pk.stringSerializers,
      })
      t.after(() => producer.close())
      const sent = await producer.send({ messages: [{ topic: 'plain-kafkajs', partition: 0, value: mechanism }] })
      assert.equal(sent.offsets?.[0]?.topic, 'plain-kafkajs')
    }
  })

  test('kcat over SASL_SSL with SCRAM-SHA-512', { skip: !hasKcat && KCAT_MISSING }, async () => {
    const args = [
      ...['-b', saslSsl, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512'],
      ...['-X', 'sasl.username=scram512', '-X', 'sasl.password=secret-512', '-X', `ssl.ca.location=${certs.caFile}`],
    ]
    await kcat(['-P', '-t', 'kcat-scram', ...args], 'a\nb\n')
    const out = await kcat(['-C', '-t', 'kcat-scram', '-e', '-o', 'beginning', ...args])
    assert.deepEqual(out.trim().split('\n'), ['a', 'b'])
    await assert.rejects(
      kcat(['-L', ...args.map((a) => (a === 'sasl.password=secret-512' ? 'sasl.password=nope' : a))], undefined, 8000),
      /Authentication failed|SASL authentication error/,
    )
  })

  test('@confluentinc/kafka-javascript over SASL_SSL with SCRAM-SHA-256', {
    skip: confluentKafkaJS() ? false : CONFLUENT_MISSING,
  }, async () => {
    const { Kafka, logLevel } = confluentKafkaJS()!
    const kafka = new Kafka({
      kafkaJS: { brokers: [saslSsl], clientId: 'confluent-sasl', logLevel: logLevel.NOTHING },
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-256',
      'sasl.username': 'scram256',
      'sasl.password': 'secret-256',
      'ssl.ca.location': certs.caFile,
    })
    const producer = kafka.producer()
    await producer.connect()
    try {
      await producer.send({ topic: 'confluent-sasl', messages: [{ value: 'c' }] })
    } finally {
      await producer.disconnect()
    }
  })

  test('wrong password and unknown user: SASL_AUTHENTICATION_FAILED with one message, after the delay, logged with the address; others are served meanwhile', async () => {
    const kafka = kafkajsClient(saslPlain, {
      sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
    })
    const working = kafka.producer()
    await working.connect()
    const refusals: [string, string, Buffer | [string, string]][] = [
      ['PLAIN', 'wrong password', Buffer.from('\u0000alice\u0000nope')],
      ['PLAIN', 'unknown user', Buffer.from('\u0000mallory\u0000alice-secret')],
      ['SCRAM-SHA-256', 'wrong password', ['scram256', 'nope']],
      ['SCRAM-SHA-256', 'unknown user', ['mallory', 'secret-256']],
    ]
    const messages = new Map<string, Set<string>>()
    for (const [mechanism, what, credentials] of refusals) {
      const before = log.find(/failed authentication/).length
      // A working client keeps producing while the attempt is refused.
      const sending = working.send({ topic: 'meanwhile', messages: [{ value: what }] })
      const started = Date.now()
      const raw = await handshaken(saslPlain, mechanism)
      let res: SaslAuthenticateResponse
      if (Buffer.isBuffer(credentials)) {
        res = await raw.send(ApiKey.SaslAuthenticate, 2, createSaslAuthenticateRequest({ authBytes: credentials }))
      } else {
        res = await scramAttempt(raw, mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', ...credentials)
      }
      assert.ok(
        Date.now() - started >= 290,
        `${mechanism} ${what}: answered after connection.failed.authentication.delay.ms`,
      )
      assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, `${mechanism} ${what}`)
      messages.set(mechanism, (messages.get(mechanism) ?? new Set()).add(res.errorMessage ?? ''))
      await closedByBroker(raw)
      const line = log.find(/failed authentication/).slice(before)[0]
      assert.ok(line, `${mechanism} ${what} is logged`)
      assert.match(String(line.fields.remote), /:\d+$/)
      assert.equal((await sending)[0]?.errorCode, 0)
    }
    // Wrong password and unknown user look the same to the client.
    assert.deepEqual([...(messages.get('PLAIN') ?? [])], ['Authentication failed: Invalid username or password'])
    assert.deepEqual(
      [...(messages.get('SCRAM-SHA-256') ?? [])],
      ['Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256'],
    )
    await working.disconnect()
    // kafkajs reports the refusal as an authentication error.
    const wrong = kafkajsClient(saslPlain, {
      sasl: { mechanism: 'scram-sha-512', username: 'scram512', password: 'nope' },
      retry: { retries: 0 },
    }).producer()
    await assert.rejects(wrong.connect(), /SASL SCRAM SHA512 authentication failed|Authentication failed/)
  })

  test('UNSUPPORTED_SASL_MECHANISM, requests before authentication, SaslAuthenticate out of turn: refused and closed', async () => {
    const raw = await RawClient.connect(portOf(saslPlain), 'localhost')
    await raw.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
    const hs = await raw.send<SaslHandshakeResponse>(
      ApiKey.SaslHandshake,
      1,
      createSaslHandshakeRequest({ mechanism: 'GSSAPI' }),
    )
    assert.equal(hs.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM)
    assert.deepEqual(hs.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])
    await closedByBroker(raw)

    const early = await RawClient.connect(portOf(saslPlain), 'localhost')
    await assert.rejects(early.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null })), /connection closed/)
    assert.ok(log.find(/unexpected Kafka request of type METADATA during SASL handshake/).length > 0)

    const outOfTurn = await RawClient.connect(portOf(saslPlain), 'localhost')
    const auth = await outOfTurn.send<SaslAuthenticateResponse>(
      ApiKey.SaslAuthenticate,
      2,
      createSaslAuthenticateRequest({ authBytes: Buffer.from('\u0000alice\u0000alice-secret') }),
    )
    assert.equal(auth.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
    await closedByBroker(outOfTurn)

    // After the handshake, only SaslAuthenticate.
    const midway = await handshaken(saslPlain, 'PLAIN')
    await assert.rejects(midway.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null })), /connection closed/)

    // On a listener without SASL, and once authenticated, Kafka answers ILLEGAL_SASL_STATE.
    const plain = await RawClient.connect(portOf(plaintext), 'localhost')
    const none = await plain.send<SaslHandshakeResponse>(
      ApiKey.SaslHandshake,
      1,
      createSaslHandshakeRequest({ mechanism: 'PLAIN' }),
    )
    assert.equal(none.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
    await plain.close()
    const done = await handshaken(saslPlain, 'PLAIN')
    const ok = await done.send<SaslAuthenticateResponse>(
      ApiKey.SaslAuthenticate,
      1,
      createSaslAuthenticateRequest({ authBytes: Buffer.from('alice\u0000alice\u0000alice-secret') }),
    )
    assert.equal(ok.errorCode, ErrorCode.NONE)
    const again = await done.send<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, 1, createSaslAuthenticateRequest())
    assert.equal(again.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
    const rehandshake = await done.send<SaslHandshakeResponse>(
      ApiKey.SaslHandshake,
      1,
      createSaslHandshakeRequest({ mechanism: 'PLAIN' }),
    )
    assert.equal(rehandshake.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
    await done.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null }))
    await done.close()
  })

  test('garbage SASL exchanges are refused, never authenticated, and the broker serves others', async () => {
    const random = (n: number): Buffer => randomBytes(n)
    const tokens: [string, Buffer[]][] = [
      ['PLAIN', [random(40)]],
      ['PLAIN', [Buffer.from('alice\u0000alice')]],
      ['PLAIN', [Buffer.from('bob\u0000alice\u0000alice-secret')]],
      ['SCRAM-SHA-256', [random(64)]],
      ['SCRAM-SHA-256', [Buffer.from('p=tls-unique,,n=scram256,r=abc')]],
      ['SCRAM-SHA-512', [Buffer.from('n,,n=scram512,r=abc'), random(100)]],
      ['SCRAM-SHA-512', [Buffer.from('n,,n=scram512,r=abc'), Buffer.from('c=biws,r=wrong,p=AAAA')]],
    ]
    // Random first tokens, and random finals after a well-formed first message, for every mechanism.
    const mechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']
    for (let i = 0; i < 60; i++) {
      const mechanism = mechanisms[i % 3] as string
      const garbage = i % 2 === 0 ? random(1 + (i % 50)) : Buffer.from(`n,,${random(20).toString('latin1')}`)
      const first = Buffer.from(`n,,n=scram256,r=${random(8).toString('hex')}`)
      tokens.push([mechanism, mechanism === 'PLAIN' || i % 4 < 2 ? [garbage] : [first, garbage]])
    }
    const before = principals.length
    await Promise.all(
      tokens.map(async ([mechanism, sequence]) => {
        const raw = await handshaken(saslPlain, mechanism)
        let last: SaslAuthenticateResponse | undefined
        for (const authBytes of sequence) {
          last = await raw.send<SaslAuthenticateResponse>(
            ApiKey.SaslAuthenticate,
            2,
            createSaslAuthenticateRequest({ authBytes }),
          )
          if (last.errorCode !== ErrorCode.NONE) break
        }
        assert.equal(last?.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, `${mechanism} ${sequence.map(String)}`)
        await closedByBroker(raw)
      }),
    )
    assert.equal(principals.length, before, 'no garbage exchange got a request through')
    assert.deepEqual(
      await kafkajsRoundTrip(
        saslPlain,
        { sasl: { mechanism: 'plain', username: 'admin', password: 'admin-secret' } },
        'after-garbage',
      ),
      ['one', 'two'],
    )
  })

  test('several brokers in one process: each node authenticates SASL_SSL clients and Metadata gives the SASL_SSL addresses', async (t) => {
    const two = await startBroker({
      brokers: 2,
      config: {
        listeners: 'SASL_SSL://localhost:0',
        'sasl.enabled.mechanisms': 'PLAIN',
        'sasl.jaas.config': PLAIN_JAAS,
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': certs.keystoreFile,
      },
    })
    t.after(() => two.close())
    const kafka = kafkajsClient(two.bootstrap, {
      ssl: { ca: [certs.ca] },
      sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
    })
    const admin = kafka.admin()
    await admin.connect()
    t.after(() => admin.disconnect())
    await admin.createTopics({ topics: [{ topic: 'two-nodes', numPartitions: 4 }] })
    const cluster = await admin.describeCluster()
    assert.deepEqual(
      cluster.brokers.map((b) => `${b.host}:${b.port}`).sort(),
      [...(two.listeners.SASL_SSL as string[])].sort(),
    )
    const producer = kafka.producer()
    await producer.connect()
    t.after(() => producer.disconnect())
    const sent = await producer.send({
      topic: 'two-nodes',
      messages: [0, 1, 2, 3].map((partition) => ({ partition, value: String(partition) })),
    })
    assert.deepEqual(
      sent.map((r) => r.errorCode),
      [0, 0, 0, 0],
    )
  })

  test('SaslHandshake v0: the tokens travel as bare frames', async () => {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port: portOf(saslPlain), host: 'localhost' }, () => resolve(s))
      s.once('error', reject)
    })
    const frames = frameReader(socket)
    const handshake = API_DESCRIPTORS.find((a) => a.apiKey === ApiKey.SaslHandshake)!
    socket.write(encodeFrame(handshake, 0, createSaslHandshakeRequest({ mechanism: 'PLAIN' }), 1))
    const hs = await frames.next()
    assert.equal(hs.readInt32BE(0), 1)
    assert.equal(hs.readInt16BE(4), ErrorCode.NONE)
    const token = Buffer.from('\u0000alice\u0000alice-secret')
    const size = Buffer.alloc(4)
    size.writeInt32BE(token.length)
    socket.write(Buffer.concat([size, token]))
    assert.equal((await frames.next()).length, 0)
    // Authenticated: ordinary requests are answered.
    const versions = API_DESCRIPTORS.find((a) => a.apiKey === ApiKey.ApiVersions)!
    socket.write(encodeFrame(versions, 0, createApiVersionsRequest(), 2))
    assert.equal((await frames.next()).readInt32BE(0), 2)
    socket.destroy()
  })

  test('DescribeUserScramCredentials and AlterUserScramCredentials: Kafka errors per user', async () => {
    const raw = await RawClient.connect(portOf(plaintext), 'localhost')
    try {
      const all = await raw.send<DescribeUserScramCredentialsResponse>(
        ApiKey.DescribeUserScramCredentials,
        0,
        createDescribeUserScramCredentialsRequest({ users: null }),
      )
      const described = Object.fromEntries(all.results.map((r) => [r.user, r.credentialInfos]))
      assert.deepEqual(described.scram256, [{ mechanism: 1, iterations: 4096 }])
      assert.deepEqual(described.scram512, [{ mechanism: 2, iterations: 8192 }])
      const some = await raw.send<DescribeUserScramCredentialsResponse>(
        ApiKey.DescribeUserScramCredentials,
        0,
        createDescribeUserScramCredentialsRequest({
          users: [{ name: 'nobody' }, { name: 'scram256' }, { name: 'x' }, { name: 'x' }],
        }),
      )
      assert.deepEqual(
        some.results.map((r) => [r.user, r.errorCode]),
        [
          ['nobody', ErrorCode.RESOURCE_NOT_FOUND],
          ['scram256', ErrorCode.NONE],
          ['x', ErrorCode.DUPLICATE_RESOURCE],
        ],
      )
      const altered = await raw.send<AlterUserScramCredentialsResponse>(
        ApiKey.AlterUserScramCredentials,
        0,
        createAlterUserScramCredentialsRequest({
          deletions: [
            { name: 'nobody', mechanism: 1 },
            { name: 'weird', mechanism: 9 },
          ],
          upsertions: [
            { name: 'few', mechanism: 1, iterations: 10, salt: Buffer.from('s'), saltedPassword: Buffer.alloc(32) },
            { name: 'many', mechanism: 2, iterations: 20000, salt: Buffer.from('s'), saltedPassword: Buffer.alloc(64) },
            { name: '', mechanism: 1, iterations: 4096, salt: Buffer.from('s'), saltedPassword: Buffer.alloc(32) },
          ],
        }),
      )
      assert.deepEqual(
        altered.results.map((r) => [r.user, r.errorCode, r.errorMessage]),
        [
          ['nobody', ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'],
          ['weird', ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism'],
          ['few', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
          ['many', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations'],
          ['', ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'],
        ],
      )
      // A deleted credential no longer authenticates.
      assert.equal((await setScram('temp', 'pw-temp', 1)).results[0]?.errorCode, 0)
      const kafka = kafkajsClient(saslPlain, {
        sasl: { mechanism: 'scram-sha-256', username: 'temp', password: 'pw-temp' },
      })
      const admin = kafka.admin()
      await admin.connect()
      await admin.disconnect()
      const deleted = await raw.send<AlterUserScramCredentialsResponse>(
        ApiKey.AlterUserScramCredentials,
        0,
        createAlterUserScramCredentialsRequest({ deletions: [{ name: 'temp', mechanism: 1 }] }),
      )
      assert.equal(deleted.results[0]?.errorCode, ErrorCode.NONE)
      const refused = kafkajsClient(saslPlain, {
        sasl: { mechanism: 'scram-sha-256', username: 'temp', password: 'pw-temp' },
        retry: { retries: 0 },
      }).admin()
      await assert.rejects(refused.connect())
    } finally {
      await raw.close()
    }
  })
})

/** A SCRAM exchange by hand with the given password; resolves the broker's last answer. */
async function scramAttempt(
  raw: RawClient,
  alg: 'sha256' | 'sha512',
  user: string,
  password: string,
): Promise<SaslAuthenticateResponse> {
  const clientNonce = randomBytes(12).toString('base64')
  const bare = `n=${user},r=${clientNonce}`
  const first = await raw.send<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    createSaslAuthenticateRequest({ authBytes: Buffer.from(`n,,${bare}`) }),
  )
  if (first.errorCode !== ErrorCode.NONE) return first
  const serverFirst = first.authBytes.toString()
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]))
  const { createHash, createHmac } = await import('node:crypto')
  const salted = pbkdf2Sync(
    password,
    Buffer.from(attrs.s as string, 'base64'),
    Number(attrs.i),
    alg === 'sha256' ? 32 : 64,
    alg,
  )
  const clientKey = createHmac(alg, salted).update('Client Key').digest()
  const storedKey = createHash(alg).update(clientKey).digest()
  const withoutProof = `c=biws,r=${attrs.r}`
  const signature = createHmac(alg, storedKey).update(`${bare},${serverFirst},${withoutProof}`).digest()
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)))
  return raw.send<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    createSaslAuthenticateRequest({ authBytes: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`) }),
  )
}

/** Reads size-prefixed frames off a socket, one at a time. */
function frameReader(socket: Socket): { next(): Promise<Buffer> } {
  let buffer = Buffer.alloc(0)
  const waiting: ((frame: Buffer) => void)[] = []
  const ready: Buffer[] = []
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readInt32BE(0)) {
      const frame = buffer.subarray(4, 4 + buffer.readInt32BE(0))
      buffer = buffer.subarray(4 + frame.length)
      const w = waiting.shift()
      if (w) w(frame)
      else ready.push(frame)
    }
  })
  return {
    next: () => {
      const frame = ready.shift()
      return frame ? Promise.resolve(frame) : new Promise((resolve) => waiting.push(resolve))
    },
  }
}

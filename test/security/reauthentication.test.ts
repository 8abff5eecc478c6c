/**
 * SASL re-authentication (KIP-368) with connections.max.reauth.ms: the session lifetime told in
 * SaslAuthenticate, kafkajs and @platformatic/kafka renewing their sessions on open connections
 * while they produce, a connection whose session ended closed at its next request, and a
 * re-authentication that changes mechanism or principal refused.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import {
  createSaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../../src/protocol/generated/sasl-authenticate.ts'
import { createSaslHandshakeRequest, type SaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.ts'
import { CaptureLog } from '../helpers/capture-log.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const REAUTH_MS = 1500
const log = new CaptureLog()
let broker: Broker
let sasl: string

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

before(async () => {
  broker = await startBroker({
    logger: log,
    config: {
      listeners: 'SASL_PLAINTEXT://localhost:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";',
      'connections.max.reauth.ms': String(REAUTH_MS),
      'connection.failed.authentication.delay.ms': '0',
    },
  })
  sasl = broker.bootstrap
})
after(() => broker.close())

/** A raw connection authenticated with PLAIN; resolves it with the broker's answer. */
async function plainLogin(
  user: string,
  password: string,
): Promise<{ raw: RawClient; res: SaslAuthenticateResponse; at: number }> {
  const raw = await RawClient.connect(portOf(sasl), 'localhost')
  await raw.send(ApiKey.SaslHandshake, 1, createSaslHandshakeRequest({ mechanism: 'PLAIN' }))
  const at = Date.now()
  const res = await raw.send<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    createSaslAuthenticateRequest({ authBytes: Buffer.from(`\u0000${user}\u0000${password}`) }),
  )
  return { raw, res, at }
}

/** Re-authenticates a raw connection with PLAIN. */
async function renew(raw: RawClient, mechanism: string, user: string, password: string) {
  const hs = await raw.send<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, createSaslHandshakeRequest({ mechanism }))
  if (hs.errorCode !== ErrorCode.NONE) return hs
  return raw.send<SaslAuthenticateResponse>(
    ApiKey.SaslAuthenticate,
    2,
    createSaslAuthenticateRequest({ authBytes: Buffer.from(`\u0000${user}\u0000${password}`) }),
  )
}

describe('re-authentication (connections.max.reauth.ms)', () => {
  test('the lifetime is told; a renewed session goes on past it; an ended one is closed at its next request', async () => {
    const first = await plainLogin('alice', 'alice-secret')
    assert.equal(first.res.errorCode, ErrorCode.NONE)
    assert.equal(first.res.sessionLifetimeMs, BigInt(REAUTH_MS))
    const renewed = await plainLogin('alice', 'alice-secret')
    // Renew before the end, then work on past the first lifetime.
    await sleep(REAUTH_MS / 2)
    const again = await renew(renewed.raw, 'PLAIN', 'alice', 'alice-secret')
    assert.equal(again.errorCode, ErrorCode.NONE)
    while (Date.now() <= first.at + REAUTH_MS + 100) await sleep(50)
    await renewed.raw.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null }))
    await assert.rejects(
      first.raw.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null })),
      /connection closed/,
    )
    assert.ok(log.find(/SASL session ended without re-authentication/).length > 0)
    await renewed.raw.close()
  })

  test('a re-authentication may not change mechanism or principal', async () => {
    const mechanism = await plainLogin('alice', 'alice-secret')
    const changed = await renew(mechanism.raw, 'SCRAM-SHA-256', 'alice', 'alice-secret')
    assert.equal(changed.errorCode, ErrorCode.ILLEGAL_SASL_STATE)
    await assert.rejects(
      mechanism.raw.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null })),
      /connection closed/,
    )
    const principal = await plainLogin('alice', 'alice-secret')
    const other = (await renew(principal.raw, 'PLAIN', 'bob', 'bob-secret')) as SaslAuthenticateResponse
    assert.equal(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED)
    assert.equal(other.errorMessage, 'Cannot change principals during re-authentication from User:alice: User:bob')
    await assert.rejects(
      principal.raw.send(ApiKey.Metadata, 12, createMetadataRequest({ topics: null })),
      /connection closed/,
    )
  })

  test('kafkajs and @platformatic/kafka renew their sessions while producing past several lifetimes', async (t) => {
    const kafka = kafkajsClient(sasl, { sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } })
    const kjs = kafka.producer()
    await kjs.connect()
    t.after(() => kjs.disconnect())
    const pk = await platformatic()
    const plt = new pk.Producer({
      clientId: 'reauth-pk',
      bootstrapBrokers: [sasl],
      sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' },
      serializers: pk.stringSerializers,
    })
    t.after(() => plt.close())
    await kjs.send({ topic: 'reauth', messages: [{ value: 'first' }] })
    const logins = log.lines.filter((l) => l.msg === 'authenticated').length
    const ended = log.find(/SASL session ended/).length
    const until = Date.now() + 3 * REAUTH_MS
    let sent = 0
    while (Date.now() < until) {
      const [k] = await kjs.send({ topic: 'reauth', messages: [{ value: `k${sent}` }] })
      assert.equal(k?.errorCode, 0)
      const p = await plt.send({ messages: [{ topic: 'reauth', partition: 0, value: `p${sent}` }] })
      assert.equal(p.offsets?.[0]?.topic, 'reauth')
      sent++
      await sleep(200)
    }
    assert.ok(sent >= 10)
    assert.ok(log.lines.filter((l) => l.msg === 'authenticated').length > logins + 2, 'sessions were renewed')
    assert.equal(log.find(/SASL session ended/).length, ended, 'no connection outlived its session')
  })
})

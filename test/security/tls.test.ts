import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { connect as tlsConnect } from 'node:tls'
import { type Broker, type BrokerOptions, startBroker } from '../../src/broker/broker.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { CaptureLog } from '../helpers/capture-log.ts'
import { makeCertificates, OPENSSL_SKIP, type TestCertificates } from '../helpers/certificates.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { kafkajsRoundTrip } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

let certs: TestCertificates
before(() => {
  if (!OPENSSL_SKIP) certs = makeCertificates()
})
after(() => certs?.remove())

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

/** A broker with a PLAINTEXT and an SSL listener; `principals` collects who sent each request. */
async function tlsBroker(
  config: Record<string, string>,
  options: BrokerOptions = {},
): Promise<{ broker: Broker; ssl: string; plain: string; principals: string[] }> {
  const principals: string[] = []
  const broker = await startBroker({
    ...options,
    config: {
      listeners: 'PLAINTEXT://localhost:0,SSL://localhost:0',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.keystoreFile,
      ...config,
    },
    dispatchHook: (call) => {
      principals.push(call.ctx.connection.principal)
      return call.next()
    },
  })
  return {
    broker,
    ssl: (broker.listeners.SSL as string[])[0] as string,
    plain: (broker.listeners.PLAINTEXT as string[])[0] as string,
    principals,
  }
}

/** The subject CN of the certificate the broker presents on a TLS port. */
function presentedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: 'localhost', port, ca: certs.ca, servername: 'localhost' }, () => {
      const cn = socket.getPeerCertificate().subject.CN
      socket.end()
      resolve(String(cn))
    })
    socket.once('error', reject)
  })
}

describe('TLS listeners', { skip: OPENSSL_SKIP }, () => {
  test('SSL listener with a PEM key store: kafkajs, @platformatic/kafka and kcat over TLS; Metadata gives the SSL addresses', async (t) => {
    const { broker, ssl, plain } = await tlsBroker({})
    t.after(() => broker.close())
    assert.notEqual(ssl, plain)
    assert.deepEqual(await kafkajsRoundTrip(ssl, { ssl: { ca: [certs.ca] } }, 'tls-kafkajs'), ['one', 'two'])

    const pk = await platformatic()
    const admin = new pk.Admin({ clientId: 'tls', bootstrapBrokers: [ssl], tls: { ca: certs.ca } })
    t.after(() => admin.close())
    const md = await admin.metadata({ topics: ['tls-kafkajs'] })
    assert.deepEqual(
      [...md.brokers.values()].map((b) => `${b.host}:${b.port}`),
      [ssl],
    )
    const producer = new pk.Producer({
      clientId: 'tls-pk',
      bootstrapBrokers: [ssl],
      tls: { ca: certs.ca },
      serializers: pk.stringSerializers,
    })
    t.after(() => producer.close())
    const sent = await producer.send({ messages: [{ topic: 'tls-kafkajs', partition: 0, value: 'three' }] })
    assert.equal(sent.offsets?.[0]?.offset, 2n)
  })

  test('kcat over TLS', { skip: !hasKcat && KCAT_MISSING }, async (t) => {
    const { broker, ssl } = await tlsBroker({})
    t.after(() => broker.close())
    const tlsArgs = ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caFile}`]
    await kcat(['-P', '-b', ssl, '-t', 'tls-kcat', ...tlsArgs], 'a\nb\n')
    const out = await kcat(['-C', '-b', ssl, '-t', 'tls-kcat', '-e', '-o', 'beginning', ...tlsArgs])
    assert.deepEqual(out.trim().split('\n'), ['a', 'b'])
  })

  test('a plaintext client on the TLS listener is closed with a log line; TLS and plaintext clients are served meanwhile', async (t) => {
    const log = new CaptureLog()
    const { broker, ssl, plain } = await tlsBroker({}, { logger: log })
    t.after(() => broker.close())
    const raw = await RawClient.connect(portOf(ssl), 'localhost')
    await assert.rejects(raw.send(ApiKey.ApiVersions, 3, createApiVersionsRequest()), /connection closed|ECONNRESET/)
    const line = log.find(/TLS handshake failed/)[0]
    assert.ok(line, 'a log line names the failed handshake')
    assert.match(String(line.fields.remote), /:\d+$/)
    // Everyone else is served.
    assert.deepEqual(await kafkajsRoundTrip(ssl, { ssl: { ca: [certs.ca] } }, 'after-plain'), ['one', 'two'])
    const ok = await RawClient.connect(portOf(plain), 'localhost')
    t.after(() => ok.close())
    await ok.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
  })

  test('mTLS (ssl.client.auth=required): the principal is the certificate subject; no or an untrusted certificate is refused', async (t) => {
    const { broker, ssl, principals } = await tlsBroker({
      'listener.name.ssl.ssl.client.auth': 'required',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': certs.caFile,
    })
    t.after(() => broker.close())
    const alice = certs.client('/C=US/O=acme/OU=eng/CN=alice')
    assert.deepEqual(
      await kafkajsRoundTrip(ssl, { ssl: { ca: [certs.ca], cert: alice.cert, key: alice.key } }, 'mtls'),
      ['one', 'two'],
    )
    assert.ok(principals.length > 0)
    assert.deepEqual(new Set(principals), new Set(['User:CN=alice,OU=eng,O=acme,C=US']))
    const refused = async (ssl_: object): Promise<void> => {
      const producer = kafkajsClient(ssl, { ssl: ssl_, retry: { retries: 0 }, connectionTimeout: 3000 }).producer()
      await assert.rejects(producer.connect())
    }
    await refused({ ca: [certs.ca] })
    const stranger = certs.untrustedClient()
    await refused({ ca: [certs.ca], cert: stranger.cert, key: stranger.key })
  })

  test('ssl.client.auth=requested: a client without a certificate is User:ANONYMOUS; mapping rules rewrite subjects', async (t) => {
    const { broker, ssl, principals } = await tlsBroker({
      'ssl.client.auth': 'requested',
      'ssl.truststore.location': certs.caFile,
      'ssl.principal.mapping.rules': 'RULE:^CN=([^,]*),OU=([^,]*).*$/$1@$2/U,DEFAULT',
    })
    t.after(() => broker.close())
    const anonymous = kafkajsClient(ssl, { ssl: { ca: [certs.ca] } }).admin()
    await anonymous.connect()
    await anonymous.listTopics()
    await anonymous.disconnect()
    assert.deepEqual(new Set(principals), new Set(['User:ANONYMOUS']))
    principals.length = 0
    const bob = certs.client('/O=acme/OU=ops/CN=bob')
    const mapped = kafkajsClient(ssl, { ssl: { ca: [certs.ca], cert: bob.cert, key: bob.key } }).admin()
    await mapped.connect()
    await mapped.listTopics()
    await mapped.disconnect()
    assert.deepEqual(new Set(principals), new Set(['User:BOB@OPS']))
    principals.length = 0
    const carol = certs.client('/CN=carol')
    const unmapped = kafkajsClient(ssl, { ssl: { ca: [certs.ca], cert: carol.cert, key: carol.key } }).admin()
    await unmapped.connect()
    await unmapped.listTopics()
    await unmapped.disconnect()
    assert.deepEqual(new Set(principals), new Set(['User:CN=carol']))
  })

  test('mTLS with the trusted authorities inline (ssl.truststore.certificates)', async (t) => {
    const { broker, ssl, principals } = await tlsBroker({
      'ssl.client.auth': 'required',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.certificates': certs.ca,
    })
    t.after(() => broker.close())
    const dave = certs.client('/CN=dave')
    const admin = kafkajsClient(ssl, { ssl: { ca: [certs.ca], cert: dave.cert, key: dave.key } }).admin()
    await admin.connect()
    await admin.listTopics()
    await admin.disconnect()
    assert.deepEqual(new Set(principals), new Set(['User:CN=dave']))
  })

  test("inline PEM (ssl.keystore.certificate.chain and ssl.keystore.key), an encrypted key with ssl.key.password, PKCS12, and Kafka's refusals", async (t) => {
    const inline = await tlsBroker({
      'ssl.keystore.location': '',
      'ssl.keystore.certificate.chain': certs.serverCert,
      'ssl.keystore.key': certs.serverKey,
    })
    t.after(() => inline.broker.close())
    assert.equal(await presentedCommonName(portOf(inline.ssl)), 'localhost')
    const encrypted = await tlsBroker({
      'ssl.keystore.location': certs.encryptedKeystore('s3cret'),
      'ssl.key.password': 's3cret',
    })
    t.after(() => encrypted.broker.close())
    assert.equal(await presentedCommonName(portOf(encrypted.ssl)), 'localhost')
    await assert.rejects(
      tlsBroker({ 'ssl.keystore.location': certs.encryptedKeystore('s3cret'), 'ssl.key.password': 'wrong' }),
    )
    const pkcs12 = await tlsBroker({
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': certs.pkcs12Keystore('p12-secret'),
      'ssl.keystore.password': 'p12-secret',
    })
    t.after(() => pkcs12.broker.close())
    assert.equal(await presentedCommonName(portOf(pkcs12.ssl)), 'localhost')
    await assert.rejects(tlsBroker({ 'ssl.keystore.type': 'JKS' }), /ssl\.keystore\.type JKS cannot be read here/)
    await assert.rejects(
      tlsBroker({ 'ssl.keystore.password': 'x' }),
      /SSL key store password cannot be specified with PEM format, only key password may be specified/,
    )
  })

  test('a renewed key store file is served to new connections without a restart', async (t) => {
    const own = makeCertificates()
    t.after(() => own.remove())
    const log = new CaptureLog()
    const broker = await startBroker({
      logger: log,
      config: {
        listeners: 'SSL://localhost:0',
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': own.keystoreFile,
      },
    })
    t.after(() => broker.close())
    const port = portOf(broker.bootstrap)
    const cn = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: 'localhost', port, ca: own.ca, servername: 'localhost' }, () => {
          const name = s.getPeerCertificate().subject.CN
          s.end()
          resolve(String(name))
        })
        s.once('error', reject)
      })
    assert.equal(await cn(), 'localhost')
    own.renewServer('renewed')
    const deadline = Date.now() + 20_000
    while ((await cn()) !== 'renewed') {
      assert.ok(Date.now() < deadline, 'the renewed certificate is served within 20 s')
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.ok(log.find(/TLS certificates reloaded/).length > 0)
  })
})

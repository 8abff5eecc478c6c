/**
 * The `samsa` command against secured listeners, through `--command-config` (a Kafka client
 * properties file, as Kafka's scripts take): SASL_SSL with SCRAM-SHA-512 and a PEM trust store,
 * SASL_PLAINTEXT with PLAIN and with an unsecured OAUTHBEARER token, SSL with a client
 * certificate (mTLS). `samsa users scram set|list|delete` manages the SCRAM credentials that kcat
 * and kafkajs then log in with. Refusals (wrong password, no client certificate, a bad file) are
 * one line with the right exit code.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { makeCertificates, OPENSSL_SKIP, type TestCertificates } from '../helpers/certificates.ts'
import { hasKcat, kcat } from '../helpers/kcat.ts'
import { kafkajsRoundTrip } from '../security/helpers.ts'
import { runCli } from './helpers.ts'

const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" user_bob="bob-secret";'
const OAUTH_JAAS = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;'

let certs: TestCertificates
let broker: Broker
let plaintext: string
let saslSsl: string
let saslPlain: string
let mtls: string
/** Principals of the requests on the secured listeners (other than authentication). */
const principals = new Set<string>()

const address = (listener: string): string => (broker.listeners[listener] as string[])[0] as string

/** Writes a properties file into the test's directory and returns its path. */
function properties(name: string, lines: string[]): string {
  const file = join(certs.dir, `${name}.properties`)
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

before(async () => {
  if (OPENSSL_SKIP) return
  certs = makeCertificates()
  broker = await startBroker({
    config: {
      listeners: 'PLAINTEXT://localhost:0,SASL_SSL://localhost:0,SASL_PLAINTEXT://localhost:0,MTLS://localhost:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,MTLS:SSL',
      'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'PLAIN,OAUTHBEARER',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
      'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': OAUTH_JAAS,
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': certs.keystoreFile,
      'listener.name.mtls.ssl.client.auth': 'required',
      'listener.name.mtls.ssl.truststore.location': certs.caFile,
      'connection.failed.authentication.delay.ms': '50',
    },
    dispatchHook: (call) => {
      if (call.ctx.listener !== 'PLAINTEXT' && call.apiKey === ApiKey.Metadata) {
        principals.add(call.ctx.connection.principal)
      }
      return call.next()
    },
  })
  plaintext = address('PLAINTEXT')
  saslSsl = address('SASL_SSL')
  saslPlain = address('SASL_PLAINTEXT')
  mtls = address('MTLS')
})
after(async () => {
  await broker?.close()
  certs?.remove()
})

describe('samsa --command-config and samsa users', { skip: OPENSSL_SKIP }, () => {
  test('users scram set makes a credential kcat and kafkajs log in with; list shows it; delete removes it', async () => {
    const set = await runCli([
      ...['users', 'scram', 'set', 'alice', '--mechanism', 'SCRAM-SHA-512', '--password', 'alice-secret'],
      ...['--bootstrap', plaintext],
    ])
    assert.equal(set.code, 0, set.stderr)
    const list = await runCli(['users', 'scram', 'list', '--json', '--bootstrap', plaintext])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(JSON.parse(list.stdout), [{ user: 'alice', mechanism: 'SCRAM-SHA-512', iterations: 8192 }])

    const sasl = { mechanism: 'scram-sha-512' as const, username: 'alice', password: 'alice-secret' }
    assert.deepEqual(await kafkajsRoundTrip(saslSsl, { sasl, ssl: { ca: [certs.ca] } }, 'users-kafkajs'), [
      'one',
      'two',
    ])
    const kcatArgs = [
      ...['-b', saslSsl, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-512'],
      ...['-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret', '-X', `ssl.ca.location=${certs.caFile}`],
    ]
    if (hasKcat) assert.match(await kcat(['-L', ...kcatArgs]), /broker/)

    const deleted = await runCli([
      ...['users', 'scram', 'delete', 'alice', '--mechanism', 'SCRAM-SHA-512', '--bootstrap', plaintext],
    ])
    assert.equal(deleted.code, 0, deleted.stderr)
    const empty = await runCli(['users', 'scram', 'list', '--json', '--bootstrap', plaintext])
    assert.deepEqual(JSON.parse(empty.stdout), [])
    if (hasKcat)
      await assert.rejects(
        kcat(['-L', ...kcatArgs], undefined, 8000),
        /Authentication failed|SASL authentication error/,
      )
  })

  test('SASL_SSL with SCRAM-SHA-512: topics, produce and consume through the properties file', async () => {
    const set = await runCli([...['users', 'scram', 'set', 'carol', '-m', 'SCRAM-SHA-512', '--bootstrap', plaintext]], {
      env: { SAMSA_SCRAM_PASSWORD: 'carol-secret' },
    })
    assert.equal(set.code, 0, set.stderr)
    const config = properties('scram', [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
      '    username="carol" password="carol-secret";',
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${certs.caFile}`,
    ])
    const secured = ['--bootstrap', saslSsl, '--command-config', config]
    principals.clear()
    const created = await runCli(['topics', 'create', 'secured-cli', '--partitions', '1', ...secured])
    assert.equal(created.code, 0, created.stderr)
    const produced = await runCli(['produce', 'secured-cli', ...secured], { input: 'a\nb\n' })
    assert.equal(produced.code, 0, produced.stderr)
    const consumed = await runCli(['consume', 'secured-cli', '--from-beginning', ...secured])
    assert.equal(consumed.code, 0, consumed.stderr)
    assert.deepEqual(consumed.stdout.trim().split('\n'), ['a', 'b'])
    assert.deepEqual([...principals], ['User:carol'])

    // The same through the environment variable.
    const listed = await runCli(['topics', 'list', '--bootstrap', saslSsl], { env: { SAMSA_COMMAND_CONFIG: config } })
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /secured-cli/)

    const wrong = properties('scram-wrong', [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="carol" password="nope";',
      `ssl.truststore.location=${certs.caFile}`,
    ])
    const refused = await runCli(['topics', 'list', '--bootstrap', saslSsl, '--command-config', wrong])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /SASL_AUTHENTICATION_FAILED/)
    assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line')
  })

  test('SASL_PLAINTEXT with PLAIN and with an unsecured OAUTHBEARER token', async () => {
    principals.clear()
    const plain = properties('plain', [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=PLAIN',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="bob-secret";',
    ])
    const viaPlain = await runCli(['topics', 'list', '--bootstrap', saslPlain, '--command-config', plain])
    assert.equal(viaPlain.code, 0, viaPlain.stderr)
    const oauth = properties('oauth', [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=OAUTHBEARER',
      'sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="dora";',
    ])
    const viaOauth = await runCli(['topics', 'list', '--bootstrap', saslPlain, '--command-config', oauth])
    assert.equal(viaOauth.code, 0, viaOauth.stderr)
    assert.deepEqual([...principals].sort(), ['User:bob', 'User:dora'])
  })

  test('SSL with a client certificate (mTLS); without one the broker refuses', async () => {
    const client = certs.client('/O=samsa/CN=cli-user')
    writeFileSync(join(certs.dir, 'cli-keystore.pem'), `${client.key}\n${client.cert}`)
    const withCert = properties('mtls', [
      'security.protocol=SSL',
      `ssl.truststore.location=${certs.caFile}`,
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${join(certs.dir, 'cli-keystore.pem')}`,
    ])
    principals.clear()
    const ok = await runCli(['topics', 'list', '--bootstrap', mtls, '--command-config', withCert])
    assert.equal(ok.code, 0, ok.stderr)
    assert.deepEqual([...principals], ['User:CN=cli-user,O=samsa'])
    const without = properties('tls-only', ['security.protocol=SSL', `ssl.truststore.location=${certs.caFile}`])
    const refused = await runCli([
      'topics',
      'list',
      '--bootstrap',
      mtls,
      '--command-config',
      without,
      '--timeout',
      '3000',
    ])
    assert.notEqual(refused.code, 0)
  })

  test('a bad properties file is a usage error in one line', async () => {
    const bad = properties('bad', ['security.protocol=SASL_QUIC'])
    const r = await runCli(['topics', 'list', '--bootstrap', saslPlain, '--command-config', bad])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /security\.protocol SASL_QUIC is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/)
    const gssapi = properties('gssapi', ['security.protocol=SASL_PLAINTEXT'])
    const r2 = await runCli(['topics', 'list', '--bootstrap', saslPlain, '--command-config', gssapi])
    assert.equal(r2.code, 2)
    assert.match(r2.stderr, /sasl\.mechanism GSSAPI is not supported here/)
  })
})

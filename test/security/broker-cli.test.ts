/**
 * `samsa broker` with a Kafka-style server.properties for security: a PLAINTEXT and a SASL_SSL
 * listener, a PEM key store and PLAIN users in a JAAS config written over continued lines, as
 * Kafka's examples write it; a SASL listener whose configuration cannot be served is a usage error.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { runCli } from '../cli/helpers.ts'
import { spawnBroker } from '../helpers/broker-process.ts'
import { makeCertificates, OPENSSL_SKIP, type TestCertificates } from '../helpers/certificates.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { tempDir } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

let certs: TestCertificates
let dir: { path: string; remove(): Promise<void> }
before(async () => {
  if (!OPENSSL_SKIP) certs = makeCertificates()
  dir = await tempDir('samsa-security-cli-')
})
after(async () => {
  certs?.remove()
  await dir.remove()
})

test('server.properties with SASL_SSL (PLAIN users over continued lines) starts samsa broker; clients authenticate over TLS', {
  skip: OPENSSL_SKIP,
}, async (t) => {
  const file = join(dir.path, 'server.properties')
  await writeFile(
    file,
    [
      'listeners=PLAINTEXT://localhost:0,CLIENTS://localhost:0',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENTS:SASL_SSL',
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${certs.keystoreFile}`,
      'sasl.enabled.mechanisms=PLAIN',
      'listener.name.clients.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\',
      '    user_alice="alice-secret" \\',
      '    user_bob="bob-secret";',
      '',
    ].join('\n'),
  )
  const broker = await spawnBroker(join(dir.path, 'data'), ['--memory', '--config', file, '--log-format', 'json'], {
    ownListeners: true,
  })
  t.after(() => broker.stop())
  const started = broker
    .output()
    .split('\n')
    .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { listeners?: Record<string, string> }) : {}))
    .find((l) => l.listeners !== undefined)
  const clients = started?.listeners?.CLIENTS as string
  assert.match(clients, /^localhost:\d+$/)
  assert.ok(started?.listeners?.PLAINTEXT)
  for (const [username, password] of [
    ['alice', 'alice-secret'],
    ['bob', 'bob-secret'],
  ] as const) {
    const producer = kafkajsClient(clients, {
      ssl: { ca: [certs.ca] },
      sasl: { mechanism: 'plain', username, password },
    }).producer()
    await producer.connect()
    const [sent] = await producer.send({ topic: 'cli-sasl', messages: [{ value: username }] })
    assert.equal(sent?.errorCode, 0)
    await producer.disconnect()
  }
  assert.doesNotMatch(broker.output(), /no effect here[^\n]*(sasl|ssl\.)/)
})

test('a SASL listener without a mechanism samsa serves, or PLAIN without users, is a usage error', async () => {
  const gssapi = await runCli(['broker', '--memory', '--set', 'listeners=SASL_PLAINTEXT://:0'])
  assert.equal(gssapi.code, 2)
  assert.match(gssapi.stderr, /sasl\.enabled\.mechanisms has GSSAPI, which samsa does not serve/)
  const noUsers = await runCli([
    'broker',
    '--memory',
    ...['--set', 'listeners=SASL_PLAINTEXT://:0', '--set', 'sasl.enabled.mechanisms=PLAIN'],
  ])
  assert.equal(noUsers.code, 2)
  assert.match(
    noUsers.stderr,
    /PLAIN is enabled but has no users: set listener\.name\.sasl_plaintext\.plain\.sasl\.jaas\.config/,
  )
})

/**
 * `samsa acls create|list|delete` as real processes against a broker with Kafka's standard
 * authorizer: an ACL the CLI creates lets a kafkajs client (SASL PLAIN) produce, and once the CLI
 * deletes it the same client is refused; listing with filters and --json; usage errors; a broker
 * without an authorizer answers SECURITY_DISABLED.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { AUTHORIZER, carriesKafkaError, PLAIN_JAAS, sasl } from '../security/acl-helpers.ts'
import { cli, useCliBroker } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const env = useCliBroker({
  config: {
    listeners: 'PLAINTEXT://localhost:0,SASL_PLAINTEXT://localhost:0',
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
    'authorizer.class.name': AUTHORIZER,
    // The CLI comes in on PLAINTEXT as User:ANONYMOUS.
    'super.users': 'User:ANONYMOUS',
  },
})

/** Sends one record to `topic` as alice over SASL PLAIN. */
async function produceAsAlice(topic: string): Promise<void> {
  const address = (env.broker.listeners.SASL_PLAINTEXT as string[])[0] as string
  const producer = kafkajsClient(address, { sasl: sasl('alice'), retry: { retries: 0 } }).producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: [{ value: 'from alice' }] })
  } finally {
    await producer.disconnect()
  }
}

describe('samsa acls', () => {
  test('create lets a principal produce, list shows the ACL, delete takes it away', async () => {
    await env.admin.createTopics([{ name: 'orders', partitions: 1 }])
    await assert.rejects(produceAsAlice('orders'), (err) => carriesKafkaError(err, 'TOPIC_AUTHORIZATION_FAILED'))

    const created = await env.samsa([
      'acls',
      'create',
      '--allow',
      'User:alice',
      '--operation',
      'write',
      '--topic',
      'orders',
    ])
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stderr, /created 1 ACL/)
    await produceAsAlice('orders')

    const listed = await env.samsa(['acls', 'list', '--principal', 'User:alice', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    assert.deepEqual(JSON.parse(listed.stdout), [
      {
        resourceType: 'topic',
        resourceName: 'orders',
        patternType: 'literal',
        principal: 'User:alice',
        host: '*',
        operation: 'write',
        permission: 'allow',
      },
    ])

    const deleted = await env.samsa([
      'acls',
      'delete',
      '--allow',
      'User:alice',
      '--operation',
      'write',
      '--topic',
      'orders',
    ])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.match(deleted.stderr, /deleted 1 ACL/)
    assert.match(deleted.stdout, /orders\s+literal\s+User:alice\s+\*\s+write\s+allow/)
    await assert.rejects(produceAsAlice('orders'), (err) => carriesKafkaError(err, 'TOPIC_AUTHORIZATION_FAILED'))
  })

  test('list matches prefixed ACLs and the table shows each combination created', async () => {
    const created = await env.samsa([
      ...['acls', 'create', '--allow', 'User:bob', '--deny', 'User:carol'],
      ...[
        '--operation',
        'read',
        '--operation',
        'describe-configs',
        '--topic',
        'sales.',
        '--resource-pattern-type',
        'prefixed',
      ],
    ])
    assert.equal(created.code, 0, created.stderr)
    assert.match(created.stderr, /created 4 ACLs/)
    const matched = await env.samsa(['acls', 'list', '--topic', 'sales.eu', '--resource-pattern-type', 'match'])
    assert.equal(matched.code, 0, matched.stderr)
    const lines = matched.stdout.trim().split('\n')
    assert.match(lines[0] ?? '', /RESOURCE\s+NAME\s+PATTERN\s+PRINCIPAL\s+HOST\s+OPERATION\s+PERMISSION/)
    assert.equal(lines.length, 5)
    assert.ok(lines.some((l) => /sales\.\s+prefixed\s+User:carol\s+\*\s+describe-configs\s+deny/.test(l)))
    const removed = await env.samsa([
      'acls',
      'delete',
      '--topic',
      'sales.',
      '--resource-pattern-type',
      'prefixed',
      '--json',
    ])
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal(JSON.parse(removed.stdout).length, 4)
  })

  test('usage errors exit 2', async () => {
    const badOp = await env.samsa(['acls', 'create', '--allow', 'User:x', '--operation', 'fly', '--topic', 't'])
    assert.equal(badOp.code, 2)
    assert.match(badOp.stderr, /unknown operation "fly"/)
    const noResource = await env.samsa(['acls', 'create', '--allow', 'User:x', '--operation', 'read'])
    assert.equal(noResource.code, 2)
  })

  test('a broker without an authorizer answers SECURITY_DISABLED', async (t) => {
    const plain = await startBroker({})
    t.after(() => plain.close())
    const run = await cli(plain.bootstrap)(['acls', 'list'])
    assert.equal(run.code, 1)
    assert.match(run.stderr, /SECURITY_DISABLED/)
  })
})

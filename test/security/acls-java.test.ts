/**
 * The ACL APIs through Apache Kafka's Java admin client (test/java, scenario "acls"): CreateAcls,
 * DescribeAcls, DeleteAcls with a MATCH filter, and DescribeCluster's authorized operations, as
 * the super user User:ANONYMOUS on a PLAINTEXT listener.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaClient } from '../helpers/java-client.ts'
import { AUTHORIZER } from './acl-helpers.ts'

interface Seen {
  created: string[]
  deleted: number
  left: string[]
  clusterOperations: string[]
}

test('the Java admin client creates, describes and deletes ACLs', {
  skip: !hasJavaClient && JAVA_CLIENT_MISSING,
}, async (t) => {
  const broker = await startBroker({
    config: { 'authorizer.class.name': AUTHORIZER, 'super.users': 'User:ANONYMOUS' },
  })
  t.after(() => broker.close())
  const seen = await javaClient<Seen>(['acls', broker.bootstrap, 'User:alice', 'orders'])
  assert.deepEqual(seen.created, [
    'GROUP:LITERAL:orders-group:User:alice:*:READ:ALLOW',
    'TOPIC:LITERAL:orders:User:alice:*:WRITE:ALLOW',
    'TOPIC:PREFIXED:orders:User:alice:*:READ:DENY',
  ])
  // MATCH on the topic orders: its literal ACL and the prefix that covers it, not the group's.
  assert.equal(seen.deleted, 2)
  assert.deepEqual(seen.left, ['GROUP:LITERAL:orders-group:User:alice:*:READ:ALLOW'])
  // A super user: every operation Kafka defines on the cluster.
  assert.deepEqual(seen.clusterOperations, [
    'ALTER',
    'ALTER_CONFIGS',
    'CLUSTER_ACTION',
    'CREATE',
    'DESCRIBE',
    'DESCRIBE_CONFIGS',
    'IDEMPOTENT_WRITE',
  ])
})

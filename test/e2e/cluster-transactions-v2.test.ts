/**
 * Transaction version 2 across the brokers of a cluster: three `samsa broker` processes over one
 * PostgreSQL, the Java client (kafka-clients 4.4) running transactions over a topic whose
 * partitions every broker leads. Each leader adds its partition to the transaction at the
 * transactional id's coordinator (AddPartitionsToTxn v5 between brokers), the group's coordinator
 * adds the group (AddOffsetsToTxn), every end bumps the epoch and the coordinator's markers carry
 * it to the other brokers; a zombie is fenced and read_committed reads exactly the committed
 * records. Skipped where embedded PostgreSQL or the Java client is missing.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Admin } from 'kafkajs'
import { uniqueName } from '../../src/testing/index.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { TestCluster, waitForMembers } from '../helpers/cluster-process.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaClient } from '../helpers/java-client.ts'
import { assertEpochBumps, assertTransactionsOutcome, type JavaTransactions } from '../helpers/java-transactions.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'

const skip = !hasJavaClient ? JAVA_CLIENT_MISSING : (await hasPostgres()) ? false : POSTGRES_MISSING
const NODES = [1, 2, 3]

let cluster: TestCluster
let admin: Admin

before(async () => {
  if (skip) return
  cluster = new TestCluster(await freshDatabase())
  for (const id of NODES) await cluster.start(id)
  admin = kafkajsClient(cluster.bootstrap[0] as string, { brokers: cluster.bootstrap }).admin()
  await admin.connect()
  await waitForMembers(cluster, NODES)
})
after(async () => {
  await admin?.disconnect()
  await cluster?.stopAll()
})

test('the Java client: partitions led by every broker join its transactions, each end bumps the epoch', {
  skip,
}, async () => {
  const topic = uniqueName('cluster-tv2')
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true })
  await waitForMembers(cluster, NODES, topic)
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  const leaders = new Set(meta.topics[0]?.partitions.map((p) => p.leader))
  assert.deepEqual([...leaders].sort(), NODES, 'every broker leads some of its partitions')
  const seen = await javaClient<JavaTransactions>([
    'txns',
    cluster.bootstrap.join(','),
    topic,
    uniqueName('cluster-tv2-id'),
    uniqueName('cluster-tv2-group'),
  ])
  assertEpochBumps(seen)
  assertTransactionsOutcome(seen)
})

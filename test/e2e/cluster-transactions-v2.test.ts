/**
 * Transaction version 2 across the brokers of a cluster: three `samsa broker` processes over one
 * PostgreSQL, the Java client (kafka-clients 4.4) running transactions over a topic whose
 * partitions every broker leads. Each leader adds its partition to the transaction at the
 * transactional id's coordinator (AddPartitionsToTxn v5 between brokers), the group's coordinator
 * adds the group (AddOffsetsToTxn), every end bumps the epoch and the coordinator's markers carry
 * it to the other brokers; a zombie is fenced and read_committed reads exactly the committed
 * records. A level UpdateFeatures finalizes through one broker is what every broker's ApiVersions
 * reports next, at the same epoch. Skipped where embedded PostgreSQL or the Java client is missing.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Admin } from 'kafkajs'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createFeatureUpdateKey,
  createUpdateFeaturesRequest,
  type UpdateFeaturesResponse,
} from '../../src/protocol/generated/update-features.ts'
import { uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { TestCluster, waitForMembers } from '../helpers/cluster-process.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaClient } from '../helpers/java-client.ts'
import { assertEpochBumps, assertTransactionsOutcome, type JavaTransactions } from '../helpers/java-transactions.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'

const noPostgres = (await hasPostgres()) ? false : POSTGRES_MISSING
const skip = noPostgres || (hasJavaClient ? false : JAVA_CLIENT_MISSING)
const NODES = [1, 2, 3]

let cluster: TestCluster
let admin: Admin

before(async () => {
  if (noPostgres) return
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

test('UpdateFeatures through one broker: every broker reports the new level and epoch', {
  skip: noPostgres,
}, async (t) => {
  const clients = await Promise.all(
    cluster.bootstrap.map((address) => RawClient.connect(Number(address.split(':').pop()))),
  )
  t.after(() => Promise.all(clients.map((c) => c.close())))
  const finalized = async (c: RawClient): Promise<string> => {
    const r = await c.send<ApiVersionsResponse>(ApiKey.ApiVersions, 4, createApiVersionsRequest())
    const level = r.finalizedFeatures.find((f) => f.name === 'transaction.version')?.maxVersionLevel ?? 0
    return `level ${level} at epoch ${r.finalizedFeaturesEpoch}`
  }
  const setLevel = async (level: number, upgradeType: number): Promise<void> => {
    const r = await (clients[0] as RawClient).send<UpdateFeaturesResponse>(
      ApiKey.UpdateFeatures,
      2,
      createUpdateFeaturesRequest({
        featureUpdates: [
          createFeatureUpdateKey({ feature: 'transaction.version', maxVersionLevel: level, upgradeType }),
        ],
      }),
    )
    assert.equal(r.errorCode, 0)
  }
  const before = await finalized(clients[0] as RawClient)
  await setLevel(1, 2)
  const changed = await finalized(clients[0] as RawClient)
  assert.notEqual(changed, before)
  assert.match(changed, /^level 1 /)
  for (const c of clients)
    await waitUntil(`every broker reports ${changed}`, async () => (await finalized(c)) === changed)
  await setLevel(2, 1)
  const back = await finalized(clients[0] as RawClient)
  assert.match(back, /^level 2 /)
  for (const c of clients) await waitUntil(`every broker reports ${back}`, async () => (await finalized(c)) === back)
})

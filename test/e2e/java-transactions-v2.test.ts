/**
 * Apache Kafka's Java client (kafka-clients 4.4) running transactions at the transaction.version
 * samsa finalizes: at 2 (KIP-890 part 2) it sends no AddPartitionsToTxn or AddOffsetsToTxn (Produce
 * v12+, TxnOffsetCommit v5+ and EndTxn v5 instead), the producer epoch moves with every commit and
 * abort (DescribeTransactions; DescribeProducers shows the markers' epochs), sendOffsetsToTransaction
 * commits the group's offset, a zombie is fenced by a new instance, and a read_committed consumer
 * reads exactly the committed records. The Java admin client's UpdateFeatures then downgrades the
 * cluster to 1, where the same client goes back to AddPartitionsToTxn and a fixed epoch.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createUpdateFeaturesRequest } from '../../src/protocol/generated/update-features.ts'
import { startBroker, type TestBroker, uniqueName } from '../../src/testing/index.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaClient } from '../helpers/java-client.ts'
import { assertEpochBumps, assertTransactionsOutcome, type JavaTransactions } from '../helpers/java-transactions.ts'
import { RawClient } from '../helpers/raw-client.ts'

interface Features {
  error: string
  level: number
  epoch: number
  supportedMax: number
}

describe('Java client transactions with transaction.version', {
  skip: hasJavaClient ? false : JAVA_CLIENT_MISSING,
}, () => {
  let broker: TestBroker
  /** "ApiName vN" of every request the broker received. */
  const requests: string[] = []

  before(async () => {
    broker = await startBroker()
    broker.faults.intercept('*', (r) => {
      requests.push(`${r.apiName} v${r.apiVersion}`)
    })
  })
  after(async () => {
    await broker?.close()
  })

  /** Runs the txns scenario on a new topic; returns what the client saw and the requests it sent meanwhile. */
  async function runTransactions(): Promise<{ seen: JavaTransactions; sent: string[] }> {
    const topic = uniqueName('java-tv')
    await broker.createTopic({ name: topic, partitions: 3 })
    const from = requests.length
    const seen = await javaClient<JavaTransactions>([
      'txns',
      broker.bootstrap,
      topic,
      uniqueName('tv-id'),
      uniqueName('tv-group'),
    ])
    return { seen, sent: requests.slice(from) }
  }

  test('2: implicit adds, an epoch bump per transaction, offsets, fencing, read_committed', async () => {
    const { seen, sent } = await runTransactions()
    assert.deepEqual(
      sent.filter((s) => s.startsWith('AddPartitionsToTxn') || s.startsWith('AddOffsetsToTxn')),
      [],
      'transaction version 2 needs no adds',
    )
    assert.ok(
      sent.some((s) => /^Produce v1[23]$/.test(s)),
      `Produce v12+ among ${[...new Set(sent)]}`,
    )
    assert.ok(sent.includes('EndTxn v5'))
    assert.ok(sent.some((s) => /^TxnOffsetCommit v[56]$/.test(s)))
    assertEpochBumps(seen)
    assertTransactionsOutcome(seen)
  })

  test('UpdateFeatures through the admin client: at 1 the client adds partitions and keeps its epoch', async (t) => {
    const down = await javaClient<Features>(['features', broker.bootstrap, 'transaction.version', '1'])
    assert.deepEqual([down.error, down.level, down.supportedMax], ['none', 1, 2])
    t.after(async () => {
      const c = await RawClient.connect(broker.port)
      try {
        await c.send(
          ApiKey.UpdateFeatures,
          2,
          createUpdateFeaturesRequest({
            featureUpdates: [
              { feature: 'transaction.version', maxVersionLevel: 2, allowDowngrade: false, upgradeType: 1 },
            ],
          }),
        )
      } finally {
        await c.close()
      }
    })
    const { seen, sent } = await runTransactions()
    assert.ok(
      sent.some((s) => s.startsWith('AddPartitionsToTxn')),
      'transaction version 1 adds partitions',
    )
    assert.ok(sent.some((s) => s.startsWith('AddOffsetsToTxn')))
    assert.ok(!sent.includes('EndTxn v5'))
    const [e0 = -1, ...rest] = seen.epochs
    assert.deepEqual(rest, [e0, e0, e0], 'no bump at the end of a transaction')
    assertTransactionsOutcome(seen)
    const refused = await javaClient<Features>(['features', broker.bootstrap, 'transaction.version', '7'])
    assert.deepEqual([refused.error, refused.level, refused.epoch], ['InvalidUpdateVersionException', 1, down.epoch])
  })
})

/** `samsa topics reassign` and `samsa cluster unregister` as real processes, on three brokers of one process. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { cli } from './helpers.ts'

describe('samsa topics reassign and cluster unregister', () => {
  let broker: Broker
  let samsa: ReturnType<typeof cli>
  before(async () => {
    broker = await startBroker({ brokers: 3, config: { 'default.replication.factor': '3' } })
    await broker.core.topics.create('orders', 2, {})
    samsa = cli(broker.bootstrap)
  })
  after(async () => {
    await broker?.close()
  })

  test('topics reassign gives partitions new replica lists, their first live replica leading', async () => {
    const run = await samsa(['topics', 'reassign', 'orders', '0=3,1', '1=2'])
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /reassigned orders-0 to 3,1, orders-1 to 2/)
    assert.deepEqual(broker.core.cluster.placement('orders', 0), {
      leaderId: 3,
      replicas: [3, 1],
      isr: [3, 1],
      offline: [],
    })
    assert.deepEqual(broker.core.cluster.placement('orders', 1).replicas, [2])
    const described = await samsa(['topics', 'describe', 'orders', '--json'])
    assert.equal(described.code, 0, described.stderr)
    const topic = JSON.parse(described.stdout) as { partitions: { leader: number; replicas: number[] }[] }
    assert.equal(topic.partitions[0]?.leader, 3)
    assert.deepEqual(topic.partitions[0]?.replicas, [3, 1])
  })

  test("topics reassign refusals: the broker's error (exit 1), a malformed assignment (exit 2)", async () => {
    const unknown = await samsa(['topics', 'reassign', 'orders', '0=9'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /INVALID_REPLICA_ASSIGNMENT/)
    assert.match(unknown.stderr, /broker 9, but no such broker is registered/)
    const malformed = await samsa(['topics', 'reassign', 'orders', 'first=1'])
    assert.equal(malformed.code, 2)
    assert.match(malformed.stderr, /invalid assignment "first=1"/)
    assert.deepEqual(broker.core.cluster.placement('orders', 0).replicas, [3, 1], 'nothing changed')
  })

  test('cluster unregister: an unknown broker and a broker of the cluster are refused', async () => {
    const unknown = await samsa(['cluster', 'unregister', '42'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /BROKER_ID_NOT_REGISTERED/)
    const live = await samsa(['cluster', 'unregister', '2'])
    assert.equal(live.code, 1)
    assert.match(live.stderr, /INVALID_REQUEST/)
  })
})

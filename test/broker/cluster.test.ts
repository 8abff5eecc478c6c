/**
 * The cluster view alone: partitions and coordinators spread deterministically over the nodes,
 * every node a replica with the preferred leader first, and leadership moving along the replica
 * list when a node goes down, back when it returns.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClusterView } from '../../src/broker/cluster.ts'

test('one node leads and coordinates everything', () => {
  const cluster = new ClusterView(1, 1)
  assert.deepEqual(cluster.placement('orders', 5), { leaderId: 1, replicas: [1], isr: [1], offline: [] })
  assert.equal(cluster.coordinatorOf('billing'), 1)
  assert.equal(cluster.controllerId, 1)
})

test('consecutive partitions of a topic are led by consecutive nodes; every node is a replica', () => {
  const cluster = new ClusterView(1, 3)
  const leaders = [0, 1, 2, 3].map((p) => cluster.leaderOf('orders', p))
  assert.deepEqual([...leaders.slice(0, 3)].sort(), [1, 2, 3])
  assert.equal(leaders[3], leaders[0])
  const p = cluster.placement('orders', 1)
  assert.equal(p.replicas[0], p.leaderId)
  assert.deepEqual([...p.replicas].sort(), [1, 2, 3])
  assert.equal(cluster.coordinatorOf('billing'), cluster.coordinatorOf('billing'))
})

test('a node going down hands its partitions and coordinators to the next live replica, and gets them back', () => {
  const cluster = new ClusterView(1, 3)
  const partition = [0, 1, 2].find((p) => cluster.leaderOf('orders', p) === 1) as number
  const groupId = Array.from({ length: 20 }, (_, i) => `g${i}`).find((g) => cluster.coordinatorOf(g) === 1) as string
  const { replicas } = cluster.placement('orders', partition)
  cluster.setLive(1, false)
  assert.deepEqual(cluster.placement('orders', partition), {
    leaderId: replicas[1],
    replicas,
    isr: replicas.slice(1),
    offline: [1],
  })
  assert.notEqual(cluster.coordinatorOf(groupId), 1)
  assert.equal(cluster.controllerId, 2)
  assert.deepEqual(
    cluster.liveNodes.map((n) => n.nodeId),
    [2, 3],
  )
  cluster.setLive(1, true)
  assert.equal(cluster.leaderOf('orders', partition), 1)
  assert.equal(cluster.coordinatorOf(groupId), 1)
  assert.throws(() => cluster.setLive(4, false), /there is no broker 4/)
})

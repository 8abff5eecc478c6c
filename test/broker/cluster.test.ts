/**
 * The cluster view alone: partitions balanced over the nodes by rendezvous hashing, the topic's
 * replication factor of replicas with the preferred leader first, leadership moving along the
 * replica list when a node goes down and back when it returns, and membership changes (nodes of
 * other processes joining and leaving) moving little beyond the share of the node that changed.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type ClusterNode, ClusterView } from '../../src/broker/cluster.ts'

const node = (nodeId: number, rack: string | null = null): ClusterNode => ({
  nodeId,
  host: 'broker.example',
  port: 9000 + nodeId,
  rack,
})

function counts(ids: number[]): Map<number, number> {
  const m = new Map<number, number>()
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1)
  return m
}

test('one node leads and coordinates everything', () => {
  const cluster = new ClusterView(1, 1)
  assert.deepEqual(cluster.placement('orders', 5), { leaderId: 1, replicas: [1], isr: [1], offline: [] })
  assert.equal(cluster.coordinatorOf('billing'), 1)
  assert.equal(cluster.controllerId, 1)
})

test("a topic's partitions are led evenly by the nodes; the replication factor gives that many replicas, leader first", () => {
  const cluster = new ClusterView(1, 3, () => ({ partitionCount: 7, replicationFactor: 2 }))
  const leaders = Array.from({ length: 7 }, (_, p) => cluster.leaderOf('orders', p))
  assert.deepEqual([...counts(leaders).values()].sort(), [2, 2, 3])
  for (let p = 0; p < 7; p++) {
    const { replicas, leaderId, isr } = cluster.placement('orders', p)
    assert.equal(replicas.length, 2)
    assert.equal(new Set(replicas).size, 2)
    assert.equal(replicas[0], leaderId)
    assert.deepEqual(isr, replicas)
  }
  assert.equal(cluster.coordinatorOf('billing'), cluster.coordinatorOf('billing'))
})

test('named replica lists are kept as given, the first live one leading', () => {
  const assignments = [[3, 1], null]
  const cluster = new ClusterView(1, 3, () => ({ partitionCount: 2, replicationFactor: 2, assignments }))
  assert.deepEqual(cluster.placement('orders', 0), { leaderId: 3, replicas: [3, 1], isr: [3, 1], offline: [] })
  cluster.setLive(3, false)
  assert.deepEqual(cluster.placement('orders', 0), { leaderId: 1, replicas: [3, 1], isr: [1], offline: [3] })
  assert.equal(cluster.placement('orders', 1).replicas.length, 2)
})

test('a node going down hands its partitions and coordinators to the next live replica, and gets them back', () => {
  const cluster = new ClusterView(1, 3)
  const partition = [0, 1, 2, 3, 4, 5].find((p) => cluster.leaderOf('orders', p) === 1) as number
  const groupId = Array.from({ length: 20 }, (_, i) => `g${i}`).find((g) => cluster.coordinatorOf(g) === 1) as string
  const others = Array.from({ length: 20 }, (_, i) => `g${i}`).filter((g) => cluster.coordinatorOf(g) !== 1)
  const before = others.map((g) => cluster.coordinatorOf(g))
  const { replicas } = cluster.placement('orders', partition)
  cluster.setLive(1, false)
  assert.deepEqual(cluster.placement('orders', partition), {
    leaderId: replicas[1],
    replicas,
    isr: replicas.slice(1),
    offline: [1],
  })
  assert.notEqual(cluster.coordinatorOf(groupId), 1)
  assert.deepEqual(
    others.map((g) => cluster.coordinatorOf(g)),
    before,
    'groups of the other nodes stay',
  )
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

test('brokers joining and leaving move their own share of partitions and little else', () => {
  const partitions = 48
  const cluster = new ClusterView(1, 1, () => ({ partitionCount: partitions, replicationFactor: 3 }))
  const changes: number[] = []
  cluster.onChange(() => changes.push(cluster.nodes.length))
  const leaders = (): number[] => Array.from({ length: partitions }, (_, p) => cluster.leaderOf('orders', p))
  cluster.setRemote([node(2), node(3), node(4)])
  assert.deepEqual(
    cluster.nodes.map((n) => n.nodeId),
    [1, 2, 3, 4],
  )
  const four = leaders()
  assert.deepEqual([...counts(four).values()], [12, 12, 12, 12])

  cluster.setRemote([node(2), node(3)])
  const three = leaders()
  assert.equal(three.includes(4), false)
  assert.deepEqual([...counts(three).values()], [16, 16, 16])
  const movedBesides = four.filter((id, p) => id !== 4 && three[p] !== id).length
  assert.ok(movedBesides <= 4, `${movedBesides} partitions of the remaining brokers moved`)

  cluster.setRemote([node(2), node(3), node(4), node(5)])
  const five = leaders()
  assert.deepEqual(
    [...counts(five).values()].sort((a, b) => a - b),
    [9, 9, 10, 10, 10],
  )
  const movedElsewhere = four.filter((id, p) => five[p] !== 5 && five[p] !== id).length
  // A ring (partition p on node p mod N) would move most of the 48 here.
  assert.ok(movedElsewhere <= 5, `${movedElsewhere} partitions moved between the old brokers`)

  cluster.setRemote([node(2), node(3), node(4), node(5)])
  assert.deepEqual(changes, [4, 3, 5], 'an unchanged membership is no change')
})

test('remote nodes carry their address and rack; local ones are advertised with theirs', () => {
  const cluster = new ClusterView(7, 1)
  cluster.advertise(7, 'localhost', 9092, 'eu-1a')
  cluster.setRemote([node(3, 'eu-1b'), node(7, 'ignored')])
  assert.deepEqual(cluster.nodes, [node(3, 'eu-1b'), { nodeId: 7, host: 'localhost', port: 9092, rack: 'eu-1a' }])
  assert.equal(cluster.isLocal(7), true)
  assert.equal(cluster.isLocal(3), false)
  assert.deepEqual(
    cluster.localNodes.map((n) => n.nodeId),
    [7],
  )
})

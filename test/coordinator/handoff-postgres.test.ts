/**
 * Coordinator handoff over a real PostgreSQL: two engines on one database, as two brokers, each
 * with its own coordinators. A group with members and committed offsets moves from one to the
 * other and a stale commit is refused by the database's compare-and-set; a transaction one
 * broker left prepared is completed by the other, after it rebuilt the partitions' producer state
 * as their new leader.
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import type { ClassicGroup } from '../../src/coordinator/group/classic-group.ts'
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING, postgresOpener } from '../helpers/postgres.ts'
import { topicMeta, waitFor } from '../storage/helpers.ts'
import { coordinatorPair, formGroup, markersOf, storedTxn, transactionalBatch, txnPair } from './helpers.ts'

const skip = (await hasPostgres()) ? undefined : POSTGRES_MISSING

// Group timers are unref'd; hold the event loop open while the suite runs.
const alive = setInterval(() => {}, 60_000)
after(() => clearInterval(alive))

function commitAt(c: GroupCoordinator, generationId: number, memberId: string, offset: number): Promise<number> {
  return c.commitOffsets(
    'g',
    {
      generationIdOrMemberEpoch: generationId,
      memberId,
      groupInstanceId: null,
      offsets: [
        {
          topic: 't',
          partition: 0,
          offset: BigInt(offset),
          leaderEpoch: 0,
          metadata: '',
          commitTimestamp: 1,
          expireTimestamp: null,
        },
      ],
    },
    8,
  )
}

function committed(c: GroupCoordinator): bigint | undefined {
  return c.fetchOffsets('g', null).topics[0]?.partitions[0]?.committed?.offset
}

describe('coordinator handoff over PostgreSQL', { skip }, () => {
  const { open } = postgresOpener({ retentionCheckIntervalMs: 0 })

  it('a group with members and offsets moves between brokers; a stale commit is refused', async (t) => {
    const db = await freshDatabase()
    const p = await coordinatorPair([(await open(db)).kv, (await open(db)).kv])
    t.after(() => p.close())
    const { ids, generationId } = await formGroup(p.a, 2, { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000 })
    const member = ids[0] as string
    assert.equal(await commitAt(p.a, generationId, member, 42), ErrorCode.NONE)

    await p.move('b')
    assert.equal(p.timersOf.a.live(), 0)
    const g = p.b.group('g') as ClassicGroup
    assert.equal(g.state, 'Stable')
    assert.equal(g.generationId, generationId)
    assert.equal(committed(p.b), 42n)
    for (const id of ids) assert.equal(p.b.heartbeat('g', id, null, generationId), ErrorCode.NONE)

    // Both believe they coordinate it: what one commits, the other cannot overwrite.
    await p.move('both')
    assert.equal(await commitAt(p.b, generationId, member, 43), ErrorCode.NONE)
    assert.equal(await commitAt(p.a, generationId, member, 41), ErrorCode.NOT_COORDINATOR)
    assert.equal(committed(p.b), 43n)
    await p.a.coordinatorsChanged()
    assert.equal(committed(p.a), 43n)
  })

  it('a transaction one broker left prepared is completed by the other', async (t) => {
    const db = await freshDatabase()
    const one = await open(db)
    const two = await open(db)
    await one.createTopic(topicMeta('t', 2))
    await waitFor(async () => (await two.offsets('t', 1).catch(() => null)) !== null)
    const p = await txnPair([one, two], [0, 1])
    t.after(() => p.close())
    const { producerId, producerEpoch } = await p.a.txns.initProducerId('tx', 10_000, {
      producerId: -1,
      producerEpoch: -1,
    })
    const parts = [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 1 },
    ]
    await p.a.txns.addPartitions('tx', producerId, producerEpoch, parts)
    const batch = transactionalBatch(producerId, producerEpoch)
    assert.equal((await p.a.producers.append('t', 0, batch.data, batch.info, true)).errorCode, 0)
    p.a.failMarkers = true
    assert.equal((await p.a.txns.endTxn('tx', producerId, producerEpoch, false, 0)).errorCode, 0)
    assert.equal((await storedTxn(one.kv, 'tx')).state, 'PrepareAbort')

    // The other broker leads the partitions now, and coordinates the transaction.
    for (const partition of [0, 1]) {
      assert.equal(await two.claimLeadership('t', partition, 1), 1)
      await p.b.producers.reloadPartition('t', partition)
    }
    // Rebuilt from the log the other broker wrote: the open transaction holds the stable offset.
    assert.equal(p.b.producers.lastStableOffset('t', 0, 1), 0)
    await p.move('b')
    assert.equal(p.b.producers.lastStableOffset('t', 0, 2), 2)
    assert.deepEqual(await storedTxn(two.kv, 'tx'), { state: 'CompleteAbort', epoch: producerEpoch })
    assert.deepEqual(await markersOf(two, 0), ['abort'])
    assert.deepEqual(await markersOf(two, 1), ['abort'])
    // The new broker's producer ids come from the same allocation.
    const next = await p.b.txns.initProducerId(null, 0, { producerId: -1, producerEpoch: -1 })
    assert.notEqual(next.producerId, producerId)
  })
})

/**
 * Transactional offsets at the group coordinator: TxnOffsetCommit leaves them pending per
 * producer, in the group's offsets record, so a coordinator that takes the group over holds them
 * too; the end of the transaction (by group, or by the group's __consumer_offsets partition as
 * WriteTxnMarkers names it) commits or drops them, once. The partition of a group is Kafka's.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.ts'
import { offsetsPartitionOf } from '../../src/coordinator/group/offsets-partition.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import { coordinatorPair } from './helpers.ts'

// Group timers are unref'd (a broker's sockets keep it alive); hold the event loop open here.
const alive = setInterval(() => {}, 60_000)
after(() => clearInterval(alive))

const offset = (partition: number, at: number) => ({
  topic: 't',
  partition,
  offset: BigInt(at),
  leaderEpoch: 0,
  metadata: '',
  commitTimestamp: 1,
})

function committed(c: GroupCoordinator, partition: number): bigint | undefined {
  const r = c.fetchOffsets('g', [{ name: 't', partitionIndexes: [partition] }])
  assert.equal(r.errorCode, ErrorCode.NONE)
  return r.topics[0]?.partitions[0]?.committed?.offset
}

test('pending per producer, kept across a coordinator hand-over, committed or dropped when the transaction ends', async (t) => {
  const kv = new MemoryKeyValueStore()
  const p = await coordinatorPair(kv)
  t.after(() => p.close())
  assert.equal(await p.a.txnOffsetCommit('g', 7, 1, [offset(0, 5)]), ErrorCode.NONE)
  assert.equal(await p.a.txnOffsetCommit('g', 7, 1, [offset(1, 6)]), ErrorCode.NONE)
  assert.equal(await p.a.txnOffsetCommit('g', 7, 0, [offset(1, 9)]), ErrorCode.PRODUCER_FENCED, 'an older epoch')
  assert.equal(await p.a.txnOffsetCommit('g', 8, 0, [offset(2, 3)]), ErrorCode.NONE)
  assert.equal(p.a.hasPendingOffset('g', 't', 0), true)
  assert.equal(p.a.hasPendingOffset('g', 't', 3), false)
  assert.equal(committed(p.a, 0), undefined, 'not committed before the transaction ends')
  const stored = JSON.parse((await kv.get('committed-offsets', 'g'))?.toString() ?? 'null') as { p: unknown[] }
  assert.deepEqual(
    stored.p.map((e) => (e as [number, number])[0]),
    [7, 8],
  )

  await p.move('b')
  assert.equal(await p.a.endTransaction('g', 7, true), ErrorCode.NOT_COORDINATOR)
  assert.equal(p.b.hasPendingOffset('g', 't', 1), true, 'read from the store by the new coordinator')
  assert.equal(await p.b.endTransaction('g', 7, true), ErrorCode.NONE)
  assert.equal(committed(p.b, 0), 5n)
  assert.equal(committed(p.b, 1), 6n)
  assert.equal(p.b.hasPendingOffset('g', 't', 0), false)
  assert.equal(await p.b.endTransaction('g', 7, false), ErrorCode.NONE, 'a repeated end changes nothing')
  assert.equal(committed(p.b, 0), 5n)

  // By __consumer_offsets partition, as WriteTxnMarkers names it: only that partition's groups.
  const partition = offsetsPartitionOf('g')
  assert.equal(await p.b.endTransactionIn((partition + 1) % 50, 8, true), ErrorCode.NONE)
  assert.equal(p.b.hasPendingOffset('g', 't', 2), true)
  assert.equal(await p.b.endTransactionIn(partition, 8, false), ErrorCode.NONE)
  assert.equal(p.b.hasPendingOffset('g', 't', 2), false)
  assert.equal(committed(p.b, 2), undefined, 'aborted: dropped')
  // Without pending offsets the record is the list earlier versions wrote and read.
  const plain = JSON.parse((await kv.get('committed-offsets', 'g'))?.toString() ?? 'null') as unknown
  assert.ok(Array.isArray(plain))
})

test("a group's __consumer_offsets partition is Kafka's: abs(groupId.hashCode()) % 50", () => {
  assert.equal(offsetsPartitionOf(''), 0)
  assert.equal(offsetsPartitionOf('a'), 97 % 50)
  // "polygenelubricants".hashCode() is Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0.
  assert.equal(offsetsPartitionOf('polygenelubricants'), 0)
  // "my-group".hashCode() is -1906497762 in Java (it overflows).
  assert.equal(offsetsPartitionOf('my-group'), 1906497762 % 50)
})

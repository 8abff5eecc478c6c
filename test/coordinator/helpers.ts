/** Coordinators over a memory (or given) store and a fixed topic list, for unit tests. */
import pino from 'pino'
import { effectiveBrokerProps } from '../../src/config/broker-configs.ts'
import type { Clock } from '../../src/coordinator/clock.ts'
import type { JoinRequest } from '../../src/coordinator/group/classic-group.ts'
import { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.ts'
import { ProducerIdManager } from '../../src/coordinator/producer/producer-ids.ts'
import { ProducerStateManager } from '../../src/coordinator/producer/producer-state-manager.ts'
import { TxnCoordinator } from '../../src/coordinator/txn/txn-coordinator.ts'
import { decodeBatchSync, encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { type BatchInfo, readBatchHeader } from '../../src/protocol/records/batch-header.ts'
import { ControlType, readEndTxnMarker } from '../../src/protocol/records/control.ts'
import { RecordsError } from '../../src/protocol/records/errors.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import type { KeyValueStore, Storage, TopicMetadata } from '../../src/storage/types.ts'
import { TestClock } from '../../src/testing/clock.ts'

export interface Harness {
  coordinator: GroupCoordinator
  kv: MemoryKeyValueStore
  topics: Map<string, TopicMetadata>
  clock: { now: number }
  /** A coordinator over the same storage, as after a restart. */
  restart(): Promise<GroupCoordinator>
}

export async function harness(props: Record<string, string> = {}): Promise<Harness> {
  const kv = new MemoryKeyValueStore()
  const topics = new Map<string, TopicMetadata>()
  const clock = { now: 1_000_000 }
  const all = effectiveBrokerProps({
    'group.initial.rebalance.delay.ms': '0',
    'group.min.session.timeout.ms': '10',
    ...props,
  })
  const make = async (): Promise<GroupCoordinator> => {
    const c = new GroupCoordinator({
      kv,
      topics: { get: (n) => topics.get(n), list: () => [...topics.values()] },
      prop: (n) => all[n] ?? '',
      now: () => clock.now,
      log: pino({ level: 'silent' }),
    })
    await c.load()
    return c
  }
  return { coordinator: await make(), kv, topics, clock, restart: make }
}

export function addTopic(
  h: { topics: Map<string, TopicMetadata> },
  name: string,
  partitionCount: number,
): TopicMetadata {
  const t = {
    name,
    topicId: `00000000-0000-0000-0000-${String(h.topics.size + 1).padStart(12, '0')}`,
    partitionCount,
    configs: {},
  }
  h.topics.set(name, t)
  return t
}

/** A JoinGroup request with consumer-protocol defaults. */
export function joinReq(init: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 1000,
    rebalanceTimeoutMs: 1000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('m') }],
    requireKnownMemberId: false,
    ...init,
  }
}

export const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A clock over `base` that counts the timers armed through it and not yet fired or cleared. */
export function countingClock(base: Clock): Clock & { live(): number } {
  const live = new Set<unknown>()
  return {
    now: () => base.now(),
    setTimeout(fn, ms) {
      const handle = base.setTimeout(() => {
        live.delete(handle)
        fn()
      }, ms)
      live.add(handle)
      return handle
    },
    clearTimeout(handle) {
      live.delete(handle)
      base.clearTimeout(handle)
    },
    live: () => live.size,
  }
}

/**
 * Two group coordinators ("a" and "b") sharing one key-value store (or each with its own
 * connection to one database), as two brokers: `owner` names the one that coordinates every
 * group, and `move` hands them over (both told, as the broker tells its coordinators when the
 * cluster changes).
 */
export async function coordinatorPair(
  kvs: KeyValueStore | [KeyValueStore, KeyValueStore],
  props: Record<string, string> = {},
) {
  const [kvA, kvB] = Array.isArray(kvs) ? kvs : [kvs, kvs]
  const clock = new TestClock()
  const topics = new Map<string, TopicMetadata>()
  const all = effectiveBrokerProps({
    'group.initial.rebalance.delay.ms': '0',
    'group.min.session.timeout.ms': '10',
    ...props,
  })
  const owner = { current: 'a' as 'a' | 'b' | 'both' }
  const make = async (name: 'a' | 'b') => {
    const timers = countingClock(clock)
    const c = new GroupCoordinator({
      kv: name === 'a' ? kvA : kvB,
      topics: { get: (n) => topics.get(n), list: () => [...topics.values()] },
      prop: (n) => all[n] ?? '',
      now: () => clock.now(),
      clock: timers,
      log: pino({ level: 'silent' }),
      coordinates: () => owner.current === name || owner.current === 'both',
    })
    await c.load()
    return { c, timers }
  }
  const a = await make('a')
  const b = await make('b')
  return {
    a: a.c,
    b: b.c,
    timersOf: { a: a.timers, b: b.timers },
    clock,
    topics,
    owner,
    /** The coordinator losing groups is told first (it finishes writes under way), then the other. */
    async move(to: 'a' | 'b' | 'both'): Promise<void> {
      owner.current = to
      for (const c of to === 'a' ? [b.c, a.c] : [a.c, b.c]) await c.coordinatorsChanged()
    },
    async close(): Promise<void> {
      await a.c.close()
      await b.c.close()
    },
  }
}

/**
 * Forms group `g` of `n` classic members (joins, rejoins if the first joins landed in different
 * generations, then syncs with the leader handing each member its id as assignment).
 */
export async function formGroup(
  c: GroupCoordinator,
  n: number,
  timeouts = { sessionTimeoutMs: 200, rebalanceTimeoutMs: 300 },
) {
  const joins = await Promise.all(Array.from({ length: n }, () => c.joinGroup('g', joinReq(timeouts))))
  let results = joins
  if (joins.some((j) => j.errorCode !== 0 || j.generationId !== joins[0]?.generationId)) {
    results = await Promise.all(joins.map((j) => c.joinGroup('g', joinReq({ memberId: j.memberId, ...timeouts }))))
  }
  const generationId = results[0]?.generationId as number
  const leader = results[0]?.leader as string
  const syncs = await Promise.all(
    results.map((r) =>
      c.syncGroup('g', {
        memberId: r.memberId,
        groupInstanceId: null,
        generationId,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments:
          r.memberId === leader
            ? results.map((x) => ({ memberId: x.memberId, assignment: Buffer.from(x.memberId) }))
            : [],
      }),
    ),
  )
  return { ids: results.map((r) => r.memberId), generationId, syncs }
}

/**
 * Two brokers' transaction coordinators ("a" and "b"), each with its producer state, over one
 * storage (the same engine twice, or two engines on one database) holding topic `t` of two
 * partitions, each appending with its leader epoch: `owner` names the one that coordinates every
 * transactional id, `move` hands them over, `failMarkers` makes a side's marker writes fail, and offsets committed by transactions
 * are recorded in `committedOffsets`.
 */
export async function txnPair(storages: [Storage, Storage], leaderEpochs: [number, number] = [0, 0]) {
  type Name = 'a' | 'b'
  const props = effectiveBrokerProps({ 'transaction.max.timeout.ms': '60000' })
  const clock = { now: 1_000_000 }
  const owner = { current: 'a' as Name | 'both' }
  /** Groups told how a transaction ended, and by which coordinator. */
  const endedGroups: { by: Name; groupId: string; producerId: number; commit: boolean }[] = []
  const make = async (name: Name, storage: Storage, leaderEpoch: number) => {
    const side = {
      failMarkers: false,
      txns: undefined as unknown as TxnCoordinator,
      producers: undefined as unknown as ProducerStateManager,
    }
    side.producers = new ProducerStateManager({
      storage,
      log: pino({ level: 'silent' }),
      now: () => clock.now,
      prop: (n) => props[n] ?? '',
      verify: (pid, epoch, topic, partition) => side.txns.verify(pid, epoch, topic, partition),
      leaderEpoch: () => leaderEpoch,
    })
    side.txns = new TxnCoordinator({
      kv: storage.kv,
      ids: new ProducerIdManager(storage.kv),
      markers: {
        writeMarker: (...args) => {
          if (side.failMarkers) return Promise.reject(new Error('the partition leader is unreachable'))
          return side.producers.writeMarker(...args)
        },
        endGroupTransaction: async (groupId, producerId, _epoch, commit) => {
          endedGroups.push({ by: name, groupId, producerId, commit })
        },
      },
      hasPartition: (topic, partition) => topic === 't' && partition < 2,
      now: () => clock.now,
      prop: (n) => props[n] ?? '',
      log: pino({ level: 'silent' }),
      coordinates: () => owner.current === name || owner.current === 'both',
    })
    await side.txns.load()
    return side
  }
  const a = await make('a', storages[0], leaderEpochs[0])
  const b = await make('b', storages[1], leaderEpochs[1])
  return {
    clock,
    owner,
    a,
    b,
    endedGroups,
    /** The side losing ids is told first, then the other. */
    async move(to: Name | 'both'): Promise<void> {
      owner.current = to
      for (const side of to === 'a' ? [b, a] : [a, b]) await side.txns.coordinatorsChanged()
    },
    async close(): Promise<void> {
      await a.txns.close()
      await b.txns.close()
    },
  }
}

/** The COMMIT/ABORT markers in partition `partition` of topic `t`, in log order. */
export async function markersOf(storage: Storage, partition: number): Promise<string[]> {
  const read = await storage.read('t', partition, 0, 1 << 20, { minOneBatch: true })
  const out: string[] = []
  let pos = 0
  while (pos < read.records.length) {
    const info = readBatchHeader(read.records, pos)
    if (info instanceof RecordsError) break
    if (info.isControl) {
      const record = decodeBatchSync(read.records.subarray(pos, pos + info.size)).records[0]
      if (record) out.push(readEndTxnMarker(record).type === ControlType.COMMIT ? 'commit' : 'abort')
    }
    pos += info.size
  }
  return out
}

/** A transactional id's stored state and producer epoch. */
export async function storedTxn(kv: KeyValueStore, id: string): Promise<{ state: string; epoch: number }> {
  const s = JSON.parse((await kv.get('txn-state', id))?.toString() ?? '{}') as { state: string; epoch: number }
  return { state: s.state, epoch: s.epoch }
}

/** A one-record transactional batch of a producer, at sequence 0. */
export function transactionalBatch(pid: number, epoch: number): { data: Buffer; info: BatchInfo } {
  const data = encodeBatchSync({
    records: [{ value: Buffer.from('in a transaction') }],
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: 0,
    isTransactional: true,
  })
  return { data, info: readBatchHeader(data) as BatchInfo }
}

/** Group coordinators over a memory (or given) key-value store and a fixed topic list, for unit tests. */
import pino from 'pino'
import { effectiveBrokerProps } from '../../src/config/broker-configs.ts'
import type { Clock } from '../../src/coordinator/clock.ts'
import type { JoinRequest } from '../../src/coordinator/group/classic-group.ts'
import { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import type { KeyValueStore, TopicMetadata } from '../../src/storage/types.ts'
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
 * Two group coordinators ("a" and "b") sharing one key-value store, as two brokers over one
 * database: `owner` names the one that coordinates every group, and `move` hands them over
 * (both told at once, as the broker tells its coordinators when the cluster changes).
 */
export async function coordinatorPair(kv: KeyValueStore, props: Record<string, string> = {}) {
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
      kv,
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

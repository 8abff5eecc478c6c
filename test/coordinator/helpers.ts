/** A group coordinator over a memory key-value store and a fixed topic list, for unit tests. */
import pino from 'pino'
import { effectiveBrokerProps } from '../../src/config/broker-configs.ts'
import type { JoinRequest } from '../../src/coordinator/group/classic-group.ts'
import { GroupCoordinator } from '../../src/coordinator/group/group-coordinator.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import type { TopicMetadata } from '../../src/storage/types.ts'

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

export function addTopic(h: Harness, name: string, partitionCount: number): TopicMetadata {
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

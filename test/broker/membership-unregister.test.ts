/**
 * Removing brokers' registrations over one key-value store (the memory engine's, shared as brokers
 * share a database): UnregisterBroker's removal takes a lapsed entry only, never a live broker's,
 * one it has not watched, or one that moved meanwhile; and a live broker removes an entry that
 * stood still for samsa.broker.registration.retention.ms by itself.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { Membership, type MembershipOptions } from '../../src/broker/membership.ts'
import { metadataEndOffset } from '../../src/broker/metadata-log.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { createLog } from '../../src/util/logger.ts'

const joined: Membership[] = []
after(async () => {
  for (const m of joined) await m.leave()
})

async function register(kv: MemoryKeyValueStore, options: Partial<MembershipOptions> = {}): Promise<Membership> {
  const m = await Membership.register({
    kv,
    nodeId: undefined,
    rack: null,
    sessionTimeoutMs: 1000,
    heartbeatIntervalMs: 100,
    log: createLog('silent'),
    ...options,
  })
  joined.push(m)
  return m
}

/** An entry as a broker of another machine leaves it when it crashes. */
async function crashed(kv: MemoryKeyValueStore, nodeId: number): Promise<void> {
  const entry = { instance: `crashed-${nodeId}`, host: 'h', port: 9000 + nodeId, rack: null, pid: 1, beat: 1 }
  await kv.put(
    'brokers',
    new Map([[String(nodeId), Buffer.from(JSON.stringify({ ...entry, hostname: 'another-machine', startedAt: 0 }))]]),
  )
}

const ids = (nodes: { nodeId: number }[]): number[] => nodes.map((n) => n.nodeId)

test('UnregisterBroker removes a lapsed entry only; live, unwatched and unknown ones stay', async () => {
  const kv = new MemoryKeyValueStore()
  let clock = 0
  const observer = await register(kv, { nodeId: 1, now: () => clock })
  await observer.listening('localhost', 9092)
  const peer = await register(kv, { nodeId: 2 })
  await peer.listening('localhost', 9093)
  await waitUntil('broker 2 seen', () => ids(observer.liveRemote()).includes(2))
  assert.equal(await observer.unregister(3), 'unknown')
  await crashed(kv, 3)
  assert.equal(await observer.unregister(3), 'live', 'an entry not watched yet may be a broker starting')
  await waitUntil('broker 3 seen', () => ids(observer.liveRemote()).includes(3))
  assert.equal(await observer.unregister(3), 'live', 'within its lease')
  assert.equal(await observer.unregister(1), 'live', 'itself')
  const changes = await metadataEndOffset(kv)
  clock += 1500
  await waitUntil('broker 3 lapsed', () => ids(observer.lapsedRemote()).join() === '3')
  assert.deepEqual(ids(observer.liveRemote()), [2], 'broker 2 heartbeats on')
  assert.equal(await observer.unregister(2), 'live')
  assert.equal(await observer.unregister(3), 'removed')
  assert.equal((await kv.get('brokers', '3')) === undefined, true)
  assert.deepEqual(observer.lapsedRemote(), [])
  assert.equal(await metadataEndOffset(kv), changes + 1, 'an unregistration is a metadata change')
  assert.equal(await observer.unregister(3), 'unknown')
})

test('an entry that moved since it was observed stays: its broker came back', async () => {
  const kv = new MemoryKeyValueStore()
  let clock = 0
  const observer = await register(kv, { nodeId: 1, now: () => clock })
  await observer.listening('localhost', 9092)
  await crashed(kv, 4)
  await waitUntil('broker 4 seen', () => ids(observer.liveRemote()).includes(4))
  clock += 1500
  await waitUntil('broker 4 lapsed', () => ids(observer.lapsedRemote()).includes(4))
  const back = await register(kv, { nodeId: 4, sessionTimeoutMs: 10 })
  await back.listening('localhost', 9096)
  assert.equal(await observer.unregister(4), 'live')
  assert.notEqual(await kv.get('brokers', '4'), undefined)
})

test('a live broker removes an entry that stood still for the registration retention', async () => {
  const kv = new MemoryKeyValueStore()
  let clock = 0
  const observer = await register(kv, { nodeId: 1, now: () => clock, registrationRetentionMs: 5000 })
  await observer.listening('localhost', 9092)
  await crashed(kv, 5)
  await waitUntil('broker 5 seen', () => ids(observer.liveRemote()).includes(5))
  clock += 1500
  await waitUntil('broker 5 lapsed', () => ids(observer.lapsedRemote()).includes(5))
  // Kept, fenced, until the retention passed.
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.notEqual(await kv.get('brokers', '5'), undefined)
  clock += 4000
  await waitUntil('broker 5 removed', async () => (await kv.get('brokers', '5')) === undefined)
  assert.deepEqual(observer.lapsedRemote(), [])
})

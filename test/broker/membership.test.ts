/**
 * Cluster membership over one key-value store (the memory engine's, shared as brokers share a
 * database): node ids allocated from 1001 without clashes, a configured id refused while a live
 * broker heartbeats on it and taken at once after a clean leave or from a crashed process of this
 * machine, other brokers seen live while their entries change and counted out once an entry stood
 * still for a session timeout on the observer's clock, and a broker cut off from the store
 * counting itself out when its lease runs out.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { after, test } from 'node:test'
import { FIRST_GENERATED_NODE_ID, Membership, type MembershipOptions } from '../../src/broker/membership.ts'
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

/** A pid that no process has now: one that just exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString())
}

test('node ids are allocated from 1001 without clashes; a clean leave frees one', async () => {
  const kv = new MemoryKeyValueStore()
  const [a, b] = await Promise.all([register(kv), register(kv)])
  assert.deepEqual([a.nodeId, b.nodeId].sort(), [FIRST_GENERATED_NODE_ID, FIRST_GENERATED_NODE_ID + 1])
  await a.leave()
  const c = await register(kv)
  assert.equal(c.nodeId, a.nodeId, 'the id of a broker that left is handed out again')
})

test('a configured node id is refused while a live broker heartbeats on it, taken at once after it leaves', async () => {
  const kv = new MemoryKeyValueStore()
  const first = await register(kv, { nodeId: 7 })
  await first.listening('localhost', 9092)
  await assert.rejects(register(kv, { nodeId: 7 }), {
    code: 'SAMSA_ERR_NODE_ID_IN_USE',
    message: /node.id 7 is in use/,
  })
  await first.leave()
  const started = Date.now()
  const second = await register(kv, { nodeId: 7 })
  assert.equal(second.nodeId, 7)
  assert.ok(Date.now() - started < 500, 'no wait for a lease after a clean leave')
})

test("a crashed process of this machine leaves its node id to the next broker at once; another machine's waits a lease", async () => {
  const kv = new MemoryKeyValueStore()
  const crashed = { instance: 'gone', host: 'localhost', port: 9092, rack: null, pid: deadPid(), beat: 3 }
  await kv.put(
    'brokers',
    new Map([['5', Buffer.from(JSON.stringify({ ...crashed, hostname: hostname(), startedAt: 0 }))]]),
  )
  const started = Date.now()
  assert.equal((await register(kv, { nodeId: 5 })).nodeId, 5)
  assert.ok(Date.now() - started < 500)

  const elsewhere = { ...crashed, hostname: 'another-machine', startedAt: 0 }
  await kv.put('brokers', new Map([['6', Buffer.from(JSON.stringify(elsewhere))]]))
  const waited = Date.now()
  assert.equal((await register(kv, { nodeId: 6, sessionTimeoutMs: 400 })).nodeId, 6)
  assert.ok(
    Date.now() - waited >= 400,
    'an entry of another machine is taken once it stood still for a session timeout',
  )
})

test('other brokers are live while their entries change, out once one stood still for a session timeout', async () => {
  const kv = new MemoryKeyValueStore()
  let clock = 0
  const observer = await register(kv, { nodeId: 1, now: () => clock })
  await observer.listening('localhost', 9092)
  assert.equal(observer.selfLive, true)
  const peer = await register(kv, { nodeId: 2 })
  await peer.listening('localhost', 9093)
  const silent = { instance: 'x', host: 'h', port: 9094, rack: 'r', hostname: 'another-machine', pid: 1, beat: 1 }
  await kv.put('brokers', new Map([['3', Buffer.from(JSON.stringify({ ...silent, startedAt: 0 }))]]))
  const ids = (): number[] => observer.liveRemote().map((n) => n.nodeId)
  await waitUntil('brokers 2 and 3 seen', () => ids().join() === '2,3' || undefined)
  assert.deepEqual(observer.liveRemote()[1], { nodeId: 3, host: 'h', port: 9094, rack: 'r' })
  clock += 1500
  await waitUntil('broker 3 counted out, broker 2 kept by its heartbeats', () => ids().join() === '2' || undefined)
  assert.equal(observer.selfLive, true, 'the observer renews its own lease on its clock')
  await peer.leave()
  await waitUntil('broker 2 gone after its leave', () => ids().length === 0 || undefined)
})

/** A key-value store whose writes fail once `failing` is set, as when the database is out of reach. */
class CutOffKeyValueStore extends MemoryKeyValueStore {
  failing = false

  override putIfVersion(
    namespace: string,
    key: string,
    expected: number,
    value: Buffer | null,
  ): Promise<number | null> {
    if (this.failing) return Promise.reject(new Error('the database is out of reach'))
    return super.putIfVersion(namespace, key, expected, value)
  }
}

test('a broker that can no longer write heartbeats counts itself out when its lease runs out, even if its timer fires early', async () => {
  const kv = new CutOffKeyValueStore()
  let clock = 0
  const m = await register(kv, { nodeId: 1, now: () => clock })
  await m.listening('localhost', 9092)
  assert.equal(m.selfLive, true)
  kv.failing = true
  // The lease timer fires on real time while this clock still stands before the lease's end (as
  // a timer started from the event loop's cached time fires before the monotonic clock's moment).
  await new Promise((resolve) => setTimeout(resolve, 1200))
  assert.equal(m.selfLive, true, 'the lease has not run out on its own clock')
  clock += 1000
  await waitUntil('the broker counted itself out', () => !m.selfLive)
})

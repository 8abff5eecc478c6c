/**
 * A samsa cluster for tests: `samsa broker` processes over one PostgreSQL database, each with its
 * own node id, port and (empty) data directory, and short leases so failover fits in a test.
 */
import type { Admin } from 'kafkajs'
import { waitUntil } from '../../src/testing/wait.ts'
import { freshDirs } from '../storage/helpers.ts'
import { type BrokerProcess, spawnBroker } from './broker-process.ts'

/** Lease settings of test clusters: a dead broker is out after 3 s. */
export const TEST_LEASE = ['--set', 'broker.session.timeout.ms=3000', '--set', 'broker.heartbeat.interval.ms=500']

export class TestCluster {
  readonly url: string
  readonly brokers = new Map<number, BrokerProcess>()
  readonly #extra: string[]
  readonly #dirs = freshDirs('samsa-cluster')

  /** Call inside a suite: data directories are removed after it. */
  constructor(url: string, extra: string[] = []) {
    this.url = url
    this.#extra = extra
  }

  /** Starts broker `nodeId` (again, after a stop), with its own flags and database URL if given. */
  async start(nodeId: number, own: { extra?: string[]; url?: string } = {}): Promise<BrokerProcess> {
    const storage = own.url ?? this.url
    const broker = await spawnBroker(
      await this.#dirs(),
      ['--storage', storage, '--set', `node.id=${nodeId}`, ...TEST_LEASE, ...this.#extra, ...(own.extra ?? [])],
      { startTimeoutMs: 20_000 },
    )
    this.brokers.set(nodeId, broker)
    return broker
  }

  /** Every running broker's address. */
  get bootstrap(): string[] {
    return [...this.brokers.values()]
      .filter((b) => b.child.exitCode === null && b.child.signalCode === null)
      .map((b) => b.bootstrap)
  }

  async stop(nodeId: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.brokers.get(nodeId)?.stop(signal)
    this.brokers.delete(nodeId)
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.brokers.keys()].map((id) => this.stop(id)))
  }
}

/** Waits until Metadata names exactly `nodeIds` as the brokers and every partition of `topic` has a leader among them. */
export async function waitForMembers(admin: Admin, nodeIds: number[], topic?: string): Promise<void> {
  const want = [...nodeIds].sort((a, b) => a - b).join(',')
  await waitUntil(
    `brokers ${want}${topic ? ` leading ${topic}` : ''}`,
    async () => {
      const { brokers } = await admin.describeCluster()
      const ids = brokers
        .map((b) => b.nodeId)
        .sort((a, b) => a - b)
        .join(',')
      if (ids !== want) return false
      if (topic === undefined) return true
      const meta = await admin.fetchTopicMetadata({ topics: [topic] })
      return meta.topics[0]?.partitions.every((p) => nodeIds.includes(p.leader)) ?? false
    },
    { timeoutMs: 20_000 },
  )
}

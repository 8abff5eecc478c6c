/**
 * A samsa cluster for tests: `samsa broker` processes over one PostgreSQL database, each with its
 * own node id, port and (empty) data directory, and short leases so failover fits in a test.
 */
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createMetadataRequest,
  createMetadataRequestTopic,
  type MetadataResponse,
} from '../../src/protocol/generated/metadata.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { freshDirs } from '../storage/helpers.ts'
import { type BrokerProcess, spawnBroker } from './broker-process.ts'
import { RawClient } from './raw-client.ts'

/** Lease settings of test clusters: a dead broker is out after 3 s. */
export const TEST_LEASE = ['--set', 'broker.session.timeout.ms=3000', '--set', 'broker.heartbeat.interval.ms=500']

export class TestCluster {
  readonly url: string
  readonly brokers = new Map<number, BrokerProcess>()
  readonly #extra: string[]
  readonly #dirs = freshDirs('samsa-cluster')
  /** Each node's port: a restarted broker listens where it did, as a real one would. */
  readonly #ports = new Map<number, number>()

  /** Call inside a suite: data directories are removed after it. */
  constructor(url: string, extra: string[] = []) {
    this.url = url
    this.#extra = extra
  }

  /** Starts broker `nodeId` (again, after a stop), with its own flags and database URL if given. */
  async start(nodeId: number, own: { extra?: string[]; url?: string } = {}): Promise<BrokerProcess> {
    const storage = own.url ?? this.url
    const port = this.#ports.get(nodeId) ?? 0
    const broker = await spawnBroker(
      await this.#dirs(),
      [
        '--port',
        String(port),
        '--storage',
        storage,
        '--set',
        `node.id=${nodeId}`,
        ...TEST_LEASE,
        ...this.#extra,
        ...(own.extra ?? []),
      ],
      { startTimeoutMs: 20_000, ownListeners: true },
    )
    this.#ports.set(nodeId, Number(broker.bootstrap.split(':').pop()))
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

/**
 * Waits until each of the brokers `nodeIds` answers Metadata with exactly those as the brokers
 * and, for `topic`, a leader among them for every partition, all of them naming the same.
 */
export async function waitForMembers(cluster: TestCluster, nodeIds: number[], topic?: string): Promise<void> {
  const want = [...nodeIds].sort((a, b) => a - b).join(',')
  const view = async (address: string): Promise<string | undefined> => {
    const client = await RawClient.connect(Number(address.split(':').pop()))
    try {
      const request = createMetadataRequest({
        topics: topic === undefined ? [] : [createMetadataRequestTopic({ name: topic })],
      })
      const res = await client.send<MetadataResponse>(ApiKey.Metadata, 12, request)
      const ids = res.brokers
        .map((b) => b.nodeId)
        .sort((a, b) => a - b)
        .join(',')
      const leaders = res.topics[0]?.partitions.map((p) => p.leaderId) ?? []
      if (
        ids !== want ||
        (topic !== undefined && (leaders.length === 0 || !leaders.every((l) => nodeIds.includes(l))))
      ) {
        return undefined
      }
      return JSON.stringify(leaders)
    } finally {
      await client.close()
    }
  }
  await waitUntil(
    `brokers ${want}${topic ? ` leading ${topic}` : ''} seen by every broker`,
    async () => {
      const addresses = nodeIds.map((id) => cluster.brokers.get(id)?.bootstrap)
      if (addresses.some((a) => a === undefined)) return false
      const views = await Promise.all((addresses as string[]).map(view))
      return views.every((v) => v !== undefined && v === views[0])
    },
    // Views converge within a heartbeat; a loaded machine (the suite runs files side by side)
    // slows the brokers' start and claims down a lot.
    { timeoutMs: 45_000 },
  )
}

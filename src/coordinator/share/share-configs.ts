/**
 * Share groups' group configs (the GROUP config resource, KIP-932) over the broker's
 * `group.share.*` defaults, checked and resolved as Kafka's GroupConfig does: the record lock
 * duration, session timeout and heartbeat interval within the broker's group.share.min/max.*
 * bounds, the delivery count limit within 2-10, the start offset reset `latest`, `earliest` or
 * `by_duration:<ISO-8601 duration>`. Streams groups' (KIP-1071) session timeout and heartbeat
 * interval likewise within group.streams.min/max.*, their standby replicas up to
 * group.streams.max.standby.replicas. share.isolation.level is read_uncommitted (the default)
 * or read_committed.
 */
import { type ConfigDefinition, validateConfigValue } from '../../config/topic-configs.ts'

/** Kafka's bounds of share.delivery.count.limit. */
const MIN_DELIVERY_COUNT_LIMIT = 2
const MAX_DELIVERY_COUNT_LIMIT = 10

/** The group configs samsa applies, with their defaults or the broker configs they default to. */
export const GROUP_CONFIGS: readonly ConfigDefinition[] = [
  {
    name: 'share.auto.offset.reset',
    type: 'STRING',
    default: 'latest',
    validator: (name, value) =>
      value === 'latest' || value === 'earliest' || byDurationMs(value) !== undefined
        ? undefined
        : `${name} must be latest, earliest or by_duration:<ISO-8601 duration>, got "${value}"`,
    doc: 'Where a share group starts reading a partition it has not read yet: latest, earliest, or by_duration:PnDTnHnMn.nS (the first record at most that old).',
  },
  {
    name: 'share.delivery.count.limit',
    type: 'INT',
    default: '5',
    brokerSynonym: 'group.share.delivery.count.limit',
    validator: (name, value) =>
      Number(value) < MIN_DELIVERY_COUNT_LIMIT || Number(value) > MAX_DELIVERY_COUNT_LIMIT
        ? `${name} must be between ${MIN_DELIVERY_COUNT_LIMIT} and ${MAX_DELIVERY_COUNT_LIMIT}`
        : undefined,
    doc: 'Deliveries of a record to the share group before it is archived.',
  },
  {
    name: 'share.record.lock.duration.ms',
    type: 'INT',
    default: '30000',
    brokerSynonym: 'group.share.record.lock.duration.ms',
    doc: 'How long a share group member holds the records it acquired before they are available again.',
  },
  {
    name: 'share.session.timeout.ms',
    type: 'INT',
    default: '45000',
    brokerSynonym: 'group.share.session.timeout.ms',
    doc: 'How long a share group member may go without a heartbeat before it is removed.',
  },
  {
    name: 'share.heartbeat.interval.ms',
    type: 'INT',
    default: '5000',
    brokerSynonym: 'group.share.heartbeat.interval.ms',
    doc: 'How often the share group members are told to heartbeat.',
  },
  {
    name: 'streams.session.timeout.ms',
    type: 'INT',
    default: '45000',
    brokerSynonym: 'group.streams.session.timeout.ms',
    doc: 'How long a streams group member may go without a heartbeat before it is removed.',
  },
  {
    name: 'streams.heartbeat.interval.ms',
    type: 'INT',
    default: '5000',
    brokerSynonym: 'group.streams.heartbeat.interval.ms',
    doc: 'How often the streams group members are told to heartbeat.',
  },
  {
    name: 'streams.num.standby.replicas',
    type: 'INT',
    default: '0',
    brokerSynonym: 'group.streams.num.standby.replicas',
    min: 0,
    doc: 'Standby replicas of each stateful task of a streams group.',
  },
  {
    name: 'share.isolation.level',
    type: 'STRING',
    default: 'read_uncommitted',
    validValues: ['read_committed', 'read_uncommitted'],
    doc: 'Which records the share group reads: read_committed acquires only committed records, up to the last stable offset; read_uncommitted every record.',
  },
]

export const GROUP_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDefinition> = new Map(
  GROUP_CONFIGS.map((c) => [c.name, c]),
)

/** Why a group config value is refused (Kafka answers INVALID_CONFIG), or undefined. */
export function groupConfigProblem(name: string, value: string, prop: (name: string) => string): string | undefined {
  const def = GROUP_CONFIG_BY_NAME.get(name)
  if (def === undefined) return `Unknown group config name: ${name}`
  if (def.validValues && !def.validValues.includes(value)) return `Invalid value ${value} for configuration ${name}`
  const why = validateConfigValue(def, value)
  if (why) return why
  // share.x.ms and streams.x.ms lie within the broker's group.share|streams.min.x.ms and .max.x.ms.
  const m = /^(share|streams)\.(record\.lock\.duration|session\.timeout|heartbeat\.interval)\.ms$/.exec(name)
  if (m !== null) {
    const [min, max] = [`group.${m[1]}.min.${m[2]}.ms`, `group.${m[1]}.max.${m[2]}.ms`]
    if (Number(value) < Number(prop(min))) return `${name} must be greater than or equal to ${min}`
    if (Number(value) > Number(prop(max))) return `${name} must be less than or equal to ${max}`
  }
  if (name === 'streams.num.standby.replicas' && Number(value) > Number(prop('group.streams.max.standby.replicas'))) {
    return `${name} must be less than or equal to group.streams.max.standby.replicas`
  }
  return undefined
}

/** Milliseconds of a `by_duration:` reset (Java's Duration.parse of days, hours, minutes, seconds), else undefined. */
export function byDurationMs(value: string): number | undefined {
  const m = /^by_duration:P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value)
  if (m === null || value.endsWith('P') || value.endsWith('T')) return undefined
  const [, d, h, min, s] = m
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Math.round(Number(s ?? 0) * 1000)
}

export interface ShareSettings {
  /** Where a share partition starts when the group first reads it: latest, earliest or by_duration:… */
  autoOffsetReset: string
  deliveryCountLimit: number
  recordLockDurationMs: number
  /** share.isolation.level is read_committed. */
  readCommitted: boolean
  /** group.share.partition.max.record.locks. */
  maxInFlight: number
}

/** Resolves a group's settings from its overrides and the broker's properties. */
export function shareSettings(
  overrides: Readonly<Record<string, string>>,
  prop: (name: string) => string,
): ShareSettings {
  const value = (name: string): string => {
    const def = GROUP_CONFIG_BY_NAME.get(name) as ConfigDefinition
    return overrides[name] ?? (def.brokerSynonym ? prop(def.brokerSynonym) : def.default)
  }
  return {
    autoOffsetReset: value('share.auto.offset.reset'),
    deliveryCountLimit: Number(value('share.delivery.count.limit')),
    recordLockDurationMs: Number(value('share.record.lock.duration.ms')),
    readCommitted: value('share.isolation.level') === 'read_committed',
    maxInFlight: Number(prop('group.share.partition.max.record.locks')),
  }
}

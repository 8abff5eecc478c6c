/**
 * A share group's settings (KIP-932): the group configs `share.*` (set on the GROUP config
 * resource) over the broker's `group.share.*` defaults, as Kafka resolves them.
 */

/** The group configs of share groups with Kafka's defaults (or the broker config they default to). */
export const SHARE_GROUP_CONFIGS: readonly { name: string; brokerDefault?: string; default?: string }[] = [
  { name: 'share.auto.offset.reset', default: 'latest' },
  { name: 'share.delivery.count.limit', brokerDefault: 'group.share.delivery.count.limit' },
  { name: 'share.record.lock.duration.ms', brokerDefault: 'group.share.record.lock.duration.ms' },
  { name: 'share.isolation.level', default: 'read_uncommitted' },
  { name: 'share.session.timeout.ms', brokerDefault: 'group.share.session.timeout.ms' },
  { name: 'share.heartbeat.interval.ms', brokerDefault: 'group.share.heartbeat.interval.ms' },
]

export interface ShareSettings {
  /** Where a share partition starts when the group first reads it: 'earliest' or 'latest'. */
  autoOffsetReset: string
  deliveryCountLimit: number
  recordLockDurationMs: number
  /** group.share.partition.max.record.locks. */
  maxInFlight: number
}

/** Resolves a group's settings from its overrides and the broker's properties. */
export function shareSettings(
  overrides: Readonly<Record<string, string>>,
  prop: (name: string) => string,
): ShareSettings {
  const value = (name: string): string => {
    const def = SHARE_GROUP_CONFIGS.find((c) => c.name === name)
    return overrides[name] ?? (def?.brokerDefault ? prop(def.brokerDefault) : (def?.default ?? ''))
  }
  return {
    autoOffsetReset: value('share.auto.offset.reset'),
    deliveryCountLimit: Number(value('share.delivery.count.limit')),
    recordLockDurationMs: Number(value('share.record.lock.duration.ms')),
    maxInFlight: Number(prop('group.share.partition.max.record.locks')),
  }
}

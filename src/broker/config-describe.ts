import { BROKER_CONFIG_BY_NAME } from '../config/broker-configs.ts'
import { type ConfigDefinition, TOPIC_CONFIGS, validateConfigValue, TOPIC_CONFIG_BY_NAME } from '../config/topic-configs.ts'
import type { BrokerCore } from './broker-core.ts'

/** Kafka's ConfigSource values, as DescribeConfigs and CreateTopics v5+ report them. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const

export interface ConfigSynonym {
  name: string
  value: string
  source: number
}

/** One config entry as the admin APIs describe it. */
export interface DescribedConfig {
  name: string
  value: string | null
  source: number
  readOnly: boolean
  isSensitive: boolean
  /** Where the value comes from, most specific first (the entry's own source included). */
  synonyms: ConfigSynonym[]
  definition: ConfigDefinition
}

/** The source of a broker-level value: set at run time, set at start, or Kafka's default. */
function brokerSource(core: BrokerCore, name: string): number | undefined {
  if (core.dynamicProps[name] !== undefined) return ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
  if (core.staticProps[name] !== undefined) return ConfigSource.STATIC_BROKER_CONFIG
  return undefined
}

/** Every topic config with its effective value and the chain of synonyms that produced it. */
export function describeTopicConfigs(core: BrokerCore, overrides: Record<string, string>): DescribedConfig[] {
  return TOPIC_CONFIGS.map((def) => {
    const synonyms: ConfigSynonym[] = []
    const own = overrides[def.name]
    if (own !== undefined) synonyms.push({ name: def.name, value: own, source: ConfigSource.TOPIC_CONFIG })
    if (def.brokerSynonym) {
      const source = brokerSource(core, def.brokerSynonym)
      if (source !== undefined) synonyms.push({ name: def.brokerSynonym, value: core.prop(def.brokerSynonym), source })
    }
    synonyms.push({ name: def.brokerSynonym ?? def.name, value: brokerDefault(core, def), source: ConfigSource.DEFAULT_CONFIG })
    const first = synonyms[0] as ConfigSynonym
    return {
      name: def.name,
      value: first.value,
      source: first.source,
      readOnly: false,
      isSensitive: false,
      synonyms,
      definition: def,
    }
  })
}

/** The value a topic config has when neither the topic nor the broker sets it. */
function brokerDefault(core: BrokerCore, def: ConfigDefinition): string {
  const synonym = def.brokerSynonym ? BROKER_CONFIG_BY_NAME.get(def.brokerSynonym) : undefined
  // Derived broker defaults (log.retention.ms from log.retention.hours) have an empty table default.
  if (synonym && synonym.default === '' && def.brokerSynonym) return core.defaultProps[def.brokerSynonym] ?? def.default
  return def.default
}

/** Validates topic config overrides; returns the first problem as a message, or undefined. */
export function invalidTopicConfigs(configs: { name: string; value: string | null }[]): string | undefined {
  for (const { name, value } of configs) {
    const def = TOPIC_CONFIG_BY_NAME.get(name)
    if (!def) return `Unknown topic config name: ${name}`
    if (value === null) return `Null value not supported for topic config ${name}`
    const why = validateConfigValue(def, value)
    if (why) return `Invalid value ${value} for configuration ${name}: ${why}`
  }
  return undefined
}

import { BROKER_CONFIG_BY_NAME, BROKER_CONFIGS } from '../config/broker-configs.ts'
import {
  type ConfigDefinition,
  TOPIC_CONFIG_BY_NAME,
  TOPIC_CONFIGS,
  validateConfigValue,
} from '../config/topic-configs.ts'
import { GROUP_CONFIGS } from '../coordinator/share/share-configs.ts'
import type { BrokerCore } from './broker-core.ts'
import { CLIENT_METRICS_CONFIGS } from './telemetry/subscriptions.ts'

/** Kafka's ConfigSource values, as DescribeConfigs and CreateTopics v5+ report them. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
} as const

export interface ConfigSynonym {
  name: string
  value: string | null
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

/** A broker config as set in each layer that sets it, most specific first (Kafka's configSynonyms order). */
function brokerLayers(core: BrokerCore, name: string): ConfigSynonym[] {
  const out: ConfigSynonym[] = []
  const add = (layer: Readonly<Record<string, string>>, source: number): void => {
    const value = layer[name]
    if (value !== undefined) out.push({ name, value, source })
  }
  add(core.dynamicBrokerProps, ConfigSource.DYNAMIC_BROKER_CONFIG)
  add(core.dynamicDefaultProps, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
  add(core.staticProps, ConfigSource.STATIC_BROKER_CONFIG)
  return out
}

/** Every topic config with its effective value and the chain of synonyms that produced it. */
export function describeTopicConfigs(core: BrokerCore, overrides: Record<string, string>): DescribedConfig[] {
  return TOPIC_CONFIGS.map((def) => {
    const synonyms: ConfigSynonym[] = []
    const own = overrides[def.name]
    if (own !== undefined) synonyms.push({ name: def.name, value: own, source: ConfigSource.TOPIC_CONFIG })
    if (def.brokerSynonym) synonyms.push(...brokerLayers(core, def.brokerSynonym))
    synonyms.push({
      name: def.brokerSynonym ?? def.name,
      value: brokerDefault(core, def),
      source: ConfigSource.DEFAULT_CONFIG,
    })
    return firstSynonymWins(def, synonyms)
  })
}

/** A writable, plain config whose value and source are those of its first synonym (the one in force). */
function firstSynonymWins(def: ConfigDefinition, synonyms: ConfigSynonym[]): DescribedConfig {
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
}

/** The value a topic config has when neither the topic nor the broker sets it. */
function brokerDefault(core: BrokerCore, def: ConfigDefinition): string {
  const synonym = def.brokerSynonym ? BROKER_CONFIG_BY_NAME.get(def.brokerSynonym) : undefined
  // Derived broker defaults (log.retention.ms from log.retention.hours) have an empty table
  // default: report the value in effect, which a set log.retention.hours changes.
  if (synonym && synonym.default === '' && def.brokerSynonym) return core.prop(def.brokerSynonym) || def.default
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

/** Kafka's names of the broker configs that share one setting, the most precise unit first. */
const BROKER_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  'log.retention.ms': ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  'log.retention.minutes': ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  'log.retention.hours': ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  'log.roll.ms': ['log.roll.ms', 'log.roll.hours'],
  'log.roll.hours': ['log.roll.ms', 'log.roll.hours'],
}

/**
 * Broker defaults of topic configs that Kafka 3.x does not let change at run time
 * (DynamicLogConfig.ExcludedConfigs): AlterConfigs answers INVALID_REQUEST, DescribeConfigs
 * reports them read-only. They can still be set in the broker's own configuration.
 */
const STATIC_ONLY_LOG_CONFIGS: ReadonlySet<string> = new Set(['log.message.format.version'])

/**
 * The broker configs that can change at run time: the broker-level defaults of topic configs
 * (Kafka's DynamicLogConfig), applied to every topic without an override of its own.
 */
export const DYNAMIC_BROKER_CONFIGS: ReadonlySet<string> = new Set(
  TOPIC_CONFIGS.flatMap((c) =>
    c.brokerSynonym && !STATIC_ONLY_LOG_CONFIGS.has(c.brokerSynonym) ? [c.brokerSynonym] : [],
  ),
)

/**
 * Broker configs as DescribeConfigs reports them. For this broker (`perBroker`), every config
 * with its value; for the cluster-wide defaults (an empty resource name), only the dynamic
 * defaults that are set, as Kafka does. Unset configs without a default have a null value.
 */
export function describeBrokerConfigs(core: BrokerCore, perBroker: boolean): DescribedConfig[] {
  const defs = perBroker ? BROKER_CONFIGS : BROKER_CONFIGS.filter((d) => core.dynamicDefaultProps[d.name] !== undefined)
  return defs.map((def) => {
    let synonyms = (BROKER_SYNONYMS[def.name] ?? [def.name]).flatMap((name) => {
      const layers = brokerLayers(core, name)
      const fallback = BROKER_CONFIG_BY_NAME.get(name)?.default
      if (fallback) layers.push({ name, value: fallback, source: ConfigSource.DEFAULT_CONFIG })
      return layers
    })
    synonyms.sort((a, b) => sourceRank(a.source) - sourceRank(b.source))
    // Like Kafka, start the chain at the described name (a set log.retention.hours does not show under log.retention.ms).
    const start = synonyms.findIndex((s) => s.name === def.name)
    synonyms = start < 0 ? [] : synonyms.slice(start)
    if (!perBroker) synonyms = synonyms.filter((s) => s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    const own = synonyms.find((s) => s.name === def.name)
    const sensitive = def.type === 'PASSWORD'
    return {
      name: def.name,
      value: sensitive ? null : (own?.value ?? (def.default === '' ? null : def.default)),
      source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: !DYNAMIC_BROKER_CONFIGS.has(def.name),
      isSensitive: sensitive,
      synonyms: sensitive ? synonyms.map((s) => ({ ...s, value: null })) : synonyms,
      definition: def,
    }
  })
}

const SOURCE_ORDER: readonly number[] = [
  ConfigSource.DYNAMIC_BROKER_CONFIG,
  ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
  ConfigSource.STATIC_BROKER_CONFIG,
  ConfigSource.DEFAULT_CONFIG,
]

function sourceRank(source: number): number {
  return SOURCE_ORDER.indexOf(source)
}

/**
 * A client-metrics subscription's three configs, set or at their defaults, as Kafka 4 reports them
 * (KAFKA-17516); an unknown name has only defaults.
 */
export function describeClientMetricsConfigs(core: BrokerCore, name: string): DescribedConfig[] {
  const set = core.clientMetrics.configs(name)
  return CLIENT_METRICS_CONFIGS.map((def) => {
    const synonyms: ConfigSynonym[] = [{ name: def.name, value: def.default, source: ConfigSource.DEFAULT_CONFIG }]
    const own = set[def.name]
    if (own !== undefined) synonyms.unshift({ name: def.name, value: own, source: ConfigSource.CLIENT_METRICS_CONFIG })
    return firstSynonymWins(def, synonyms)
  })
}

/**
 * A group's configs, set or at their defaults (the broker's group.share.* configs where one
 * stands behind them), as Kafka reports a GROUP resource; an unknown group has only defaults.
 */
export function describeGroupConfigs(core: BrokerCore, groupId: string): DescribedConfig[] {
  const set = core.groupConfigs.get(groupId)
  return GROUP_CONFIGS.map((def) => {
    const synonyms = def.brokerSynonym ? brokerLayers(core, def.brokerSynonym) : []
    synonyms.push({
      name: def.brokerSynonym ?? def.name,
      value: brokerDefault(core, def),
      source: ConfigSource.DEFAULT_CONFIG,
    })
    const own = set[def.name]
    if (own !== undefined) synonyms.unshift({ name: def.name, value: own, source: ConfigSource.GROUP_CONFIG })
    return firstSynonymWins(def, synonyms)
  })
}

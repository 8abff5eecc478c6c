/**
 * Client-metrics subscriptions (KIP-714): CLIENT_METRICS config resources, each a named set of
 * `metrics` (name prefixes the matching clients push, "*" for all), `interval.ms` (how often
 * they push) and `match` (selectors a client must all match, Kafka's client_id=regex form).
 * Set and described through the config admin APIs, kept in the storage's key-value store (one
 * key per subscription) so that they survive restarts; over shared storage each broker reads them
 * again when asked, at most once a second, so that a change made through one reaches the others.
 */

import type { ConfigDefinition } from '../../config/topic-configs.ts'
import { validateConfigValue } from '../../config/topic-configs.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import { wholeMatchRegex } from '../../util/whole-match-regex.ts'

/** Kafka's ClientMetricsConfigs: the three configs of a subscription. */
export const CLIENT_METRICS_CONFIGS: readonly ConfigDefinition[] = [
  {
    name: 'metrics',
    type: 'LIST',
    default: '',
    doc: 'Prefixes of the client metric names the matching clients push; "*" subscribes to every metric.',
  },
  {
    name: 'interval.ms',
    type: 'INT',
    default: '300000',
    min: 100,
    validator: (name, value) =>
      Number(value) > MAX_INTERVAL_MS ? `${name} must be between 100 and 3600000 (1 hour)` : undefined,
    doc: 'How often the matching clients push their metrics, between 100 ms and 1 hour.',
  },
  {
    name: 'match',
    type: 'LIST',
    default: '',
    doc: 'Selectors (name=regex, comma-separated) a client must all match: client_instance_id, client_id, client_software_name, client_software_version, client_source_address, client_source_port. Empty matches every client.',
  },
]

const MAX_INTERVAL_MS = 3_600_000
export const CLIENT_METRICS_CONFIG_BY_NAME: ReadonlyMap<string, ConfigDefinition> = new Map(
  CLIENT_METRICS_CONFIGS.map((d) => [d.name, d]),
)

/** The client attributes a `match` selector may name (Kafka's ClientMetricsConfigs). */
export const MATCH_SELECTORS = [
  'client_instance_id',
  'client_id',
  'client_software_name',
  'client_software_version',
  'client_source_address',
  'client_source_port',
] as const
export type MatchSelector = (typeof MATCH_SELECTORS)[number]

/** One subscription as the telemetry APIs use it. */
export interface Subscription {
  name: string
  metrics: string[]
  intervalMs: number
  /** Every selector must match the whole attribute (Java's Pattern.matches). */
  match: Map<MatchSelector, RegExp>
}

/** A rejected subscription: Kafka answers INVALID_REQUEST or INVALID_CONFIG. */
export interface SubscriptionProblem {
  kind: 'request' | 'config'
  message: string
}

/**
 * Checks a subscription's configs as Kafka's ClientMetricsConfigs.validate does: an unknown name
 * or an interval out of range is an invalid request, a bad selector an invalid config.
 */
export function subscriptionProblem(name: string, configs: Record<string, string>): SubscriptionProblem | undefined {
  if (name === '') return { kind: 'request', message: "Subscription name can't be empty" }
  for (const [key, value] of Object.entries(configs)) {
    const def = CLIENT_METRICS_CONFIG_BY_NAME.get(key)
    if (!def) return { kind: 'request', message: `Unknown client metrics configuration: ${key}` }
    const why = validateConfigValue(def, value)
    // Kafka: an interval out of range is an invalid request, a value that is no number an invalid config.
    const outOfRange = key === 'interval.ms' && /^-?\d+$/.test(value.trim())
    if (why) return { kind: outOfRange ? 'request' : 'config', message: `Invalid value ${value} for ${key}: ${why}` }
  }
  for (const selector of listItems(configs.match)) {
    if (parseSelector(selector) === undefined)
      return { kind: 'config', message: `Illegal client matching pattern: ${selector}` }
  }
  return undefined
}

/** A LIST config's items, as Java's split reads them (empty ones dropped). */
function listItems(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

function parseSelector(text: string): [MatchSelector, RegExp] | undefined {
  const parts = text.split('=')
  if (parts.length !== 2 || parts[1]?.trim() === '') return undefined
  const key = (parts[0] as string).trim() as MatchSelector
  if (!MATCH_SELECTORS.includes(key)) return undefined
  const regex = wholeMatchRegex((parts[1] as string).trim())
  return regex && [key, regex]
}

/** The subscription of a valid set of configs, defaults filled in. */
export function toSubscription(name: string, configs: Record<string, string>): Subscription {
  const match = new Map<MatchSelector, RegExp>()
  for (const selector of listItems(configs.match)) {
    const parsed = parseSelector(selector)
    if (parsed) match.set(...parsed)
  }
  return {
    name,
    metrics: listItems(configs.metrics),
    intervalMs: Number(configs['interval.ms'] ?? CLIENT_METRICS_CONFIG_BY_NAME.get('interval.ms')?.default),
    match,
  }
}

const NAMESPACE = 'client-metrics'
/** Over shared storage, how often at most the subscriptions are read again (other brokers change them too). */
const REFRESH_MS = 1000

export interface SubscriptionStoreOptions {
  /** Storage other brokers write too (a cluster over PostgreSQL). */
  shared: boolean
  now: () => number
}

/** The subscriptions' configs as set (defaults left out), by name, persisted in the key-value store. */
export class SubscriptionStore {
  readonly #kv: KeyValueStore
  readonly #options: SubscriptionStoreOptions
  #configs = new Map<string, Record<string, string>>()
  #readAt = Number.NEGATIVE_INFINITY
  readonly #listeners: (() => void)[] = []

  constructor(kv: KeyValueStore, options: SubscriptionStoreOptions) {
    this.#kv = kv
    this.#options = options
  }

  /** Reads every stored subscription; returns the names of invalid ones, which are skipped. */
  async load(): Promise<string[]> {
    this.#readAt = this.#options.now()
    const skipped: string[] = []
    const configs = new Map<string, Record<string, string>>()
    for (const [name, raw] of await this.#kv.list(NAMESPACE)) {
      const set = JSON.parse(raw.toString('utf8')) as Record<string, string>
      if (subscriptionProblem(name, set)) skipped.push(name)
      else configs.set(name, set)
    }
    const before = JSON.stringify([...this.#configs])
    this.#configs = configs
    if (JSON.stringify([...configs]) !== before) this.#changed()
    return skipped
  }

  /** Over shared storage, reads the subscriptions again unless that was done within the last second. */
  async refresh(): Promise<void> {
    if (this.#options.shared && this.#options.now() - this.#readAt >= REFRESH_MS) await this.load()
  }

  /** The configs set on one subscription ({} when it does not exist). */
  configs(name: string): Record<string, string> {
    return { ...this.#configs.get(name) }
  }

  names(): string[] {
    return [...this.#configs.keys()]
  }

  subscriptions(): Subscription[] {
    return [...this.#configs].map(([name, configs]) => toSubscription(name, configs))
  }

  /** Replaces a subscription's configs; none left removes it. */
  async set(name: string, configs: Record<string, string>): Promise<void> {
    const empty = Object.keys(configs).length === 0
    await this.#kv.put(NAMESPACE, new Map([[name, empty ? null : Buffer.from(JSON.stringify(configs))]]))
    if (empty) this.#configs.delete(name)
    else this.#configs.set(name, configs)
    this.#changed()
  }

  /** Called after every change (the telemetry manager re-evaluates its clients). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener)
  }

  #changed(): void {
    for (const l of this.#listeners) l()
  }
}

/**
 * Client quotas (DescribeClientQuotas, AlterClientQuotas) kept through the storage engine's
 * key-value store, and enforced as Kafka's ClientQuotaManager does: each request's bytes (byte
 * rates) or event-loop time (request_percentage, KIP-124) go into the rate of the quota entity
 * that applies to the client, measured over quota.window.num windows of
 * quota.window.size.seconds; a client above its quota gets a throttle time in the response and its
 * connection reads nothing for that long (KIP-219). An address over its connection_creation_rate
 * has its new connections held and closed unserved (KIP-612).
 *
 * The quota that applies to a (user, client id) is the most specific one configured, in Kafka's
 * order: user and client id, user and default client, user, default user and client id, default
 * user and default client, default user, client id, default client. Clients that share the entry
 * share its rate.
 */
import { CHANGE_MARKER, ChangeMarker } from '../../storage/change-marker.ts'
import type { KeyValueStore } from '../../storage/types.ts'
import type { Log } from '../../util/logger.ts'
import { SampledRate } from '../../util/sampled-rate.ts'
import { CLIENT_ID, entityFromKey, entityKey, IP, type QuotaEntity, USER } from './quota-entities.ts'

const NAMESPACE = 'client-quotas'

export type ByteRateKey = 'producer_byte_rate' | 'consumer_byte_rate'
/** The share of one thread (here: the event loop) a client's requests may take, in percent (KIP-124). */
export const REQUEST_PERCENTAGE = 'request_percentage'
type ClientQuotaKey = ByteRateKey | typeof REQUEST_PERCENTAGE
const CONNECTION_RATE = 'connection_creation_rate'

/** The quota of one key that applies to a client, with the rate it shares with the others it applies to. */
interface AppliedQuota {
  quota: number
  rate: SampledRate
}

export interface ClientQuotasOptions {
  kv: KeyValueStore
  /** Other brokers write the same store (a cluster over PostgreSQL): poll for their changes. */
  shared: boolean
  windowCount: number
  windowMs: number
  log: Log
}

export class ClientQuotas {
  readonly #kv: KeyValueStore
  readonly #options: ClientQuotasOptions
  /** Entity key → its quota values. */
  #quotas = new Map<string, Map<string, number>>()
  /** Bumped with every write (an entity key is never the marker's key). */
  readonly #changes: ChangeMarker
  /** The quota that applies to a user and client id, per quota key (cleared on any change). */
  #resolved = new Map<ClientQuotaKey, Map<string, Map<string, AppliedQuota | null>>>()
  /** Rates per quota key and entity key. */
  #rates = new Map<string, SampledRate>()
  /** True when any byte-rate quota exists: Produce and Fetch skip the byte-rate step otherwise. */
  enforcingBytes = false
  /** True when any request_percentage quota exists: requests are timed only then. */
  enforcingTime = false

  constructor(options: ClientQuotasOptions) {
    this.#kv = options.kv
    this.#options = options
    this.#changes = new ChangeMarker(options.kv, NAMESPACE)
  }

  async load(): Promise<void> {
    await this.#reload()
    if (!this.#options.shared) return
    this.#changes.watch(() => this.#reload(), this.#options.log, 'client quotas')
  }

  close(): void {
    this.#changes.stop()
  }

  /** Every entity with quotas, and its values. */
  entries(): { entity: QuotaEntity; values: ReadonlyMap<string, number> }[] {
    return [...this.#quotas].map(([key, values]) => ({ entity: entityFromKey(key), values }))
  }

  /** The values of one entity (empty when it has none). */
  valuesOf(entity: QuotaEntity): ReadonlyMap<string, number> {
    return this.#quotas.get(entityKey(entity)) ?? new Map()
  }

  /** Sets (number) and removes (null) quota values of entities, in one atomic step. */
  async alter(changes: { entity: QuotaEntity; values: Map<string, number | null> }[]): Promise<void> {
    const entries = new Map<string, Buffer | null>()
    for (const { entity, values } of changes) {
      const key = entityKey(entity)
      const next = new Map(this.#quotas.get(key))
      for (const [k, v] of values) {
        if (v === null) next.delete(k)
        else next.set(k, v)
      }
      entries.set(key, next.size === 0 ? null : Buffer.from(JSON.stringify(Object.fromEntries(next))))
    }
    entries.set(...this.#changes.bump())
    await this.#kv.put(NAMESPACE, entries)
    await this.#reload()
  }

  /**
   * Records `bytes` against the byte-rate quota that applies to the client and answers how long
   * it must be throttled (0 when it is within its quota, or none applies).
   */
  record(key: ByteRateKey, user: string, clientId: string, bytes: number, now: number): number {
    return this.#record(key, user, clientId, bytes, now, this.#options.windowCount * this.#options.windowMs)
  }

  /**
   * The most bytes a fetch may return to the client: what its consumer_byte_rate allows in one
   * window, as Kafka caps a consumer's fetch.max.bytes, so that one response never takes more
   * than the quota allows (unlimited without a quota).
   */
  fetchLimit(user: string, clientId: string): number {
    if (!this.enforcingBytes) return Number.POSITIVE_INFINITY
    const applied = this.#applied('consumer_byte_rate', user, clientId)
    return applied === null ? Number.POSITIVE_INFINITY : Math.floor((applied.quota * this.#options.windowMs) / 1000)
  }

  /**
   * Records `ms` of the event loop's time spent on a client's request against its
   * request_percentage and answers how long it must be throttled: 0 within its quota (or none
   * applies), else at most one window, as Kafka bounds request-time throttles.
   */
  recordTime(user: string, clientId: string, ms: number, now: number): number {
    // Percent of a second per second: a rate of 1 is 1% of the loop.
    return this.#record(REQUEST_PERCENTAGE, user, clientId, ms / 10, now, this.#options.windowMs)
  }

  #record(key: ClientQuotaKey, user: string, clientId: string, value: number, now: number, maxMs: number): number {
    const applied = this.#applied(key, user, clientId)
    if (applied === null) return 0
    applied.rate.record(value, now)
    return Math.min(applied.rate.throttleMs(applied.quota, now), maxMs)
  }

  /** The `key` quota that applies to a user and client id (null: none), looked up once per change of the quotas. */
  #applied(key: ClientQuotaKey, user: string, clientId: string): AppliedQuota | null {
    let byUser = this.#resolved.get(key)
    if (byUser === undefined) {
      byUser = new Map()
      this.#resolved.set(key, byUser)
    }
    let byClient = byUser.get(user)
    if (byClient === undefined) {
      byClient = new Map()
      byUser.set(user, byClient)
    }
    let applied = byClient.get(clientId)
    if (applied === undefined) {
      const entry = this.#applicable(key, user, clientId)
      applied =
        entry === undefined
          ? null
          : { quota: this.#quotas.get(entry)?.get(key) as number, rate: this.#rateOf(`${key} ${entry}`) }
      byClient.set(clientId, applied)
    }
    return applied
  }

  /**
   * Records a new connection from `ip` against its connection_creation_rate (the address's own,
   * else the default IP's) and answers how long to hold it before closing it unserved: 0 when it
   * is within the rate, which then counts it. At most one window, as Kafka bounds it.
   */
  connectionThrottle(ip: string, now: number): number {
    const entry = [entityKey(new Map([[IP, ip]])), entityKey(new Map([[IP, null]]))].find((k) =>
      this.#quotas.get(k)?.has(CONNECTION_RATE),
    )
    if (entry === undefined) return 0
    const quota = this.#quotas.get(entry)?.get(CONNECTION_RATE) as number
    const rate = this.#rateOf(`${CONNECTION_RATE} ${entry} ${ip}`)
    rate.record(1, now)
    const throttle = rate.throttleMs(quota, now)
    if (throttle === 0) return 0
    // Not accepted: it does not count.
    rate.record(-1, now)
    return Math.min(throttle, this.#options.windowMs)
  }

  #rateOf(key: string): SampledRate {
    let rate = this.#rates.get(key)
    if (rate === undefined) {
      rate = new SampledRate(this.#options.windowCount, this.#options.windowMs)
      this.#rates.set(key, rate)
    }
    return rate
  }

  /** The entity key whose `key` quota applies to a user and client id, in Kafka's precedence. */
  #applicable(key: ClientQuotaKey, user: string, clientId: string): string | undefined {
    const candidates: [string | null | undefined, string | null | undefined][] = [
      [user, clientId],
      [user, null],
      [user, undefined],
      [null, clientId],
      [null, null],
      [null, undefined],
      [undefined, clientId],
      [undefined, null],
    ]
    for (const [u, c] of candidates) {
      const entity = new Map<string, string | null>()
      if (u !== undefined) entity.set(USER, u)
      if (c !== undefined) entity.set(CLIENT_ID, c)
      const candidate = entityKey(entity)
      if (this.#quotas.get(candidate)?.has(key)) return candidate
    }
    return undefined
  }

  async #reload(): Promise<void> {
    const stored = await this.#changes.read(() => this.#kv.list(NAMESPACE))
    const quotas = new Map<string, Map<string, number>>()
    for (const [key, value] of stored) {
      if (key === CHANGE_MARKER) continue
      quotas.set(key, new Map(Object.entries(JSON.parse(value.toString('utf8')) as Record<string, number>)))
    }
    this.#quotas = quotas
    this.#resolved = new Map()
    const values = [...quotas.values()]
    this.enforcingBytes = values.some((v) => v.has('producer_byte_rate') || v.has('consumer_byte_rate'))
    this.enforcingTime = values.some((v) => v.has(REQUEST_PERCENTAGE))
  }
}

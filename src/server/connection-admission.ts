/**
 * Kafka's limits on a broker's connections as its acceptors apply them (ConnectionQuotas):
 * max.connections and max.connection.creation.rate (KIP-612) for the whole broker, and each again
 * for one listener (listener.name.<listener>.max.connections, .max.connection.creation.rate). A
 * connection beyond them is not refused: it waits unread, in arrival order, until the rates allow
 * it (each connection holds the listener back for at most one window, as Kafka's acceptor blocks)
 * and a slot is free. The per-address checks come after (the listener's), against the broker's
 * connections from that address on any listener.
 */
import { lookup } from 'node:dns/promises'
import { isIP, type Socket } from 'node:net'
import { SampledRate } from '../util/sampled-rate.ts'

/** Kafka's default for both limits (Int.MaxValue): no limit. */
export const UNLIMITED = 2147483647

export interface AdmissionLimits {
  /** max.connections: connections served at once. */
  maxConnections: number
  /** max.connection.creation.rate: new connections per second. */
  maxConnectionRate: number
}

/** The quota windows rates are measured over (quota.window.num, quota.window.size.seconds). */
export interface RateWindows {
  windowCount: number
  windowMs: number
}

/** What became of a connection the listener was given: served, held for its address's rate, or refused. */
export type AdmissionOutcome = 'open' | 'throttled' | 'refused'

/** A limit's count and rate. */
class Limit {
  count = 0
  readonly #limits: AdmissionLimits
  readonly #rate: SampledRate | undefined
  readonly #windowMs: number

  constructor(limits: AdmissionLimits, windows: RateWindows) {
    this.#limits = limits
    this.#windowMs = windows.windowMs
    this.#rate =
      limits.maxConnectionRate >= UNLIMITED ? undefined : new SampledRate(windows.windowCount, windows.windowMs)
  }

  get limited(): boolean {
    return this.#rate !== undefined || this.#limits.maxConnections < UNLIMITED
  }

  get full(): boolean {
    return this.count >= this.#limits.maxConnections
  }

  /** Counts a new connection in the rate; answers how long to hold it (at most one window). */
  record(now: number): number {
    if (this.#rate === undefined) return 0
    this.#rate.record(1, now)
    return Math.min(this.#rate.throttleMs(this.#limits.maxConnectionRate, now), this.#windowMs)
  }

  /** Takes back a connection that was not accepted after all. */
  unrecord(now: number): void {
    this.#rate?.record(-1, now)
  }
}

/** One broker's limits, shared by its listeners. */
export class BrokerAdmission {
  readonly limit: Limit
  readonly #windows: RateWindows
  readonly #listeners = new Set<ListenerAdmission>()
  /** Open connections per remote address, on every listener. */
  readonly #fromAddress = new Map<string, number>()

  constructor(limits: AdmissionLimits, windows: RateWindows) {
    this.limit = new Limit(limits, windows)
    this.#windows = windows
  }

  /** The admission of one of the broker's listeners, with its own limits. */
  listener(limits: AdmissionLimits): ListenerAdmission {
    const listener = new ListenerAdmission(this, new Limit(limits, this.#windows))
    this.#listeners.add(listener)
    return listener
  }

  /** The broker's open connections from an address. */
  connectionsFrom(ip: string): number {
    return this.#fromAddress.get(ip) ?? 0
  }

  /** Counts a served socket against its address until it closes. */
  countAddress(ip: string, socket: Socket): void {
    this.#fromAddress.set(ip, this.connectionsFrom(ip) + 1)
    socket.once('close', () => {
      const left = this.connectionsFrom(ip) - 1
      if (left > 0) this.#fromAddress.set(ip, left)
      else this.#fromAddress.delete(ip)
    })
  }

  /** A connection closed: listeners waiting for a slot may go on. */
  released(): void {
    for (const l of this.#listeners) l.next()
  }
}

/** One listener's queue of accepted sockets waiting to be served. */
export class ListenerAdmission {
  /** The broker's admission, which counts connections per address. */
  readonly broker: BrokerAdmission
  readonly #own: Limit
  readonly #queue: Socket[] = []
  #serve: ((socket: Socket) => AdmissionOutcome) | undefined
  /** The socket at the head of the queue once it has been counted in the rates. */
  #recorded: Socket | undefined
  /** Until when the rates hold this listener's acceptor back. */
  #blockedUntil = 0
  #timer: NodeJS.Timeout | undefined

  constructor(broker: BrokerAdmission, own: Limit) {
    this.broker = broker
    this.#own = own
  }

  /** Serves accepted sockets through `serve` (the listener's per-address checks), once the limits allow. */
  serveWith(serve: (socket: Socket) => AdmissionOutcome): void {
    this.#serve = serve
  }

  /** A socket the listener accepted. */
  admit(socket: Socket): void {
    if (this.#queue.length === 0 && !this.#own.limited && !this.broker.limit.limited) {
      this.#open(socket)
      return
    }
    socket.on('error', () => {})
    socket.once('close', () => {
      const i = this.#queue.indexOf(socket)
      if (i >= 0) this.#queue.splice(i, 1)
    })
    this.#queue.push(socket)
    this.next()
  }

  /** Serves waiting sockets as far as the limits allow now; comes back when a rate's hold is over. */
  next(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (;;) {
      const head = this.#queue[0]
      if (head === undefined) return
      const now = Date.now()
      if (this.#recorded !== head) {
        // Counted once, when its turn comes, as Kafka's acceptor records it before waiting.
        this.#recorded = head
        const holdMs = Math.max(this.broker.limit.record(now), this.#own.record(now))
        this.#blockedUntil = Math.max(this.#blockedUntil, now + holdMs)
      }
      if (now < this.#blockedUntil) {
        this.#timer = setTimeout(() => this.next(), this.#blockedUntil - now)
        return
      }
      if (this.#own.full || this.broker.limit.full) return
      this.#queue.shift()
      this.#open(head)
    }
  }

  #open(socket: Socket): void {
    const outcome = this.#serve?.(socket) ?? 'refused'
    if (outcome === 'throttled') {
      // Not accepted after all (its address is over its rate): it does not count, as in Kafka.
      const now = Date.now()
      this.broker.limit.unrecord(now)
      this.#own.unrecord(now)
      return
    }
    if (outcome !== 'open') return
    this.#own.count++
    this.broker.limit.count++
    socket.once('close', () => {
      this.#own.count--
      this.broker.limit.count--
      this.broker.released()
    })
  }

  /** Closes the sockets still waiting (the listener stops or plays a dead broker). */
  dropWaiting(): void {
    clearTimeout(this.#timer)
    for (const socket of this.#queue.splice(0)) socket.destroy()
  }
}

/**
 * max.connections.per.ip.overrides (`host:count,...`): the limit for each address, a host name
 * counting for every address it resolves to, as Kafka resolves them once.
 */
export async function perIpOverrides(value: string): Promise<Map<string, number>> {
  const overrides = new Map<string, number>()
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue
    const colon = entry.lastIndexOf(':')
    const host = entry
      .slice(0, colon)
      .trim()
      .replace(/^\[(.*)\]$/, '$1')
    const count = Number(entry.slice(colon + 1).trim())
    if (colon <= 0 || !Number.isInteger(count) || count < 0) {
      throw new Error(`invalid max.connections.per.ip.overrides entry '${entry}': expected host:count`)
    }
    const addresses = isIP(host) === 0 ? (await lookup(host, { all: true })).map((a) => a.address) : [host]
    for (const address of addresses) overrides.set(address, count)
  }
  return overrides
}

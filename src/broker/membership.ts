/**
 * Cluster membership over storage several brokers share (the postgres engine): each broker
 * registers in the key-value store (namespace `brokers`, one key per node id: its address, rack
 * and a heartbeat counter) and keeps a lease alive by rewriting its entry every
 * broker.heartbeat.interval.ms with a compare-and-set, so that two brokers never hold one node id.
 *
 * No clock is shared. A broker counts another one live while its entry keeps changing: it is out
 * once the entry stood still for broker.session.timeout.ms of the observer's own monotonic
 * clock, measured from when the observer first saw its latest value. The observer saw that value
 * only after it was written, so the earliest moment anyone can count a broker out is a session
 * timeout after that broker started its last successful heartbeat. The broker itself stops
 * counting itself live (and so stops leading) a heartbeat interval before that moment: a broker
 * that loses its database gives up its partitions before anyone else can take them. The leader
 * epochs stored with the partitions fence any write that still races.
 *
 * A node id is configured, or allocated: the first id from 1001 (Kafka's first generated broker
 * id) whose entry is free, left by a clean shutdown, or left by a crashed broker of this host
 * whose process is gone. A configured id whose entry another instance holds is taken only once
 * that entry stood still for a session timeout.
 *
 * A crashed broker's entry stays, counted out (fenced, as KRaft calls it), until the broker comes
 * back, an UnregisterBroker request removes it, or it stood still for
 * samsa.broker.registration.retention.ms, when any live broker removes it. Removals are
 * compare-and-set on the version observed, so an entry that moved meanwhile (its broker is back)
 * stays.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { performance } from 'node:perf_hooks'
import { SamsaError } from '../errors.ts'
import type { KeyValueStore } from '../storage/types.ts'
import type { Log } from '../util/logger.ts'
import type { ClusterNode } from './cluster.ts'
import { appendMetadataRecord } from './metadata-log.ts'

const NAMESPACE = 'brokers'
/** The first node id handed out when none is configured (Kafka's reserved.broker.max.id + 1). */
export const FIRST_GENERATED_NODE_ID = 1001

/** What a broker's entry holds. */
export interface Registration {
  /** A random id per process: who holds the node id now. */
  instance: string
  host: string
  /** 0 until the broker listens: others do not count it yet. */
  port: number
  rack: string | null
  /** The machine and process, so that a restart on the same machine can take over a crashed broker's id at once. */
  hostname: string
  pid: number
  /** Raised by every heartbeat. */
  beat: number
  /** Wall-clock time of the broker's start, for `samsa cluster info`. */
  startedAt: number
}

export interface MembershipOptions {
  kv: KeyValueStore
  /** The configured node.id, or undefined to allocate one. */
  nodeId: number | undefined
  rack: string | null
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
  /** How long an entry that stood still is kept before a live broker removes it (undefined: for ever). */
  registrationRetentionMs?: number
  log: Log
  /** A monotonic clock in milliseconds (default performance.now). */
  now?: () => number
}

interface Observation {
  raw: string
  registration: Registration | undefined
  changedAt: number
}

/** What UnregisterBroker found: no entry, a broker still live (or starting), or an entry it removed. */
export type UnregisterOutcome = 'unknown' | 'live' | 'removed'

function key(nodeId: number): string {
  return String(nodeId)
}

function parse(raw: Buffer | undefined): Registration | undefined {
  if (raw === undefined) return undefined
  try {
    return JSON.parse(raw.toString()) as Registration
  } catch {
    return undefined
  }
}

/** True when the entry belongs to a process of this machine that no longer runs. */
function crashedHere(r: Registration): boolean {
  if (r.hostname !== hostname()) return false
  try {
    process.kill(r.pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export class Membership {
  readonly nodeId: number
  readonly #kv: KeyValueStore
  readonly #options: MembershipOptions
  readonly #now: () => number
  #self: Registration
  #version: number
  /** Until when (monotonic) this broker counts itself live. */
  #leaseUntil = 0
  #selfLive = false
  readonly #observed = new Map<number, Observation>()
  #liveKey = ''
  #timer: NodeJS.Timeout | undefined
  #leaseTimer: NodeJS.Timeout | undefined
  #closed = false
  #lost = false
  #failing = false
  readonly #listeners: (() => void)[] = []

  private constructor(options: MembershipOptions, nodeId: number, self: Registration, version: number) {
    this.#options = options
    this.#kv = options.kv
    this.#now = options.now ?? (() => performance.now())
    this.nodeId = nodeId
    this.#self = self
    this.#version = version
  }

  /**
   * Takes a node id (the configured one or a free one) and registers without an address; the
   * broker is counted by others once it `listening()`. Sees the members registered so far.
   */
  static async register(options: MembershipOptions): Promise<Membership> {
    const self: Registration = {
      instance: randomUUID(),
      host: '',
      port: 0,
      rack: options.rack,
      hostname: hostname(),
      pid: process.pid,
      beat: 0,
      startedAt: Date.now(),
    }
    const value = (): Buffer => Buffer.from(JSON.stringify(self))
    let taken: { nodeId: number; version: number } | undefined
    if (options.nodeId !== undefined) {
      const version = await Membership.#takeConfigured(options, options.nodeId, value())
      taken = { nodeId: options.nodeId, version }
    } else {
      for (let id = FIRST_GENERATED_NODE_ID; taken === undefined; id++) {
        const current = await options.kv.getVersioned(NAMESPACE, key(id))
        const holder = parse(current.value)
        if (holder !== undefined && !crashedHere(holder)) continue
        const version = await options.kv.putIfVersion(NAMESPACE, key(id), current.version, value())
        if (version !== null) taken = { nodeId: id, version }
      }
    }
    await appendMetadataRecord(options.kv, options.log)
    const membership = new Membership(options, taken.nodeId, self, taken.version)
    await membership.#observe()
    return membership
  }

  /** Takes a configured node id: free, crashed here, or silent for a session timeout. */
  static async #takeConfigured(options: MembershipOptions, nodeId: number, value: Buffer): Promise<number> {
    const { kv } = options
    let current = await kv.getVersioned(NAMESPACE, key(nodeId))
    const holder = parse(current.value)
    if (holder !== undefined && !crashedHere(holder)) {
      options.log.info(
        { nodeId, holder: `${holder.hostname} pid ${holder.pid}` },
        `node.id ${nodeId} is registered by another broker process; waiting ${options.sessionTimeoutMs} ms for its lease to lapse`,
      )
      const deadline = performance.now() + options.sessionTimeoutMs
      while (performance.now() < deadline) {
        await sleep(Math.min(options.heartbeatIntervalMs, Math.max(deadline - performance.now(), 0)))
        const now = await kv.getVersioned(NAMESPACE, key(nodeId))
        if (now.version !== current.version && now.value !== undefined) {
          const live = parse(now.value)
          throw new SamsaError(
            'SAMSA_ERR_NODE_ID_IN_USE',
            `node.id ${nodeId} is in use by a live broker (${live?.hostname ?? '?'} pid ${live?.pid ?? '?'}, ${live?.host}:${live?.port}); give this broker another --node-id or none to have one allocated`,
            { details: { nodeId } },
          )
        }
        current = now
        if (now.value === undefined) break
      }
    }
    const version = await kv.putIfVersion(NAMESPACE, key(nodeId), current.version, value)
    if (version === null) {
      throw new SamsaError('SAMSA_ERR_NODE_ID_IN_USE', `node.id ${nodeId} was just taken by another broker`, {
        details: { nodeId },
      })
    }
    return version
  }

  /** Calls `listener` whenever the live set changes (this broker's own liveness included). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener)
  }

  /** Whether this broker counts itself live: its lease is current and it holds its node id. */
  get selfLive(): boolean {
    return this.#selfLive
  }

  /** The other live brokers, by node id: registered with an address, their entry changed within a session timeout. */
  liveRemote(): ClusterNode[] {
    return this.#others(true)
  }

  /** The other brokers still registered whose entry stood still for a session timeout: out of the cluster. */
  lapsedRemote(): ClusterNode[] {
    return this.#others(false)
  }

  /** The other brokers with an address, by node id, that are live (or lapsed) as this broker observes them. */
  #others(live: boolean): ClusterNode[] {
    const now = this.#now()
    const found: ClusterNode[] = []
    for (const [nodeId, { registration: r, changedAt }] of this.#observed) {
      if (nodeId === this.nodeId || r === undefined || r.port <= 0) continue
      if (now - changedAt < this.#options.sessionTimeoutMs !== live) continue
      found.push({ nodeId, host: r.host, port: r.port, rack: r.rack })
    }
    return found.sort((a, b) => a.nodeId - b.nodeId)
  }

  /**
   * When this broker last saw another one's entry change (wall-clock ms), or undefined for a
   * broker it does not know.
   */
  heardAt(nodeId: number): number | undefined {
    const o = this.#observed.get(nodeId)
    return o === undefined ? undefined : Date.now() - (this.#now() - o.changedAt)
  }

  /**
   * Removes another broker's entry (UnregisterBroker) if it lapsed: its lease ran out as this
   * broker observes it. An entry this broker has not watched stand still for a session timeout
   * belongs to a broker that may be live, or starting.
   */
  async unregister(nodeId: number): Promise<UnregisterOutcome> {
    if (nodeId === this.nodeId) return 'live'
    return this.#removeIfStill(nodeId, this.#options.sessionTimeoutMs)
  }

  /**
   * Removes the entry if it is the one observed, unchanged for `stillMs` of this broker's clock,
   * with a compare-and-set on the version read, so a broker that came back meanwhile keeps it.
   */
  async #removeIfStill(nodeId: number, stillMs: number): Promise<UnregisterOutcome> {
    const current = await this.#kv.getVersioned(NAMESPACE, key(nodeId))
    if (current.value === undefined) return 'unknown'
    const seen = this.#observed.get(nodeId)
    if (seen === undefined || seen.raw !== current.value.toString() || this.#now() - seen.changedAt < stillMs) {
      return 'live'
    }
    if ((await this.#kv.putIfVersion(NAMESPACE, key(nodeId), current.version, null)) === null) return 'live'
    this.#observed.delete(nodeId)
    await appendMetadataRecord(this.#kv, this.#options.log)
    this.#options.log.info({ nodeId }, `removed the registration of broker ${nodeId}, whose lease had lapsed`)
    this.#emitIfChanged(true)
    return 'removed'
  }

  /** Removes the entries that stood still for registration.retention.ms (crashed brokers that never came back). */
  async #collectLapsed(): Promise<void> {
    const retention = this.#options.registrationRetentionMs
    if (retention === undefined) return
    const now = this.#now()
    for (const [nodeId, o] of this.#observed) {
      if (nodeId === this.nodeId || now - o.changedAt < retention) continue
      try {
        await this.#removeIfStill(nodeId, retention)
      } catch (err) {
        this.#options.log.warn({ err, nodeId }, 'could not remove a lapsed broker registration; trying again later')
      }
    }
  }

  /** The broker listens: publishes its address and starts heartbeating. */
  async listening(host: string, port: number): Promise<void> {
    this.#self = { ...this.#self, host, port }
    await this.#heartbeat()
    this.#schedule()
  }

  /** Controlled shutdown: stops counting itself live and removes its entry, so others take over at once. */
  async leave(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    clearTimeout(this.#leaseTimer)
    this.#setSelfLive(false)
    if (this.#lost) return
    try {
      if ((await this.#kv.putIfVersion(NAMESPACE, key(this.nodeId), this.#version, null)) !== null) {
        await appendMetadataRecord(this.#kv, this.#options.log)
      }
    } catch (err) {
      this.#options.log.warn(
        { err },
        'could not remove the broker registration; others count it out after the session timeout',
      )
    }
  }

  #schedule(): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => {
      void this.#tick()
    }, this.#options.heartbeatIntervalMs)
    this.#timer.unref()
  }

  async #tick(): Promise<void> {
    await this.#heartbeat()
    await this.#observe()
    if (this.#selfLive) await this.#collectLapsed()
    this.#schedule()
  }

  async #heartbeat(): Promise<void> {
    if (this.#closed || this.#lost) return
    const sentAt = this.#now()
    const next = { ...this.#self, beat: this.#self.beat + 1 }
    try {
      let version = await this.#kv.putIfVersion(
        NAMESPACE,
        key(this.nodeId),
        this.#version,
        Buffer.from(JSON.stringify(next)),
      )
      if (version === null) {
        // Our own write may have landed with its answer lost; anything else is another holder.
        const current = await this.#kv.getVersioned(NAMESPACE, key(this.nodeId))
        if (parse(current.value)?.instance !== this.#self.instance) return this.#lose()
        version = current.version
      }
      if (this.#closed) return
      this.#version = version
      this.#self = next
      if (this.#failing) this.#options.log.info({ nodeId: this.nodeId }, 'broker heartbeat written again')
      this.#failing = false
      this.#leaseUntil = sentAt + this.#options.sessionTimeoutMs - this.#options.heartbeatIntervalMs
      this.#setSelfLive(this.#now() < this.#leaseUntil)
      this.#watchLease()
    } catch (err) {
      if (!this.#failing) {
        this.#options.log.warn(
          { err, nodeId: this.nodeId },
          'broker heartbeat failed; this broker stops leading if it cannot write one before its lease lapses',
        )
      }
      this.#failing = true
    }
  }

  /**
   * Counts this broker out when its lease runs out without a heartbeat written. A timer may fire
   * a little before the moment it was set for on the monotonic clock (Node starts it from the
   * event loop's cached time): then it is set again for what is left, never given up.
   */
  #watchLease(): void {
    clearTimeout(this.#leaseTimer)
    const left = this.#leaseUntil - this.#now()
    if (left <= 0) {
      this.#setSelfLive(false)
      return
    }
    this.#leaseTimer = setTimeout(() => this.#watchLease(), Math.ceil(left) + 1)
    this.#leaseTimer.unref()
  }

  /** Another instance holds our node id now: this broker is out for good. */
  #lose(): void {
    this.#lost = true
    this.#options.log.error(
      { nodeId: this.nodeId },
      `node.id ${this.nodeId} was taken over by another broker; this broker no longer leads anything`,
    )
    this.#setSelfLive(false)
  }

  async #observe(): Promise<void> {
    let entries: Map<string, Buffer>
    try {
      entries = await this.#kv.list(NAMESPACE)
    } catch {
      // Cut off from the database, this broker cannot tell: it keeps counting the others live
      // (they most likely are), so that the Metadata it still answers sends clients to them.
      // Its own lease lapses on its own clock, so it leads nothing meanwhile.
      const now = this.#now()
      for (const o of this.#observed.values()) o.changedAt = now
      this.#emitIfChanged()
      return
    }
    const now = this.#now()
    // A lapsed entry removed elsewhere changes no live set, but the fenced brokers shown.
    let removed = false
    for (const nodeId of this.#observed.keys()) {
      if (entries.has(key(nodeId))) continue
      this.#observed.delete(nodeId)
      removed = true
    }
    for (const [k, raw] of entries) {
      const nodeId = Number(k)
      const text = raw.toString()
      const known = this.#observed.get(nodeId)
      if (known?.raw === text) continue
      this.#observed.set(nodeId, { raw: text, registration: parse(raw), changedAt: now })
    }
    this.#emitIfChanged(removed)
  }

  #setSelfLive(live: boolean): void {
    if (this.#selfLive === live) return
    this.#selfLive = live
    const { log } = this.#options
    if (live) log.info({ nodeId: this.nodeId }, 'broker lease held: leading its share')
    else if (this.#closed) log.info({ nodeId: this.nodeId }, 'leaving the cluster: handing over partitions and groups')
    else log.warn({ nodeId: this.nodeId }, 'broker lease lapsed: leading nothing until a heartbeat is written again')
    this.#emitIfChanged()
  }

  /** Tells the listeners when the live set changed (`always`: the lapsed set changed too). */
  #emitIfChanged(always = false): void {
    const liveKey = JSON.stringify([this.#selfLive, this.liveRemote()])
    if (liveKey === this.#liveKey && !always) return
    this.#liveKey = liveKey
    for (const listener of this.#listeners) listener()
  }
}

/**
 * Which partitions this broker leads, and the leader epoch its appends carry.
 *
 * Where one process owns the storage (memory, local) it leads every partition the cluster view
 * gives its nodes, with the stored epoch. Over shared storage (a cluster) leading takes a claim:
 * when the view makes one of this process's nodes a partition's leader, the broker raises the
 * partition's stored epoch by one (storage.claimLeadership), which fences every append of the
 * previous leader, rebuilds the partition's producer state from storage, and only then serves
 * it with that epoch. It drops the claim as soon as the view gives the partition to another
 * broker, or an append or a notice from storage finds the epoch moved on. Until a claim
 * completes, requests for the partition get NOT_LEADER_OR_FOLLOWER, which clients retry.
 *
 * Views lag behind membership by up to a heartbeat: a broker that has just joined claims its
 * share before the others know it exists. One that loses a partition to a claim it cannot explain
 * leaves the partition alone for a while (claimBackoffMs) instead of claiming it straight back,
 * by which time its view shows the newcomer.
 */
import { ErrorCode } from '../protocol/error-codes.ts'
import type { Storage } from '../storage/types.ts'
import type { Log } from '../util/logger.ts'
import type { ClusterView } from './cluster.ts'
import type { TopicRegistry } from './topics.ts'

/**
 * This broker lost a partition while an append to it was still unanswered by storage (a commit in
 * doubt on a lost database connection): answered NOT_LEADER_OR_FOLLOWER so the client retries
 * with the new leader, which rebuilt the producer state from storage and so recognises an
 * idempotent batch that did land.
 */
class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError'
  readonly errorCode = ErrorCode.FENCED_LEADER_EPOCH
}

interface Claim {
  epoch: number
  /** Aborted when the claim is dropped. */
  lost: AbortController
}

/** Claims made at once (each is two short statements). */
const CLAIM_CONCURRENCY = 16

export interface LeadershipDeps {
  storage: Storage
  cluster: ClusterView
  topics: TopicRegistry
  log: Log
  /** Rebuilds a partition's producer state from storage, for a broker that has just become its leader. */
  reloadProducerState: (topic: string, partition: number) => Promise<void>
  /** How long a partition another broker claimed is left to it before this one claims it back. */
  claimBackoffMs: number
}

export class Leadership {
  readonly #deps: LeadershipDeps
  readonly #shared: boolean
  /** Claims by topic and partition. */
  readonly #claims = new Map<string, Map<number, Claim>>()
  /** Partitions lost to another broker's claim, by "topic:partition": not claimed back before then (performance.now()). */
  readonly #backoff = new Map<string, number>()
  #running: Promise<void> | null = null
  #again = false

  constructor(deps: LeadershipDeps) {
    this.#deps = deps
    this.#shared = deps.storage.capabilities.shared
    if (this.#shared) {
      deps.storage.onLeaderEpoch((topic, partition, epoch) => {
        const claim = this.#claims.get(topic)?.get(partition)
        if (claim !== undefined && epoch > claim.epoch) this.#lost(topic, partition)
      })
    }
  }

  /** Whether this broker may serve the partition as its leader (the view's verdict is checked apart). */
  leads(topic: string, partition: number): boolean {
    return !this.#shared || this.#claims.get(topic)?.has(partition) === true
  }

  /** The epoch this broker appends to the partition with (-1 where it holds no claim: the engine refuses). */
  appendEpoch(topic: string, partition: number): number {
    if (!this.#shared) return this.#deps.topics.leaderEpoch(topic, partition)
    return this.#claims.get(topic)?.get(partition)?.epoch ?? -1
  }

  /**
   * `append` (to a partition this broker leads), or LeadershipLostError as soon as the broker
   * drops its claim on the partition while the append is still unanswered.
   */
  whileLeading<T>(topic: string, partition: number, append: Promise<T>): Promise<T> {
    const lost = this.#claims.get(topic)?.get(partition)?.lost.signal
    if (lost === undefined) return append
    return new Promise<T>((resolve, reject) => {
      const onLost = (): void =>
        reject(new LeadershipLostError(`${topic}-${partition} moved to another broker while this append was in doubt`))
      lost.addEventListener('abort', onLost, { once: true })
      append.then(resolve, reject).finally(() => lost.removeEventListener('abort', onLost))
    })
  }

  /** An append was fenced: another broker claimed the partition. */
  fenced(topic: string, partition: number): void {
    this.#lost(topic, partition)
  }

  /**
   * Whether this broker's claim on the partition still holds in storage. The producer state's
   * refusals (an out-of-order sequence) are made before storage sees the batch, so they may come
   * from state that a leader elsewhere has moved past: before one reaches the client, the claim
   * is checked, and given up if another broker claimed meanwhile.
   */
  async confirm(topic: string, partition: number): Promise<boolean> {
    if (!this.#shared) return true
    const claim = this.#claims.get(topic)?.get(partition)
    if (claim === undefined) return false
    if ((await this.#deps.storage.leaderEpoch(topic, partition)) === claim.epoch) return true
    this.#lost(topic, partition)
    return false
  }

  /** Another broker claimed the partition: it keeps it for claimBackoffMs even if this view says otherwise. */
  #lost(topic: string, partition: number): void {
    if (this.#claims.get(topic)?.has(partition) !== true) return
    this.#drop(topic, partition)
    this.#backoff.set(`${topic}:${partition}`, performance.now() + this.#deps.claimBackoffMs)
  }

  #drop(topic: string, partition: number): void {
    const claims = this.#claims.get(topic)
    const claim = claims?.get(partition)
    if (claim === undefined) return
    claim.lost.abort()
    claims?.delete(partition)
    this.#deps.log.debug({ topic, partition, leaderEpoch: claim.epoch }, 'no longer leading partition')
    if (claims?.size === 0) this.#claims.delete(topic)
  }

  /**
   * Brings the claims in line with the view: drops the partitions it gives to others, claims the
   * ones it gives this process. Concurrent calls share one pass (plus one more if asked meanwhile).
   */
  rebalance(): Promise<void> {
    if (!this.#shared) return Promise.resolve()
    // At once, not after the pass under way: its claims may wait on storage for as long as the
    // database is out of reach, while appends in doubt must be given up as soon as the view moves.
    this.#dropOthers()
    if (this.#running !== null) {
      this.#again = true
      return this.#running
    }
    const run = async (): Promise<void> => {
      do {
        this.#again = false
        await this.#pass()
      } while (this.#again)
    }
    this.#running = run().finally(() => {
      this.#running = null
    })
    return this.#running
  }

  #ours(topic: string, partition: number): boolean {
    const { cluster } = this.#deps
    return cluster.isLocal(cluster.leaderOf(topic, partition))
  }

  /** Drops the claims on partitions the view gives to other brokers, or that no longer exist. */
  #dropOthers(): void {
    const { topics } = this.#deps
    for (const [topic, claims] of this.#claims) {
      const known = topics.get(topic)
      for (const partition of claims.keys()) {
        if (known === undefined || partition >= known.partitionCount || !this.#ours(topic, partition)) {
          this.#drop(topic, partition)
        }
      }
    }
  }

  async #pass(): Promise<void> {
    const { topics } = this.#deps
    this.#dropOthers()
    const now = performance.now()
    for (const [key, until] of this.#backoff) if (until <= now) this.#backoff.delete(key)
    const wanted: [string, number][] = []
    for (const t of topics.list()) {
      for (let p = 0; p < t.partitionCount; p++) {
        if (this.#ours(t.name, p) && !this.leads(t.name, p) && !this.#backoff.has(`${t.name}:${p}`)) {
          wanted.push([t.name, p])
        }
      }
    }
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < wanted.length) {
        const [topic, partition] = wanted[next++] as [string, number]
        await this.#claim(topic, partition)
      }
    }
    await Promise.all(Array.from({ length: Math.min(CLAIM_CONCURRENCY, wanted.length) }, worker))
  }

  async #claim(topic: string, partition: number): Promise<void> {
    const { storage, log } = this.#deps
    try {
      const stored = await storage.leaderEpoch(topic, partition)
      const epoch = await storage.claimLeadership(topic, partition, stored + 1)
      // Another broker claimed it meanwhile: it leads by its view; the next pass settles it.
      if (epoch !== stored + 1 || !this.#ours(topic, partition)) return
      await this.#deps.reloadProducerState(topic, partition)
      if (!this.#ours(topic, partition)) return
      let claims = this.#claims.get(topic)
      if (claims === undefined) {
        claims = new Map()
        this.#claims.set(topic, claims)
      }
      claims.get(partition)?.lost.abort()
      claims.set(partition, { epoch, lost: new AbortController() })
      log.debug({ topic, partition, leaderEpoch: epoch }, 'leading partition')
    } catch (err) {
      log.warn(
        { err, topic, partition },
        'could not claim the leadership of a partition; retrying with the next heartbeat',
      )
    }
  }
}

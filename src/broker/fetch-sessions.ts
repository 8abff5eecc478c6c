/**
 * Incremental fetch sessions (KIP-227). A consumer that fetches the same partitions over and
 * over may open a session; later requests then name only the partitions that changed, and
 * responses carry only partitions with news (records, or a changed high watermark, last stable
 * offset or log start offset). Session id 0 with epoch -1 is a plain full fetch.
 */

/** Epoch -1: a full fetch that closes any session (or uses none). */
export const FINAL_EPOCH = -1
/** Epoch 0: a full fetch that opens a new session. */
export const INITIAL_EPOCH = 0

/** What the session remembers of one partition: what the client asked and what it was last told. */
export interface SessionPartition {
  topic: string
  topicId: string
  partition: number
  fetchOffset: number
  maxBytes: number
  /** Values in the last response that included the partition; -1 before the first. */
  sentHighWatermark: number
  sentLastStableOffset: number
  sentLogStartOffset: number
}

export class FetchSession {
  readonly id: number
  /** The epoch the next request must carry. */
  epoch = 1
  readonly partitions = new Map<string, SessionPartition>()
  lastUsed: number

  constructor(id: number, now: number) {
    this.id = id
    this.lastUsed = now
  }

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`
  }
}

export type SessionLookup =
  | { kind: 'sessionless' }
  | { kind: 'full'; session: FetchSession }
  | { kind: 'incremental'; session: FetchSession }
  | { kind: 'error'; errorCode: number }

const FETCH_SESSION_ID_NOT_FOUND = 70
const INVALID_FETCH_SESSION_EPOCH = 71

export class FetchSessions {
  readonly #sessions = new Map<number, FetchSession>()
  readonly #maxSessions: number
  #nextId = 1

  /** @param maxSessions Kafka's max.incremental.fetch.session.cache.slots. */
  constructor(maxSessions = 1000) {
    this.#maxSessions = maxSessions
  }

  get size(): number {
    return this.#sessions.size
  }

  /** Applies a request's session id and epoch: opens, continues or closes a session. */
  lookup(sessionId: number, epoch: number, now: number): SessionLookup {
    if (epoch === FINAL_EPOCH) {
      if (sessionId !== 0) this.#sessions.delete(sessionId)
      return { kind: 'sessionless' }
    }
    if (epoch === INITIAL_EPOCH) {
      if (sessionId !== 0) this.#sessions.delete(sessionId)
      // With no slots, every fetch is a full one without a session, which clients accept.
      if (this.#maxSessions === 0) return { kind: 'sessionless' }
      return { kind: 'full', session: this.#open(now) }
    }
    const session = this.#sessions.get(sessionId)
    if (session === undefined) return { kind: 'error', errorCode: FETCH_SESSION_ID_NOT_FOUND }
    if (session.epoch !== epoch) return { kind: 'error', errorCode: INVALID_FETCH_SESSION_EPOCH }
    session.epoch = epoch === 0x7fffffff ? 1 : epoch + 1
    session.lastUsed = now
    return { kind: 'incremental', session }
  }

  #open(now: number): FetchSession {
    if (this.#sessions.size >= this.#maxSessions) {
      // Evict the least recently used session, as Kafka's cache does when it is full.
      let oldest: FetchSession | undefined
      for (const s of this.#sessions.values()) if (!oldest || s.lastUsed < oldest.lastUsed) oldest = s
      if (oldest) this.#sessions.delete(oldest.id)
    }
    let id = this.#nextId
    while (this.#sessions.has(id) || id === 0) id = (id % 0x7fffffff) + 1
    this.#nextId = (id % 0x7fffffff) + 1
    const session = new FetchSession(id, now)
    this.#sessions.set(id, session)
    return session
  }

  /** Drops every session that mentions a deleted topic. */
  forgetTopic(topic: string): void {
    for (const s of this.#sessions.values()) {
      for (const [k, p] of s.partitions) if (p.topic === topic) s.partitions.delete(k)
    }
  }
}

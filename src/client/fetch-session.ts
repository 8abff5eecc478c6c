/**
 * Client side of KIP-227 incremental fetch sessions for one broker. The first request opens a
 * session (id 0, epoch 0) with every partition; later ones (the session id, epoch + 1) carry only
 * partitions whose fetch offset or size changed, and list the dropped ones as forgotten. Any
 * session error starts over with a full fetch. Before Fetch v7 every request is full.
 */
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  createForgottenTopic,
  type FetchRequest,
} from '../protocol/generated/fetch.ts'

/** A partition to fetch. */
export interface FetchTarget {
  topic: string
  /** Topic id for Fetch v13+. */
  topicId: string
  partition: number
  offset: bigint
  maxBytes: number
}

/** Settings of a fetch request. */
export interface FetchSettings {
  maxWaitMs: number
  minBytes: number
  maxBytes: number
  isolationLevel: number
}

const FIRST_SESSION_VERSION = 7
const FIRST_TOPIC_ID_VERSION = 13
const FETCH_SESSION_ID_NOT_FOUND = 70
const INVALID_FETCH_SESSION_EPOCH = 71

/** Incremental fetch session state with one broker. */
export class FetchSession {
  id = 0
  epoch = 0
  /** What the broker has cached for each partition: `topic/partition` → offset and size. */
  #sent = new Map<string, FetchTarget>()

  /** Builds the next request for the targets. */
  build(version: number, targets: readonly FetchTarget[], settings: FetchSettings): FetchRequest {
    const sessions = version >= FIRST_SESSION_VERSION
    const incremental = sessions && this.id !== 0
    const wanted = new Map(targets.map((t) => [`${t.topic}/${t.partition}`, t]))
    const include = incremental
      ? targets.filter((t) => {
          const prev = this.#sent.get(`${t.topic}/${t.partition}`)
          return !prev || prev.offset !== t.offset || prev.maxBytes !== t.maxBytes
        })
      : [...targets]
    const forgotten = incremental
      ? [...this.#sent.values()].filter((t) => !wanted.has(`${t.topic}/${t.partition}`))
      : []
    const useIds = version >= FIRST_TOPIC_ID_VERSION
    const topics = new Map<string, FetchTarget[]>()
    for (const t of include) topics.set(t.topic, [...(topics.get(t.topic) ?? []), t])
    const forgottenTopics = new Map<string, FetchTarget[]>()
    for (const t of forgotten) forgottenTopics.set(t.topic, [...(forgottenTopics.get(t.topic) ?? []), t])
    const request = createFetchRequest({
      replicaId: -1,
      maxWaitMs: settings.maxWaitMs,
      minBytes: settings.minBytes,
      maxBytes: settings.maxBytes,
      isolationLevel: settings.isolationLevel,
      sessionId: sessions ? this.id : 0,
      sessionEpoch: sessions ? this.epoch : -1,
      topics: [...topics].map(([topic, list]) =>
        createFetchTopic({
          ...(useIds ? { topicId: (list[0] as FetchTarget).topicId } : { topic }),
          partitions: list.map((t) =>
            createFetchPartition({ partition: t.partition, fetchOffset: t.offset, partitionMaxBytes: t.maxBytes }),
          ),
        }),
      ),
      forgottenTopicsData: [...forgottenTopics].map(([topic, list]) =>
        createForgottenTopic({
          ...(useIds ? { topicId: (list[0] as FetchTarget).topicId } : { topic }),
          partitions: list.map((t) => t.partition),
        }),
      ),
    })
    // Remember what the broker will hold once it accepts this request.
    this.#pendingState = new Map(wanted)
    return request
  }

  #pendingState = new Map<string, FetchTarget>()

  /** Records the outcome of the request built last: top-level error and returned session id. */
  onResponse(version: number, errorCode: number, sessionId: number): void {
    if (version < FIRST_SESSION_VERSION) return
    if (errorCode === FETCH_SESSION_ID_NOT_FOUND || errorCode === INVALID_FETCH_SESSION_EPOCH || errorCode !== 0) {
      this.reset()
      return
    }
    if (sessionId === 0) {
      // The broker keeps no session: stay with full fetches.
      this.reset()
      return
    }
    if (this.id !== sessionId) {
      this.id = sessionId
      this.epoch = 1
    } else {
      this.epoch = this.epoch >= 0x7fffffff ? 1 : this.epoch + 1
    }
    this.#sent = this.#pendingState
  }

  /** Forgets the session; the next request is a full one that opens a new session. */
  reset(): void {
    this.id = 0
    this.epoch = 0
    this.#sent = new Map()
  }
}

/**
 * Partition changes across brokers sharing one database. Whenever an engine commits appends,
 * moves a log start (DeleteRecords, retention), rewrites a compacted range or claims leadership,
 * it tells the others on PARTITION_CHANNEL what the partition is now: log start, high watermark, leader
 * epoch, and whether rows below the log end changed (compaction). The others take it
 * (PartitionState.takeForeign): their view rises, their tail goes, their long polls wake.
 *
 * Not in the commit's transaction: PostgreSQL serialises the commits of all notifying
 * transactions of the server (PreCommit_Notify takes a lock on "database 0" held until the
 * transaction ends, its WAL flush included), which would put the engine's concurrent commits in
 * single file behind each other's flushes. A notifier sends after the commits instead, in a
 * statement of its own, at most one in flight per engine. That transaction writes no WAL but its
 * commit record, so its commit does not wait for a flush (RecordTransactionCommit flushes only
 * for transactions that wrote WAL before it) and the lock is held briefly. What becomes due while
 * one is in flight waits and coalesces: per partition only the newest state goes, read from the
 * engine's state when sent, and notices start NOTICE_GAP_MS apart at least. A payload stays under
 * PostgreSQL's 8000 bytes; more partitions go in several payloads of one statement.
 *
 * An engine alone on its database sends no notices: each engine says hello (its origin alone) on
 * PARTITION_CHANNEL when it starts listening and every HELLO_MS after, and answers the hello of an engine
 * it had not heard of with its own. Until it has heard another engine within PEER_TTL_MS, an
 * engine only remembers which partitions changed, and tells them all once one appears (it may
 * have read the database before they changed). A single broker thus pays one statement per
 * HELLO_MS, nothing per commit.
 *
 * Correctness never depends on these notices: appends are fenced by the database, and a listener
 * re-reads every partition on (re)connection or, where LISTEN is missing, by polling.
 */
import type pg from 'pg'
import type { StorageLogger } from '../engine/logger.ts'
import type { PartitionState, PartitionView } from './partition-state.ts'

/** The notification channel for partition changes. */
export const PARTITION_CHANNEL = 'samsa_partitions'

/** One partition's state in a notice. */
export interface PartitionNoticeEntry extends PartitionView {
  topicId: string
  partition: number
  /** Rows below the log end changed (a compaction rewrote them). */
  rewritten: boolean
}

/** A decoded notice: the engine instance that sent it and the partitions it names (none: a hello). */
export interface PartitionNotice {
  origin: string
  entries: PartitionNoticeEntry[]
}

/** How often an engine says hello while it listens. */
export const HELLO_MS = 10_000
/** How long an engine counts as present after its last hello or notice. */
export const PEER_TTL_MS = 3 * HELLO_MS

/** Most bytes of one payload (PostgreSQL refuses 8000 and more). */
export const MAX_PAYLOAD_BYTES = 7900

/**
 * Encodes a notice as payloads of at most `maxBytes` (ASCII, so characters are bytes): the
 * origin, then per topic `<topic id, 32 hex>/<entry>,<entry>...`, each entry
 * `partition:logStart:highWatermark:leaderEpoch`, plus `:c` when rewritten; topics separated by
 * spaces. Compact enough for about 300 partitions per payload.
 */
export function encodePartitionNotice(notice: PartitionNotice, maxBytes = MAX_PAYLOAD_BYTES): string[] {
  const byTopic = new Map<string, string[]>()
  for (const e of notice.entries) {
    const fields = `${e.partition}:${e.logStartOffset}:${e.highWatermark}:${e.leaderEpoch}${e.rewritten ? ':c' : ''}`
    const list = byTopic.get(e.topicId) ?? []
    list.push(fields)
    byTopic.set(e.topicId, list)
  }
  const payloads: string[] = []
  let current = notice.origin
  let topic: string | undefined
  for (const [topicId, entries] of byTopic) {
    const prefix = ` ${topicId.replaceAll('-', '')}/`
    for (const fields of entries) {
      const sameTopic = topic === topicId && current !== notice.origin
      const add = sameTopic ? `,${fields}` : `${prefix}${fields}`
      if (current.length + add.length > maxBytes && current !== notice.origin) {
        payloads.push(current)
        current = `${notice.origin}${prefix}${fields}`
      } else {
        current += add
      }
      topic = topicId
    }
  }
  if (current !== notice.origin) payloads.push(current)
  return payloads
}

const TOPIC_ID = /^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/

function count(text: string | undefined): number {
  const n = Number(text)
  if (text === undefined || text === '' || !Number.isSafeInteger(n) || n < 0) throw new Error('not a count')
  return n
}

/** Decodes a payload (an origin alone is a hello); null when it is not one (nothing of it is taken then). */
export function decodePartitionNotice(payload: string | undefined): PartitionNotice | null {
  const [origin, ...topics] = (payload ?? '').split(' ')
  if (origin === undefined || origin === '') return null
  const entries: PartitionNoticeEntry[] = []
  try {
    for (const token of topics) {
      const slash = token.indexOf('/')
      const id = TOPIC_ID.exec(token.slice(0, slash))
      if (slash < 0 || id === null) return null
      const topicId = id.slice(1).join('-')
      for (const entry of token.slice(slash + 1).split(',')) {
        const [partition, logStart, highWatermark, epoch, flag, ...rest] = entry.split(':')
        if (rest.length > 0 || (flag !== undefined && flag !== 'c')) return null
        entries.push({
          topicId,
          partition: count(partition),
          logStartOffset: count(logStart),
          highWatermark: count(highWatermark),
          leaderEpoch: count(epoch),
          rewritten: flag === 'c',
        })
      }
    }
  } catch {
    return null
  }
  return { origin, entries }
}

/** One statement, one transaction, every payload. */
const NOTIFY_SQL = 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p'

/**
 * The least time from one notice's start to the next one's: under a stream of commits, notices
 * carry several commits' changes each, at most 1000 / NOTICE_GAP_MS a second per engine (every
 * listening backend reads every notice of the server), for a few ms more of delay.
 */
export const NOTICE_GAP_MS = 5
const MIN_SWEEP = 4096
const RETRY_MIN_MS = 100
const RETRY_MAX_MS = 5_000

/**
 * Sends partition notices for one engine: coalescing, at most one statement in flight, none while
 * no other engine is present.
 */
export class PartitionNotifier {
  readonly #pool: pg.Pool
  readonly #origin: string
  readonly #logger: StorageLogger
  /** Partitions due, and whether their rows were rewritten since the last notice. */
  #due = new Map<PartitionState, boolean>()
  /** Partitions changed while no other engine was present, told once one appears. */
  #unsent = new Map<PartitionState, boolean>()
  /** The size of #unsent at which deleted partitions are swept out of it (a broker alone for long). */
  #sweepAt = MIN_SWEEP
  /** Other engines by origin, and when they were last heard. */
  readonly #peers = new Map<string, number>()
  /** Until when some other engine counts as present. */
  #peersUntil = 0
  #running: Promise<void> | undefined
  #scheduled = false
  #retryMs = RETRY_MIN_MS
  #failures = 0
  #closed = false
  /** Notice statements sent (the engine's stats.notices). */
  sent = 0

  constructor(pool: pg.Pool, origin: string, logger: StorageLogger) {
    this.#pool = pool
    this.#origin = origin
    this.#logger = logger
  }

  /** The partition changed: the others hear of its state soon (the newest one, once). */
  changed(state: PartitionState, rewritten = false): void {
    if (this.#closed) return
    const to = Date.now() > this.#peersUntil ? this.#unsent : this.#due
    to.set(state, rewritten || to.get(state) === true)
    if (to === this.#due) this.#schedule()
    else if (to.size > this.#sweepAt) {
      for (const s of to.keys()) if (s.deleted) to.delete(s)
      this.#sweepAt = Math.max(MIN_SWEEP, 2 * to.size)
    }
  }

  /**
   * Another engine was heard (a hello or a notice): it is present for PEER_TTL_MS. Returns true
   * when it had not been heard of (or not lately): the partitions changed meanwhile are told now,
   * and the engine should say hello back.
   */
  heard(origin: string): boolean {
    const now = Date.now()
    const last = this.#peers.get(origin)
    for (const [peer, at] of this.#peers) if (at + PEER_TTL_MS < now) this.#peers.delete(peer)
    this.#peers.set(origin, now)
    this.#peersUntil = Math.max(this.#peersUntil, now + PEER_TTL_MS)
    if (last !== undefined && last + PEER_TTL_MS >= now) return false
    for (const [state, rewritten] of this.#unsent) this.#due.set(state, rewritten || this.#due.get(state) === true)
    this.#unsent.clear()
    this.#schedule()
    return true
  }

  /** Sends what is due one last time (errors ignored) and stops. */
  async close(): Promise<void> {
    await this.#running
    if (this.#due.size > 0) await this.#send().catch(() => {})
    this.#closed = true
    this.#due.clear()
    this.#unsent.clear()
  }

  /** Starts a send on the next turn of the event loop, unless one is in flight or scheduled. */
  #schedule(): void {
    if (this.#running !== undefined || this.#scheduled || this.#closed) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#start()
    })
  }

  #start(): void {
    if (this.#running !== undefined || this.#due.size === 0 || this.#closed) return
    const started = Date.now()
    this.#running = this.#send().then(
      () => {
        this.#retryMs = RETRY_MIN_MS
        this.#failures = 0
        const next = (): void => {
          this.#running = undefined
          this.#start()
        }
        const wait = started + NOTICE_GAP_MS - Date.now()
        if (wait <= 0) next()
        else setTimeout(next, wait).unref()
      },
      (err: unknown) => {
        if (this.#failures++ % 20 === 0) {
          this.#logger.warn({ err }, 'cannot notify other brokers of partition changes; trying again')
        }
        const delay = this.#retryMs
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS)
        setTimeout(() => {
          this.#running = undefined
          this.#start()
        }, delay).unref()
      },
    )
  }

  /** Sends every partition due, as its state is now; a failed send leaves them due. */
  async #send(): Promise<void> {
    const due = this.#due
    this.#due = new Map()
    const entries: PartitionNoticeEntry[] = []
    for (const [state, rewritten] of due) {
      if (state.deleted) continue
      entries.push({
        topicId: state.topicId,
        partition: state.partition,
        logStartOffset: state.logStartOffset,
        highWatermark: state.highWatermark,
        leaderEpoch: state.leaderEpoch,
        rewritten,
      })
    }
    if (entries.length === 0) return
    try {
      await this.#pool.query({
        name: 'samsa-notify-partitions',
        text: NOTIFY_SQL,
        values: [PARTITION_CHANNEL, encodePartitionNotice({ origin: this.#origin, entries })],
      })
      this.sent++
    } catch (err) {
      for (const [state, rewritten] of due) this.#due.set(state, rewritten || this.#due.get(state) === true)
      throw err
    }
  }
}

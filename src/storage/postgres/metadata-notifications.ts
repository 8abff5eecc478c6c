/**
 * Changes across brokers: a topic change commits a pg_notify on CHANNEL in its own transaction,
 * partition changes go on PARTITION_CHANNEL (partition-notifications.ts), and every engine LISTENs
 * to both on one dedicated connection (outside the pool), which it re-opens when lost. On every
 * (re)connection the engine re-reads all topics and partitions, since changes made while it was
 * not listening were not delivered.
 *
 * LISTEN/NOTIFY is PostgreSQL's (YugabyteDB lacks it, CockroachDB has no LISTEN): where LISTEN
 * fails, the engine polls the topics and partitions tables instead (pollMs). Correctness never
 * depends on a notification: appends are fenced by the database, and reads and offsets never go
 * past what the database holds.
 */
import pg from 'pg'
import type { StorageLogger } from '../engine/logger.ts'
import { PARTITION_CHANNEL } from './partition-notifications.ts'

/** The notification channel. */
export const CHANNEL = 'samsa_metadata'

/** The payload of a notification: the engine instance that made the change, and the topic. */
export interface MetadataNotice {
  origin: string
  topic: string
}

/** Encodes a notification payload (well under PostgreSQL's 8000-byte limit: topic names are ≤ 249 chars). */
export function encodeNotice(notice: MetadataNotice): string {
  return JSON.stringify([notice.origin, notice.topic])
}

function decodeNotice(payload: string | undefined): MetadataNotice | null {
  try {
    const [origin, topic] = JSON.parse(payload ?? '') as unknown[]
    return typeof origin === 'string' && typeof topic === 'string' ? { origin, topic } : null
  } catch {
    return null
  }
}

/** What the subscriber tells its engine. */
export interface SubscriberHandlers {
  /** A notification from another engine. */
  notice: (notice: MetadataNotice) => void
  /** A payload on PARTITION_CHANNEL (this engine's own included). */
  partitions: (payload: string | undefined) => void
  /** (Re)connected, or a poll is due: everything may have changed. */
  resync: () => void
  /** The listening connection is up (again). */
  connected: () => void
  /** The listening connection was lost or could not be opened (it is retried). */
  lost: (err: unknown) => void
}

const RETRY_MIN_MS = 200
const RETRY_MAX_MS = 5_000

/** A LISTEN connection that reconnects, falling back to polling where LISTEN is not supported. */
export class MetadataSubscriber {
  readonly #url: string
  readonly #handlers: SubscriberHandlers
  readonly #logger: StorageLogger
  readonly #pollMs: number
  #client: pg.Client | undefined
  #retryMs = RETRY_MIN_MS
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(url: string, handlers: SubscriberHandlers, logger: StorageLogger, pollMs: number) {
    this.#url = url
    this.#handlers = handlers
    this.#logger = logger
    this.#pollMs = pollMs
  }

  /** Connects and LISTENs; resolves once listening (or once it fell back to polling). */
  async start(): Promise<void> {
    await this.#connect()
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({ connectionString: this.#url })
    client.on('error', (err) => this.#lost(client, err))
    client.on('end', () => this.#lost(client, undefined))
    client.on('notification', (msg) => {
      if (msg.channel === PARTITION_CHANNEL) {
        this.#handlers.partitions(msg.payload)
        return
      }
      const notice = msg.channel === CHANNEL ? decodeNotice(msg.payload) : null
      if (notice !== null) this.#handlers.notice(notice)
    })
    try {
      await client.connect()
    } catch (err) {
      this.#logger.warn({ err }, 'cannot connect to listen for changes by other brokers; retrying')
      this.#handlers.lost(err)
      this.#retry()
      return
    }
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    try {
      await client.query(`LISTEN ${CHANNEL}; LISTEN ${PARTITION_CHANNEL}`)
    } catch (err) {
      if (this.#client !== client) return
      this.#client = undefined
      await client.end().catch(() => {})
      if ((err as { code?: unknown }).code === '0A000' || (err as { code?: unknown }).code === '42601') {
        this.#logger.warn({ err }, 'LISTEN is not supported: polling for changes by other brokers')
        this.#poll()
      } else {
        this.#retry()
      }
      return
    }
    this.#retryMs = RETRY_MIN_MS
    this.#handlers.connected()
    this.#handlers.resync()
  }

  #lost(client: pg.Client, err: Error | undefined): void {
    if (this.#client !== client) return
    this.#client = undefined
    if (this.#closed) return
    this.#logger.warn({ err }, 'lost the connection listening for changes by other brokers; reconnecting')
    this.#handlers.lost(err ?? new Error('the connection listening for changes ended'))
    client.end().catch(() => {})
    this.#retry()
  }

  #retry(): void {
    if (this.#closed) return
    const delay = this.#retryMs
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS)
    this.#timer = setTimeout(() => {
      this.#connect().catch((err: unknown) => this.#logger.error({ err }, 'metadata listener failed'))
    }, delay)
    this.#timer.unref()
  }

  #poll(): void {
    if (this.#closed || this.#pollMs <= 0) return
    this.#timer = setInterval(() => this.#handlers.resync(), this.#pollMs)
    this.#timer.unref()
  }

  /** Sends a notification on the listening connection, if it is up (else nothing: it is lost anyway). */
  async notify(channel: string, payload: string): Promise<void> {
    await this.#client?.query('SELECT pg_notify($1, $2)', [channel, payload]).catch(() => {})
  }

  /** Stops listening. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    clearInterval(this.#timer)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => {})
  }
}

/**
 * The postgres engine's KeyValueStore: table kv (namespace, key, value, version). Every write of
 * a key bumps its version in the same statement, so compare-and-set and allocation are atomic in
 * the database and hold across brokers sharing it. A deleted key keeps its row (value null) and
 * version, so a compare-and-set that read the key before the delete fails after it is written
 * again; drop removes a namespace's rows outright.
 *
 * Writes of one namespace through this store apply in call order (a per-namespace queue), as the
 * other engines' do; pooled connections would otherwise reorder them.
 */
import type pg from 'pg'
import { SerialQueue } from '../../util/serial-queue.ts'
import type { IoHealth } from '../engine/io-health.ts'
import type { KeyValueStore, Versioned } from '../types.ts'
import { idempotentQuery, ioError } from './db.ts'

/** A KeyValueStore in PostgreSQL. */
export class PostgresKeyValueStore implements KeyValueStore {
  readonly #pool: pg.Pool
  readonly #checkOpen: () => void
  readonly #health: IoHealth
  readonly #queues = new Map<string, { queue: SerialQueue; pending: number }>()

  constructor(pool: pg.Pool, checkOpen: () => void, health: IoHealth) {
    this.#pool = pool
    this.#checkOpen = checkOpen
    this.#health = health
  }

  async get(namespace: string, key: string): Promise<Buffer | undefined> {
    const { value } = await this.getVersioned(namespace, key)
    return value
  }

  async list(namespace: string): Promise<Map<string, Buffer>> {
    const { rows } = await this.#query<{ key: string; value: Buffer }>(
      'list',
      'SELECT key, value FROM kv WHERE namespace = $1 AND value IS NOT NULL',
      [namespace],
      true,
    )
    return new Map(rows.map((r) => [r.key, r.value]))
  }

  put(namespace: string, entries: Map<string, Buffer | null>): Promise<void> {
    return this.#write(namespace, async () => {
      if (entries.size === 0) return
      const keys = [...entries.keys()]
      const values = [...entries.values()]
      await this.#query(
        'put',
        `INSERT INTO kv (namespace, key, value, version)
         SELECT $1, k, v, 1 FROM unnest($2::text[], $3::bytea[]) AS e(k, v)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = kv.version + 1`,
        [namespace, keys, values],
      )
    })
  }

  drop(namespace: string): Promise<void> {
    return this.#write(namespace, async () => {
      await this.#query('drop', 'DELETE FROM kv WHERE namespace = $1', [namespace])
    })
  }

  async getVersioned(namespace: string, key: string): Promise<Versioned> {
    const { rows } = await this.#query<{ value: Buffer | null; version: number }>(
      'getVersioned',
      'SELECT value, version FROM kv WHERE namespace = $1 AND key = $2',
      [namespace, key],
      true,
    )
    const row = rows[0]
    return row === undefined
      ? { value: undefined, version: 0 }
      : { value: row.value ?? undefined, version: row.version }
  }

  putIfVersion(namespace: string, key: string, expected: number, value: Buffer | null): Promise<number | null> {
    return this.#write(namespace, async () => {
      // Expected 0: the key must have no row (a deleted key has its row and a version above 0).
      const { rows } =
        expected === 0
          ? await this.#query<{ version: number }>(
              'putIfVersion',
              `INSERT INTO kv (namespace, key, value, version) VALUES ($1, $2, $3, 1)
               ON CONFLICT (namespace, key) DO NOTHING RETURNING version`,
              [namespace, key, value],
            )
          : await this.#query<{ version: number }>(
              'putIfVersion',
              `UPDATE kv SET value = $3, version = version + 1
               WHERE namespace = $1 AND key = $2 AND version = $4 RETURNING version`,
              [namespace, key, value, expected],
            )
      return rows[0]?.version ?? null
    })
  }

  allocate(namespace: string, key: string, count: number): Promise<number> {
    return this.#write(namespace, async () => {
      // The counter is stored as decimal text, as the other engines store it.
      const { rows } = await this.#query<{ start: number }>(
        'allocate',
        `INSERT INTO kv (namespace, key, value, version) VALUES ($1, $2, convert_to($3::bigint::text, 'UTF8'), 1)
         ON CONFLICT (namespace, key) DO UPDATE
           SET value = convert_to((coalesce(convert_from(kv.value, 'UTF8')::bigint, 0) + $3::bigint)::text, 'UTF8'),
               version = kv.version + 1
         RETURNING convert_from(value, 'UTF8')::bigint - $3::bigint AS start`,
        [namespace, key, count],
      )
      const start = rows[0]?.start
      if (start === undefined) throw ioError(new Error('no row returned'), 'allocate')
      return start
    })
  }

  /** Runs a write after the earlier writes of its namespace. */
  #write<T>(namespace: string, task: () => Promise<T>): Promise<T> {
    this.#checkOpen()
    let entry = this.#queues.get(namespace)
    if (entry === undefined) {
      entry = { queue: new SerialQueue(), pending: 0 }
      this.#queues.set(namespace, entry)
    }
    const slot = entry
    slot.pending++
    return slot.queue.run(task).finally(() => {
      if (--slot.pending === 0 && this.#queues.get(namespace) === slot) this.#queues.delete(namespace)
    })
  }

  /** A query; reads (`idempotent`) run again on another connection if theirs was lost. */
  async #query<R extends pg.QueryResultRow>(
    what: string,
    text: string,
    values: unknown[],
    idempotent = false,
  ): Promise<pg.QueryResult<R>> {
    this.#checkOpen()
    try {
      const result = idempotent
        ? await idempotentQuery<R>(this.#pool, { text, values })
        : await this.#pool.query<R>(text, values)
      this.#health.succeeded()
      return result
    } catch (err) {
      const failure = ioError(err, `kv ${what}`)
      this.#health.failed(failure)
      throw failure
    }
  }
}

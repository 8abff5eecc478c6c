/**
 * The postgres engine's schema, as an ordered list of migrations applied at open. A released
 * step is never edited: a change to the schema is a new step at the end. Each step runs in its
 * own transaction with its row in schema_migrations, all under one advisory lock, so brokers
 * starting together on one database apply each step exactly once.
 *
 * Portability: plain tables, bigint, bytea, jsonb, uuid and ON CONFLICT, which CockroachDB and
 * YugabyteDB also run. pg_advisory_lock is PostgreSQL's (YugabyteDB has it; CockroachDB accepts
 * and ignores it, so two brokers migrating a CockroachDB at the same instant could race).
 */
import type { PoolClient } from 'pg'

/** One schema step. */
export interface Migration {
  version: number
  name: string
  sql: string
}

/** Every schema step, oldest first. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'topics, partitions, batches, kv',
    sql: `
      CREATE TABLE topics (
        name text PRIMARY KEY,
        topic_id uuid NOT NULL UNIQUE,
        partition_count integer NOT NULL,
        configs jsonb NOT NULL DEFAULT '{}'
      );
      CREATE TABLE partitions (
        topic_id uuid NOT NULL,
        partition integer NOT NULL,
        log_start_offset bigint NOT NULL DEFAULT 0,
        high_watermark bigint NOT NULL DEFAULT 0,
        leader_epoch integer NOT NULL DEFAULT 0,
        PRIMARY KEY (topic_id, partition)
      );
      -- One row per record batch, stored as produced (offsets patched). append_time is when the
      -- batch was written (the engine's clock): retention ages batches without timestamps by it.
      CREATE TABLE batches (
        topic_id uuid NOT NULL,
        partition integer NOT NULL,
        base_offset bigint NOT NULL,
        last_offset bigint NOT NULL,
        max_timestamp bigint NOT NULL,
        append_time bigint NOT NULL,
        size integer NOT NULL,
        producer_id bigint NOT NULL,
        producer_epoch smallint NOT NULL,
        base_sequence integer NOT NULL,
        last_sequence integer NOT NULL,
        is_transactional boolean NOT NULL,
        is_control boolean NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (topic_id, partition, base_offset)
      );
      -- A null value is a deleted key whose version lives on, so a compare-and-set that read the
      -- key before the delete cannot succeed after the key is written again.
      CREATE TABLE kv (
        namespace text NOT NULL,
        key text NOT NULL,
        value bytea,
        version bigint NOT NULL,
        PRIMARY KEY (namespace, key)
      );
    `,
  },
  {
    version: 2,
    name: 'cleaner checkpoint of each partition',
    sql: `
      -- The log cleaner's checkpoint (postgres/compaction.ts): offsets below cleaner_offset were
      -- cleaned by an earlier pass; cleaner_horizon is the earliest delete horizon (KIP-534) the
      -- last pass wrote into a batch, null when none. Written in the same transaction as the
      -- pass's last rewrite, with the leader epoch checked.
      ALTER TABLE partitions ADD COLUMN cleaner_offset bigint NOT NULL DEFAULT 0;
      ALTER TABLE partitions ADD COLUMN cleaner_horizon bigint;
    `,
  },
  {
    version: 3,
    name: 'partitions.commit_fence',
    sql: `
      -- A commit writes a partition only where the fence is the one the leader read. A leader that
      -- lost the answer to a commit raises it before asking whether the commit landed: an attempt
      -- of that commit still on its way (a lost connection's bytes, a backend not yet done) can
      -- then never land after the answer, and one that landed before shows in the high watermark.
      ALTER TABLE partitions ADD COLUMN commit_fence bigint NOT NULL DEFAULT 0;
    `,
  },
]

/** Arbitrary constant naming the migration lock among the database's advisory locks. */
const MIGRATION_LOCK = 7_361_927_101

/** Applies the missing migrations on `client`; resolves the versions it applied. */
export async function migrate(client: PoolClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
  try {
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations')
    const done = new Set(rows.map((r) => Number(r.version)))
    const applied: number[] = []
    for (const step of migrations) {
      if (done.has(step.version)) continue
      await client.query('BEGIN')
      try {
        await client.query(step.sql)
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [step.version, step.name])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      }
      applied.push(step.version)
    }
    return applied
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {})
  }
}

/**
 * The group commit's statement (group-commit.ts) and how it travels. One statement is one
 * transaction: it moves each partition's high watermark only where the partition's stored leader
 * epoch, high watermark and commit fence are the ones the leader assigned offsets from, and
 * inserts the batches of exactly those partitions; the batches' bytes travel as one binary
 * parameter that the rows slice.
 *
 * That parameter is the appends' buffers one after another, written to the connection's socket
 * as they are: the Bind message is built around them (its other parameters as text, as
 * node-postgres would send them) instead of by node-postgres, which would copy every byte into a
 * buffer of its own first (and this engine would have concatenated them before that), work and
 * garbage that the main thread pays for at hundreds of MB/s.
 */
import pg from 'pg'
import type { AppendInput } from '../types.ts'

/** Name of the prepared statement, on each connection that ran it. */
export const COMMIT_STATEMENT = 'samsa-commit'

const COMMIT_SQL = `
WITH v AS (
  SELECT * FROM unnest($1::int4[], $2::uuid[], $3::int4[], $4::int8[], $5::int8[], $6::int4[], $21::int8[])
    AS v(idx, topic_id, partition, old_hw, new_hw, epoch, fence)
),
upd AS (
  UPDATE partitions p SET high_watermark = v.new_hw
  FROM v
  WHERE p.topic_id = v.topic_id AND p.partition = v.partition
    AND p.leader_epoch = v.epoch AND p.high_watermark = v.old_hw AND p.commit_fence = v.fence
  RETURNING v.idx
),
ins AS (
  INSERT INTO batches (topic_id, partition, base_offset, last_offset, max_timestamp, append_time, size,
    producer_id, producer_epoch, base_sequence, last_sequence, is_transactional, is_control, data)
  SELECT v.topic_id, v.partition, b.base_offset, b.last_offset, b.max_timestamp, $7::int8, b.size,
    b.producer_id, b.producer_epoch, b.base_sequence, b.last_sequence, b.is_transactional, b.is_control,
    substring($8::bytea FROM b.pos FOR b.size)
  FROM unnest($9::int4[], $10::int8[], $11::int8[], $12::int8[], $13::int4[], $14::int8[], $15::int2[],
      $16::int4[], $17::int4[], $18::bool[], $19::bool[], $20::int4[])
    AS b(idx, base_offset, last_offset, max_timestamp, size, producer_id, producer_epoch,
      base_sequence, last_sequence, is_transactional, is_control, pos)
  JOIN upd ON upd.idx = b.idx
  JOIN v ON v.idx = b.idx
  RETURNING 1
)
SELECT v.idx, upd.idx IS NOT NULL AS ok, p.leader_epoch, p.high_watermark
FROM v
LEFT JOIN upd ON upd.idx = v.idx
LEFT JOIN partitions p ON p.topic_id = v.topic_id AND p.partition = v.partition
`

/** The statement's answer for one partition (idx: its place in the commit). */
export interface CommitRow {
  idx: number
  ok: boolean
  leader_epoch: number | null
  high_watermark: number | null
}

/** One partition's share of a commit, as the statement needs it. */
export interface CommitPart {
  state: { topicId: string; partition: number }
  epoch: number
  fence: number
  oldHighWatermark: number
  newHighWatermark: number
  appends: readonly { input: AppendInput }[]
}

/** The parameter that carries the bytes ($8, the eighth of 21). */
const BLOB_PARAM = 7
const PARAMS = 21

/** A Postgres array literal of numbers or uuids (no element needs quoting). */
function list(values: readonly (number | string)[]): string {
  return `{${values.join(',')}}`
}

function bools(values: readonly boolean[]): string {
  return `{${values.map((b) => (b ? 't' : 'f')).join(',')}}`
}

/** The text parameters around the bytes, and the buffers the bytes are made of. */
function parameters(partitions: readonly CommitPart[], now: number): { text: string[]; chunks: Buffer[] } {
  const v = {
    idx: [] as number[],
    topicId: [] as string[],
    partition: [] as number[],
    oldHw: [] as number[],
    newHw: [] as number[],
    epoch: [] as number[],
    fence: [] as number[],
  }
  const b = {
    idx: [] as number[],
    base: [] as number[],
    last: [] as number[],
    maxTs: [] as number[],
    size: [] as number[],
    pid: [] as number[],
    pepoch: [] as number[],
    bseq: [] as number[],
    lseq: [] as number[],
    txn: [] as boolean[],
    control: [] as boolean[],
    pos: [] as number[],
  }
  const chunks: Buffer[] = []
  let blobLength = 0
  partitions.forEach((c, idx) => {
    v.idx.push(idx)
    v.topicId.push(c.state.topicId)
    v.partition.push(c.state.partition)
    v.oldHw.push(c.oldHighWatermark)
    v.newHw.push(c.newHighWatermark)
    v.epoch.push(c.epoch)
    v.fence.push(c.fence)
    for (const { input } of c.appends) {
      for (const info of input.batches) {
        b.idx.push(idx)
        b.base.push(info.baseOffset)
        b.last.push(info.baseOffset + info.lastOffsetDelta)
        b.maxTs.push(info.maxTimestamp)
        b.size.push(info.size)
        b.pid.push(info.producerId)
        b.pepoch.push(info.producerEpoch)
        b.bseq.push(info.baseSequence)
        // Sequences wrap at 2^31 as Kafka's do.
        b.lseq.push(info.baseSequence < 0 ? -1 : (info.baseSequence + info.lastOffsetDelta) % 0x80000000)
        b.txn.push(info.isTransactional)
        b.control.push(info.isControl)
        // substring() counts from 1.
        b.pos.push(blobLength + info.position + 1)
      }
      chunks.push(input.data)
      blobLength += input.data.length
    }
  })
  const text = [
    list(v.idx),
    list(v.topicId),
    list(v.partition),
    list(v.oldHw),
    list(v.newHw),
    list(v.epoch),
    String(now),
    '', // the bytes
    list(b.idx),
    list(b.base),
    list(b.last),
    list(b.maxTs),
    list(b.size),
    list(b.pid),
    list(b.pepoch),
    list(b.bseq),
    list(b.lseq),
    bools(b.txn),
    bools(b.control),
    list(b.pos),
    list(v.fence),
  ]
  return { text, chunks }
}

/**
 * The Bind message of the commit statement: what precedes the bytes, the bytes (the appends'
 * own buffers), what follows them.
 */
function bindMessage(partitions: readonly CommitPart[], now: number): Buffer[] {
  const { text, chunks } = parameters(partitions, now)
  const blobLength = chunks.reduce((n, c) => n + c.length, 0)
  const encoded = text.map((t) => Buffer.from(t, 'utf8'))
  const name = Buffer.from(`${COMMIT_STATEMENT}\0`, 'latin1')
  // Portal name, statement name, format codes, parameter count.
  let headLength = 1 + name.length + 2 + 2 * PARAMS + 2
  let tailLength = 2 + 2 // one result format code: text
  encoded.forEach((e, i) => {
    if (i < BLOB_PARAM) headLength += 4 + e.length
    else if (i > BLOB_PARAM) tailLength += 4 + e.length
  })
  headLength += 4 // the bytes' length
  const head = Buffer.allocUnsafe(1 + 4 + headLength)
  let p = head.writeUInt8(0x42, 0) // 'B'
  p = head.writeInt32BE(4 + headLength + blobLength + tailLength, p)
  p = head.writeUInt8(0, p) // unnamed portal
  p += name.copy(head, p)
  p = head.writeInt16BE(PARAMS, p)
  for (let i = 0; i < PARAMS; i++) p = head.writeInt16BE(i === BLOB_PARAM ? 1 : 0, p)
  p = head.writeInt16BE(PARAMS, p)
  for (let i = 0; i < BLOB_PARAM; i++) {
    const e = encoded[i] as Buffer
    p = head.writeInt32BE(e.length, p)
    p += e.copy(head, p)
  }
  head.writeInt32BE(blobLength, p)
  const tail = Buffer.allocUnsafe(tailLength)
  let q = 0
  for (let i = BLOB_PARAM + 1; i < PARAMS; i++) {
    const e = encoded[i] as Buffer
    q = tail.writeInt32BE(e.length, q)
    q += e.copy(tail, q)
  }
  q = tail.writeInt16BE(1, q)
  tail.writeInt16BE(0, q)
  return [head, ...chunks, tail]
}

/** What a Query does on the wire that its typings leave out. */
interface QueryInternals {
  hasBeenParsed(connection: pg.Connection): boolean
}

interface ConnectionInternals {
  submittedNamedStatements: Record<string, string>
}

/**
 * The commit statement as a node-postgres query (pool.query takes it; its result is a normal
 * result): Parse on a connection that has not prepared it yet, then the Bind built above,
 * Describe, Execute and Sync, written while the socket is corked (node-postgres's submit), so
 * they leave in one writev.
 */
class CommitQuery extends pg.Query<CommitRow> {
  readonly #bind: Buffer[]

  constructor(bind: Buffer[]) {
    super({ name: COMMIT_STATEMENT, text: COMMIT_SQL })
    this.#bind = bind
  }

  /** Called by Query.submit in place of its own. */
  prepare(connection: pg.Connection): void {
    if (!(this as unknown as QueryInternals).hasBeenParsed(connection)) {
      connection.parse({ name: COMMIT_STATEMENT, text: COMMIT_SQL, types: [] }, false)
      ;(connection as unknown as ConnectionInternals).submittedNamedStatements[COMMIT_STATEMENT] = COMMIT_SQL
    }
    for (const chunk of this.#bind) connection.stream.write(chunk)
    connection.describe({ type: 'P', name: '' }, false)
    connection.execute(null, false)
    connection.sync()
  }
}

type Callback = (err: Error | undefined, result: pg.QueryResult<CommitRow>) => void
/** pool.query and client.query with a Submittable and a callback (their typings omit that form). */
type SubmitQuery = (query: pg.Submittable, values: undefined, callback: Callback) => void

/**
 * The commit statement for `partitions`: run() sends it on a pooled connection (or a client),
 * again on each call.
 */
export function commitStatement(
  partitions: readonly CommitPart[],
  now: number,
): { run: (on: pg.Pool | pg.ClientBase) => Promise<CommitRow[]> } {
  const bind = bindMessage(partitions, now)
  return {
    run: (on) =>
      new Promise((resolve, reject) => {
        ;(on.query as unknown as SubmitQuery).call(on, new CommitQuery(bind), undefined, (err, result) =>
          err === undefined || err === null ? resolve(result.rows) : reject(err),
        )
      }),
  }
}

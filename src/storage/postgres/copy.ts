/**
 * PostgreSQL's COPY through node-postgres, for bytes that should travel as they are:
 * - CopyOut, `COPY (SELECT ...) TO STDOUT (FORMAT binary)`: node-postgres reads bytea columns as
 *   hex text (twice the bytes, made by the server and decoded on the main thread), and its
 *   binary result mode decodes every field as UTF-8; a binary COPY sends each field's bytes as
 *   they are stored. The server sends one CopyData message per row (the file header before the
 *   first row, the trailer alone), and each field is copied once out of the protocol buffer.
 * - CopyIn, `COPY ... FROM STDIN`: the whole input is written when the server asks for it (the
 *   benchmark's raw rate).
 *
 * COPY takes no parameters: statements put their values in the text (copyLiteral).
 */
import type pg from 'pg'
import { retryOnLostConnection } from './db.ts'

/** One row of a binary COPY: each field's bytes, null for SQL NULL. */
export type CopyRow = (Buffer | null)[]

/** The binary COPY file header's signature (then flags and the header extension's length). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')

/** COPY (query) TO STDOUT (FORMAT binary) as a node-postgres query: `done` resolves the rows. */
export class CopyOut implements pg.Submittable {
  readonly done: Promise<CopyRow[]>
  /** Set by client.query (and so pool.query) when given a callback: called once the query ends. */
  callback: ((err: unknown) => void) | undefined
  readonly #text: string
  readonly #rows: CopyRow[] = []
  #headerSeen = false
  #resolve: (rows: CopyRow[]) => void = () => {}
  #reject: (err: unknown) => void = () => {}
  #error: unknown

  /** `text`: the whole COPY statement. */
  constructor(text: string) {
    this.#text = text
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // A caller that stops waiting (a failed retry) must not leave an unhandled rejection.
    this.done.catch(() => {})
  }

  submit(connection: pg.Connection): void {
    connection.query(this.#text)
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    if (this.#error !== undefined) return
    try {
      this.#parse(msg.chunk)
    } catch (err) {
      this.#error = err
    }
  }

  /** Whole rows, after the header in the first message. */
  #parse(chunk: Buffer): void {
    let p = 0
    if (!this.#headerSeen) {
      if (chunk.length < 19 || !chunk.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
        throw new Error('COPY output without a binary header')
      }
      this.#headerSeen = true
      p = 19 + chunk.readInt32BE(15)
    }
    while (p < chunk.length) {
      const fields = chunk.readInt16BE(p)
      p += 2
      if (fields === -1) return
      const row: CopyRow = new Array(fields)
      for (let i = 0; i < fields; i++) {
        const length = chunk.readInt32BE(p)
        p += 4
        if (length < 0) {
          row[i] = null
          continue
        }
        if (p + length > chunk.length) throw new Error('a COPY row split across messages')
        // The protocol buffer is reused for later messages: the field is copied out of it.
        row[i] = Buffer.from(chunk.subarray(p, p + length))
        p += length
      }
      this.#rows.push(row)
    }
  }

  handleCommandComplete(): void {}

  handleError(err: unknown): void {
    this.#error = err
    this.#reject(err)
    this.#ended(err)
  }

  handleReadyForQuery(): void {
    if (this.#error === undefined) this.#resolve(this.#rows)
    else this.#reject(this.#error)
    this.#ended(this.#error)
  }

  #ended(err: unknown): void {
    const callback = this.callback
    this.callback = undefined
    callback?.(err)
  }
}

interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void
  endCopyFrom(): void
}

/** COPY ... FROM STDIN as a node-postgres query: the whole input is sent when the server asks for it. */
export class CopyIn implements pg.Submittable {
  readonly done: Promise<void>
  readonly #text: string
  readonly #chunks: Buffer[]
  #resolve: () => void = () => {}
  #reject: (err: unknown) => void = () => {}
  #error: unknown

  constructor(text: string, chunks: Buffer[]) {
    this.#text = text
    this.#chunks = chunks
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  submit(connection: pg.Connection): void {
    connection.query(this.#text)
  }

  handleCopyInResponse(connection: pg.Connection & CopyConnection): void {
    for (const chunk of this.#chunks) connection.sendCopyFromChunk(chunk)
    connection.endCopyFrom()
  }

  handleCommandComplete(): void {}

  handleError(err: unknown): void {
    this.#error = err
    this.#reject(err)
  }

  handleReadyForQuery(): void {
    if (this.#error === undefined) this.#resolve()
  }
}

/** Runs a binary COPY TO on a pooled connection; resolves its rows. */
export async function copyRows(pool: pg.Pool, query: string): Promise<CopyRow[]> {
  const copy = new CopyOut(`COPY (${query}) TO STDOUT (FORMAT binary)`)
  // pool.query takes a Submittable and hands its client back when the query ends (its typings
  // omit that form); the rows come from the query itself.
  const submit = pool.query as unknown as (q: pg.Submittable, v: undefined, cb: (err: unknown) => void) => void
  await new Promise<void>((resolve, reject) => {
    submit.call(pool, copy, undefined, (err) => (err ? reject(err) : resolve()))
  })
  return copy.done
}

/**
 * The rows of `query` (a SELECT) by a binary COPY, again on another connection when one is lost:
 * for reads, which may run twice.
 */
export function selectRows(pool: pg.Pool, query: string): Promise<CopyRow[]> {
  return retryOnLostConnection(() => copyRows(pool, query))
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A value as an SQL literal, for statements without parameters: a safe integer, or a uuid. */
export function copyLiteral(value: number | string): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer literal: ${value}`)
    return String(value)
  }
  if (!UUID.test(value)) throw new Error(`not a uuid literal: ${value}`)
  return `'${value}'::uuid`
}

/** A bigint field of a binary COPY row (offsets stay below 2^53). */
export function int8Field(field: Buffer | null | undefined): number {
  if (field === null || field === undefined || field.length !== 8) throw new Error('not an int8 field')
  return Number(field.readBigInt64BE(0))
}

/** A bytea field of a binary COPY row that may not be null (a batch's bytes). */
export function bytesField(field: Buffer | null | undefined): Buffer {
  if (field === null || field === undefined) throw new Error('a null bytea field')
  return field
}

/** A boolean field of a binary COPY row. */
export function boolField(field: Buffer | null | undefined): boolean {
  if (field === null || field === undefined || field.length !== 1) throw new Error('not a boolean field')
  return field[0] !== 0
}

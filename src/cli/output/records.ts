/**
 * How `samsa consume` prints records: the value alone, one JSON object per line, the raw value
 * bytes, or a kcat-style pattern (%t topic, %p partition, %o offset, %k key, %s value, %K/%S
 * key/value length, %T timestamp, %h headers, %% a percent sign).
 */
import type { ConsumerRecord } from '../../client/fetch-records.ts'
import { UsageError } from '../common.ts'
import { encodeText, type TextEncoding, unescapeFlag } from './encoding.ts'

/** Output format names. */
export type RecordFormat = 'plain' | 'json' | 'raw'

/** Validates a --format value. */
export function parseFormat(value: string): RecordFormat {
  if (value === 'plain' || value === 'json' || value === 'raw') return value
  throw new UsageError(`unknown format "${value}" (use plain, json or raw, or --pattern)`)
}

/** Writes records to a stream in the chosen format. */
export class RecordPrinter {
  readonly #format: RecordFormat
  readonly #pattern: string | undefined
  readonly #encoding: TextEncoding
  readonly #delimiter: Buffer

  constructor(options: { format: RecordFormat; pattern?: string; encoding: TextEncoding; delimiter: string }) {
    this.#format = options.format
    this.#pattern = options.pattern === undefined ? undefined : unescapeFlag(options.pattern)
    this.#encoding = options.encoding
    this.#delimiter = Buffer.from(unescapeFlag(options.delimiter))
    if (this.#pattern !== undefined) {
      const bad = /%([^tpokKsSTh%])/.exec(this.#pattern)
      if (bad) throw new UsageError(`unknown pattern token %${bad[1]} (use %t %p %o %k %s %K %S %T %h %%)`)
    }
  }

  /** The bytes to write for one record. */
  render(r: ConsumerRecord): Buffer {
    if (this.#pattern !== undefined) return Buffer.from(this.#renderPattern(r, this.#pattern))
    if (this.#format === 'raw') return Buffer.concat([r.value ?? Buffer.alloc(0), this.#delimiter])
    if (this.#format === 'json') return Buffer.concat([Buffer.from(JSON.stringify(this.toJson(r))), this.#delimiter])
    return Buffer.concat([Buffer.from(r.value === null ? '' : this.#text(r.value)), this.#delimiter])
  }

  /** A record as a JSON-ready object. */
  toJson(r: ConsumerRecord): Record<string, unknown> {
    return {
      topic: r.topic,
      partition: r.partition,
      offset: Number(r.offset),
      timestamp: Number(r.timestamp),
      timestampType: r.timestampType === 1 ? 'LogAppendTime' : 'CreateTime',
      key: r.key === null ? null : this.#text(r.key),
      value: r.value === null ? null : this.#text(r.value),
      // An ordered list: a key may repeat, as Kafka allows.
      headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : this.#text(h.value) })),
    }
  }

  #text(b: Buffer): string {
    return encodeText(b, this.#encoding)
  }

  #renderPattern(r: ConsumerRecord, pattern: string): string {
    return pattern.replace(/%([tpokKsSTh%])/g, (_, c: string) => {
      switch (c) {
        case 't':
          return r.topic
        case 'p':
          return String(r.partition)
        case 'o':
          return String(r.offset)
        case 'k':
          return r.key === null ? '' : this.#text(r.key)
        case 's':
          return r.value === null ? '' : this.#text(r.value)
        case 'K':
          return String(r.key === null ? -1 : r.key.length)
        case 'S':
          return String(r.value === null ? -1 : r.value.length)
        case 'T':
          return String(r.timestamp)
        case 'h':
          return r.headers.map((h) => `${h.key}=${h.value === null ? '' : this.#text(h.value)}`).join(',')
        default:
          return '%'
      }
    })
  }
}

/**
 * How `samsa consume` prints records: the value alone, one JSON object per line, the raw value
 * bytes, or a kcat-style pattern (%t topic, %p partition, %o offset, %k key, %s value, %K/%S
 * key/value length, %T timestamp in ms, %d timestamp as a date, %h headers, %% a percent sign).
 */
import type { ConsumerRecord } from '../../client/fetch-records.ts'
import { UsageError } from '../common.ts'
import { encodeText, type TextEncoding, unescapeFlag } from './encoding.ts'

/** Output format names. */
export type RecordFormat = 'plain' | 'json' | 'raw'

/** How %d prints a timestamp. */
export type DateFormat = 'iso' | 'local' | 'unix' | 'ms'

const DATE_FORMATS: readonly DateFormat[] = ['iso', 'local', 'unix', 'ms']

/** Validates a --date-format value. */
export function parseDateFormat(value: string): DateFormat {
  if ((DATE_FORMATS as readonly string[]).includes(value)) return value as DateFormat
  throw new UsageError(`unknown date format "${value}" (use ${DATE_FORMATS.join(', ')})`)
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/**
 * A timestamp in milliseconds as text: ISO 8601 in UTC (`2024-05-01T12:00:00.000Z`), local time
 * with its offset (`2024-05-01 14:00:00.000 +02:00`), seconds (`1714564800.000`) or milliseconds.
 */
export function formatDate(ms: bigint, format: DateFormat): string {
  if (format === 'ms') return String(ms)
  const n = Number(ms)
  if (format === 'unix') return (n / 1000).toFixed(3)
  const d = new Date(n)
  if (Number.isNaN(d.getTime()) || n < 0) return String(ms)
  if (format === 'iso') return d.toISOString()
  const offset = -d.getTimezoneOffset()
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)} ${zone}`
}

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
  readonly #dateFormat: DateFormat

  constructor(options: {
    format: RecordFormat
    pattern?: string
    encoding: TextEncoding
    delimiter: string
    dateFormat?: DateFormat
  }) {
    this.#format = options.format
    this.#dateFormat = options.dateFormat ?? 'iso'
    this.#pattern = options.pattern === undefined ? undefined : unescapeFlag(options.pattern)
    this.#encoding = options.encoding
    this.#delimiter = Buffer.from(unescapeFlag(options.delimiter))
    if (this.#pattern !== undefined) {
      const bad = /%([^tpokKsSTdh%])/.exec(this.#pattern)
      if (bad) throw new UsageError(`unknown pattern token %${bad[1]} (use %t %p %o %k %s %K %S %T %d %h %%)`)
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
    return pattern.replace(/%([tpokKsSTdh%])/g, (_, c: string) => {
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
        case 'd':
          return formatDate(r.timestamp, this.#dateFormat)
        case 'h':
          return r.headers.map((h) => `${h.key}=${h.value === null ? '' : this.#text(h.value)}`).join(',')
        default:
          return '%'
      }
    })
  }
}

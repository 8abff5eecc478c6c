/**
 * How `samsa produce` reads records other than one value per line: a pattern with the tokens
 * `samsa consume -F` prints (%k key, %s value, %h headers, %p partition, %T timestamp in ms, as
 * rpk's and kcat's input formats), or one JSON object per line in the shape `consume --format
 * json` prints, so the output of one can be the input of the other.
 */
import type { RecordHeader } from '../protocol/records/record-codec.ts'
import { UsageError } from './common.ts'
import { decodeText, type TextEncoding } from './output/encoding.ts'

/** What one input record gives (null key/value: a null key or a tombstone). */
export interface ParsedRecord {
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[] | undefined
  partition: number | undefined
  timestamp: number | undefined
}

const TOKENS = 'kshpT'

/**
 * A compiled input pattern. Each token takes the text up to the literal that follows it; the
 * pattern's trailing literal (usually \n) ends a record.
 */
export interface InputPattern {
  /** The literal that ends each record ('' when the pattern ends with a token: then --delimiter). */
  terminator: string
  tokens: string[]
  regex: RegExp
}

/** Compiles a pattern such as `%k\t%h\t%s\n`. */
export function compileInputPattern(pattern: string): InputPattern {
  const parts = pattern.split(/(%.)/s).filter((p) => p !== '')
  const tokens: string[] = []
  let source = '^'
  let terminator = ''
  parts.forEach((part, i) => {
    if (part.startsWith('%') && part.length === 2 && part !== '%%') {
      const t = part.slice(1)
      if (!TOKENS.includes(t)) {
        throw new UsageError(`unknown input pattern token ${part} (use %k %s %h %p %T %%)`)
      }
      if (tokens.includes(t)) throw new UsageError(`input pattern token ${part} appears twice`)
      if (i > 0 && (parts[i - 1] as string).startsWith('%') && parts[i - 1] !== '%%') {
        throw new UsageError(`input pattern tokens ${parts[i - 1]}${part} need a separator between them`)
      }
      tokens.push(t)
      source += '([\\s\\S]*?)'
    } else {
      const literal = part === '%%' ? '%' : part
      if (i === parts.length - 1) terminator = literal
      else source += literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    }
  })
  if (tokens.length === 0) throw new UsageError('the input pattern has no token (use %k %s %h %p %T)')
  return { terminator, tokens, regex: new RegExp(`${source}$`) }
}

/** Parses `k=v,k=v` (the form `consume -F %h` prints) into headers, in order. */
export function parseHeaderList(text: string): RecordHeader[] {
  if (text === '') return []
  return text.split(',').map((pair) => {
    const i = pair.indexOf('=')
    if (i <= 0) throw new UsageError(`invalid header "${pair}" in the input (expected key=value)`)
    return { key: pair.slice(0, i), value: Buffer.from(pair.slice(i + 1), 'latin1') }
  })
}

function parseNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`invalid ${what} "${text}" in the input (a whole number)`)
  return Number(text)
}

/** Reads one record with a compiled pattern (bytes kept as they are, latin1 maps each byte to one char). */
export function parseWithPattern(record: Buffer, pattern: InputPattern, encoding: TextEncoding): ParsedRecord {
  const match = pattern.regex.exec(record.toString('latin1'))
  if (!match) {
    throw new UsageError(`input does not match the pattern: "${record.toString().slice(0, 60)}"`)
  }
  const out: ParsedRecord = { key: null, value: null, headers: undefined, partition: undefined, timestamp: undefined }
  pattern.tokens.forEach((t, i) => {
    const text = match[i + 1] as string
    const bytes = (): Buffer => decodeText(Buffer.from(text, 'latin1'), encoding)
    if (t === 'k') out.key = bytes()
    else if (t === 's') out.value = bytes()
    else if (t === 'h') out.headers = parseHeaderList(text)
    else if (t === 'p') out.partition = parseNumber(text, 'partition')
    else out.timestamp = parseNumber(text, 'timestamp')
  })
  return out
}

function textField(v: unknown, what: string, encoding: TextEncoding): Buffer | null {
  if (v === null || v === undefined) return null
  if (typeof v !== 'string') throw new UsageError(`invalid ${what} in the JSON input (a string or null)`)
  return decodeText(Buffer.from(v), encoding)
}

/**
 * Reads one JSON object: `{key, value, headers: [{key, value}], timestamp}`, every field
 * optional. The other fields consume prints (topic, partition, offset) are ignored: the key
 * places the record, as in any produce, so a copy to a topic with fewer partitions works.
 */
export function parseJsonRecord(line: Buffer, encoding: TextEncoding): ParsedRecord {
  let doc: unknown
  try {
    doc = JSON.parse(line.toString())
  } catch {
    throw new UsageError(`invalid JSON input: "${line.toString().slice(0, 60)}"`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError(`invalid JSON input (one object per line): "${line.toString().slice(0, 60)}"`)
  }
  const o = doc as Record<string, unknown>
  let headers: RecordHeader[] | undefined
  if (o.headers !== undefined) {
    if (!Array.isArray(o.headers)) throw new UsageError('invalid headers in the JSON input (a list of {key, value})')
    headers = o.headers.map((h: unknown) => {
      const { key, value } = (h ?? {}) as { key?: unknown; value?: unknown }
      if (typeof key !== 'string') throw new UsageError('invalid header in the JSON input (a string key)')
      return { key, value: textField(value, 'header value', encoding) }
    })
  }
  const int = (v: unknown, what: string): number | undefined => {
    if (v === undefined || v === null) return undefined
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw new UsageError(`invalid ${what} in the JSON input`)
    return v
  }
  return {
    key: textField(o.key, 'key', encoding),
    value: textField(o.value, 'value', encoding),
    headers,
    partition: undefined,
    timestamp: int(o.timestamp, 'timestamp'),
  }
}

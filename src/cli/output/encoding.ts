/** Text encodings for keys and values on the command line: utf8, base64 or hex. */
import { UsageError } from '../common.ts'

/** How bytes are written as text. */
export type TextEncoding = 'utf8' | 'base64' | 'hex'

/** Validates an --encoding value. */
export function parseEncoding(value: string): TextEncoding {
  if (value === 'utf8' || value === 'base64' || value === 'hex') return value
  if (value === 'utf-8') return 'utf8'
  throw new UsageError(`unknown encoding "${value}" (use utf8, base64 or hex)`)
}

/** Decodes text given on the command line into bytes. */
export function decodeText(text: Buffer, encoding: TextEncoding): Buffer {
  if (encoding === 'utf8') return text
  const s = text.toString('latin1').trim()
  if (encoding === 'hex' && !/^([0-9a-fA-F]{2})*$/.test(s))
    throw new UsageError(`invalid hex input "${s.slice(0, 40)}"`)
  if (encoding === 'base64' && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s))
    throw new UsageError(`invalid base64 input "${s.slice(0, 40)}"`)
  return Buffer.from(s, encoding)
}

/** Encodes bytes for display. */
export function encodeText(bytes: Buffer, encoding: TextEncoding): string {
  return bytes.toString(encoding)
}

/** Interprets backslash escapes of a delimiter or format flag (\n, \t, \r, \0, \\). */
export function unescapeFlag(s: string): string {
  return s.replace(
    /\\([ntr0\\])/g,
    (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\' })[c] as string,
  )
}

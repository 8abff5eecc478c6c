/** Kafka's all-zero UUID, used as "no topic id". */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

const HEX: string[] = []
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'))

/** Formats 16 bytes as the canonical 8-4-4-4-12 hex form. */
export function uuidFromBytes(buf: Uint8Array, offset: number): string {
  let s = ''
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-'
    s += HEX[buf[offset + i] as number]
  }
  return s
}

/** Writes a UUID in canonical form as 16 bytes; throws on a malformed string (a programming error). */
export function uuidToBytes(uuid: string, buf: Uint8Array, offset: number): void {
  const hex = uuid.replaceAll('-', '')
  if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) throw new TypeError(`invalid uuid: ${uuid}`)
  for (let i = 0; i < 16; i++) buf[offset + i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
}

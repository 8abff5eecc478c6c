/** A listener address parsed from Kafka's `listeners` / `advertised.listeners` syntax. */
export interface ListenerAddress {
  protocol: string
  /** Empty means every interface. */
  host: string
  port: number
}

/** Parses `PLAINTEXT://host:port` (IPv6 hosts in brackets); only PLAINTEXT is served so far. */
export function parseListener(value: string): ListenerAddress {
  const m = /^([A-Za-z_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(value.trim())
  if (!m) throw new Error(`invalid listener "${value}": expected PROTOCOL://host:port`)
  const protocol = (m[1] as string).toUpperCase()
  if (protocol !== 'PLAINTEXT') throw new Error(`listener protocol ${protocol} is not supported yet (only PLAINTEXT)`)
  const host = (m[2] as string).replace(/^\[|\]$/g, '')
  return { protocol, host, port: Number(m[3]) }
}

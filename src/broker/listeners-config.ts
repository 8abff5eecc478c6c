/**
 * Listener addresses in Kafka's `listeners` / `advertised.listeners` syntax. Kafka's KRaft
 * server.properties lists a client listener and a controller one
 * (`PLAINTEXT://:9092,CONTROLLER://:9093` with `controller.listener.names=CONTROLLER`): samsa
 * serves the first client listener whose security protocol is PLAINTEXT and binds no other.
 */
export interface ListenerAddress {
  /** The listener name (PLAINTEXT, CONTROLLER, EXTERNAL...), upper case. */
  name: string
  /** Its security protocol, from listener.security.protocol.map (PLAINTEXT for the one served). */
  protocol: string
  /** Empty means every interface. */
  host: string
  port: number
}

const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']

/** Parses one `NAME://host:port` (IPv6 hosts in brackets). */
function parseEntry(value: string): { name: string; host: string; port: number } {
  const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(value.trim())
  if (!m) throw new Error(`invalid listener "${value}": expected NAME://host:port`)
  const port = Number(m[3])
  if (port > 65535) throw new Error(`invalid listener "${value}": port ${port} is out of range`)
  return { name: (m[1] as string).toUpperCase(), host: (m[2] as string).replace(/^\[|\]$/g, ''), port }
}

function entries(value: string): { name: string; host: string; port: number }[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseEntry)
}

/** The HTTP port's address from http.listeners (one `http://host:port`; an empty host: every interface), if set. */
export function httpListener(value: string | undefined): { host: string; port: number } | undefined {
  const listed = entries(value ?? '')
  if (listed.length === 0) return undefined
  const [first] = listed as [{ name: string; host: string; port: number }]
  if (listed.length > 1 || first.name !== 'HTTP') {
    throw new Error(`http.listeners must be one http://host:port, got "${value}"`)
  }
  return { host: first.host, port: first.port }
}

/** listener.security.protocol.map as a map of upper-case names. */
function protocolMap(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const pair of (value ?? '').split(',')) {
    const [name, protocol] = pair.split(':').map((s) => s.trim().toUpperCase())
    if (name && protocol) out.set(name, protocol)
  }
  return out
}

/** The listener samsa serves, and the client listeners it leaves unbound (for the start log). */
export function clientListener(
  props: Readonly<Record<string, string | undefined>>,
  fallback: string,
): { listener: ListenerAddress; unserved: string[] } {
  const listed = entries(props.listeners ?? fallback)
  const controllers = new Set(
    (props['controller.listener.names'] ?? '')
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean),
  )
  const map = protocolMap(props['listener.security.protocol.map'])
  const clients = listed
    .filter((l) => !controllers.has(l.name))
    .map((l) => {
      const protocol = map.get(l.name) ?? (SECURITY_PROTOCOLS.includes(l.name) ? l.name : undefined)
      if (protocol === undefined) {
        throw new Error(
          `listener ${l.name} has no security protocol: add ${l.name}:PLAINTEXT to listener.security.protocol.map`,
        )
      }
      return { ...l, protocol }
    })
  const served = clients.find((l) => l.protocol === 'PLAINTEXT')
  if (served === undefined) {
    const what =
      clients.length === 0 ? 'only controller listeners' : clients.map((l) => `${l.name} (${l.protocol})`).join(', ')
    throw new Error(`listeners has no PLAINTEXT listener for clients (${what}); samsa serves PLAINTEXT only`)
  }
  const unserved = clients.filter((l) => l !== served).map((l) => `${l.name}://${l.host}:${l.port}`)
  return { listener: served, unserved }
}

/**
 * The address clients are told for the served listener: the advertised.listeners entry of the
 * same name, or its only entry.
 */
export function advertisedListener(
  value: string | undefined,
  name: string,
): { host: string; port: number } | undefined {
  if (!value) return undefined
  const listed = entries(value)
  return listed.find((l) => l.name === name) ?? (listed.length === 1 ? listed[0] : undefined)
}

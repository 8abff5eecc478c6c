/**
 * Listeners as Kafka configures them: `listeners` (NAME://host:port, several at once), their
 * security protocols from `listener.security.protocol.map` (Kafka's default maps each protocol's
 * own name to it), and `advertised.listeners`, the addresses clients are told per listener.
 * Kafka's KRaft server.properties also lists a controller listener
 * (`CONTROLLER://:9093` with `controller.listener.names=CONTROLLER`): samsa has no controller and
 * binds every listener but those. Misconfigurations are refused with Kafka's messages.
 */

/** The security protocols Kafka knows. */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'

export interface ListenerAddress {
  /** The listener name (PLAINTEXT, EXTERNAL, CLIENT...), upper case. */
  name: string
  protocol: SecurityProtocol
  /** Empty means every interface. */
  host: string
  port: number
}

const SECURITY_PROTOCOLS: readonly string[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']

/** Whether a listener's clients speak TLS. */
export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL'
}

/** Whether a listener's clients authenticate with SASL before anything else. */
export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL'
}

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

/** listener.security.protocol.map as upper-case names; Kafka's default maps each protocol to itself. */
function protocolMap(value: string | undefined): Map<string, SecurityProtocol> {
  const out = new Map<string, SecurityProtocol>()
  if (value === undefined) {
    for (const p of SECURITY_PROTOCOLS) out.set(p, p as SecurityProtocol)
    return out
  }
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue
    const [name, protocol] = pair.split(':').map((s) => s.trim().toUpperCase())
    if (!name || !protocol || !SECURITY_PROTOCOLS.includes(protocol)) {
      throw new Error(
        `Invalid value ${value} for configuration listener.security.protocol.map: ` +
          (protocol && name
            ? `No enum constant org.apache.kafka.common.security.auth.SecurityProtocol.${protocol}`
            : `"${pair.trim()}" is not NAME:PROTOCOL`),
      )
    }
    out.set(name, protocol as SecurityProtocol)
  }
  return out
}

/**
 * The listeners samsa binds, in the order `listeners` names them (controller listeners left
 * out), and those it leaves unbound. `fallback` stands for an unset `listeners`.
 */
export function clientListeners(
  props: Readonly<Record<string, string | undefined>>,
  fallback: string,
): ListenerAddress[] {
  const value = props.listeners ?? fallback
  const listed = entries(value)
  const names = listed.map((l) => l.name)
  if (new Set(names).size !== names.length) {
    throw new Error(`Each listener must have a different name, listeners: ${value}`)
  }
  const controllers = new Set(
    (props['controller.listener.names'] ?? '')
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean),
  )
  const map = protocolMap(props['listener.security.protocol.map'])
  for (const l of listed) {
    // Kafka takes an unmapped controller listener as PLAINTEXT only while the map is its default.
    if (map.has(l.name) || (controllers.has(l.name) && props['listener.security.protocol.map'] === undefined)) continue
    throw new Error(
      `Error creating broker listeners from '${value}': No security protocol defined for listener ${l.name}`,
    )
  }
  const clients = listed
    .filter((l) => !controllers.has(l.name))
    .map((l) => ({ ...l, protocol: map.get(l.name) as SecurityProtocol }))
  if (clients.length === 0)
    throw new Error(`listeners has no listener for clients, only controller listeners: ${value}`)
  checkAdvertised(props['advertised.listeners'], names)
  return clients
}

/** Kafka's checks of advertised.listeners against listeners. */
function checkAdvertised(value: string | undefined, listenerNames: string[]): void {
  if (!value) return
  const advertised = entries(value)
  if (!advertised.every((a) => listenerNames.includes(a.name))) {
    throw new Error(
      `advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. ` +
        `Found ${advertised.map((a) => a.name).join(',')}. ` +
        `The valid options based on the current configuration are ${listenerNames.join(',')}`,
    )
  }
  if (advertised.some((a) => a.host === '0.0.0.0')) {
    throw new Error('advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.')
  }
}

/** The address clients are told for a listener: its advertised.listeners entry, if there is one. */
export function advertisedListener(
  value: string | undefined,
  name: string,
): { host: string; port: number } | undefined {
  if (!value) return undefined
  return entries(value).find((l) => l.name === name)
}

/**
 * The listener whose address stands for the broker where one address is needed: the bootstrap
 * startBroker reports, the cluster registration other brokers read, and samsa's own connections
 * between brokers (which speak PLAINTEXT): the first PLAINTEXT listener, or the first listener.
 */
export function primaryListener(listeners: readonly ListenerAddress[]): ListenerAddress {
  return listeners.find((l) => l.protocol === 'PLAINTEXT') ?? (listeners[0] as ListenerAddress)
}

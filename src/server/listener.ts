import { createServer, type Server, type Socket } from 'node:net'
import type { Log } from '../util/logger.ts'
import { SerialQueue } from '../util/serial-queue.ts'
import { Connection, type ConnectionLimits, type Dispatcher } from './connection.ts'
import type { AdmissionOutcome, ListenerAdmission } from './connection-admission.ts'
import { ANONYMOUS } from './ssl-principal.ts'
import { TlsAcceptor, type TlsConfig } from './tls.ts'

export interface ListenerOptions extends ConnectionLimits {
  /**
   * Interfaces to bind, all on one port (the first decides it when port is 0); an empty list
   * binds every interface, IPv4 and IPv6 alike. Binding a host after the first may fail (no
   * IPv6 on the machine) without failing the listener.
   */
  hosts: string[]
  port: number
  /** The broker's and this listener's max.connections and max.connection.creation.rate. */
  admission: ListenerAdmission
  /** max.connections.per.ip: connections beyond this from one address, on any of the broker's listeners, are closed on arrival. */
  maxConnectionsPerIp?: number
  /** max.connections.per.ip.overrides: other limits for some addresses. */
  maxConnectionsPerIpOverrides?: ReadonlyMap<string, number>
  /**
   * An address's connection creation rate quota (KIP-612): the milliseconds a new connection from
   * it is held and then closed unserved, or 0 to serve it.
   */
  connectionThrottle?: (ip: string) => number
  /** SSL and SASL_SSL listeners: clients shake hands with these certificates first. */
  tls?: TlsConfig
}

/**
 * The TCP listener. An empty host binds '::' dual-stack, so clients that resolve localhost to
 * ::1 and those that resolve it to 127.0.0.1 both reach the broker; hosts without IPv6 fall back
 * to 0.0.0.0.
 */
export class Listener {
  readonly #servers: Server[] = []
  readonly #connections = new Set<Connection>()
  readonly #options: ListenerOptions
  readonly #dispatch: Dispatcher
  readonly #log: Log
  readonly #tls: TlsAcceptor | undefined
  #port = 0
  /** pause() and resume() one after the other, so that two calls never bind the port twice. */
  readonly #availability = new SerialQueue()

  private constructor(options: ListenerOptions, dispatch: Dispatcher, log: Log) {
    this.#options = options
    this.#dispatch = dispatch
    this.#log = log
    this.#tls = options.tls && new TlsAcceptor(options.tls, log, (socket, principal) => this.#open(socket, principal))
    options.admission.serveWith((socket) => this.#serve(socket))
  }

  static async start(options: ListenerOptions, dispatch: Dispatcher, log: Log): Promise<Listener> {
    const listener = new Listener(options, dispatch, log)
    try {
      await listener.#listen(options.port)
    } catch (err) {
      await listener.close()
      throw err
    }
    return listener
  }

  async #listen(port: number): Promise<void> {
    if (this.#options.hosts.length === 0) {
      // '::' accepts IPv4 too unless the machine has no IPv6 at all.
      try {
        await this.#bind('::', port)
      } catch (err) {
        if (!isAddressFamilyError(err)) throw err
        await this.#bind('0.0.0.0', port)
      }
      return
    }
    const [first, ...rest] = this.#options.hosts as [string, ...string[]]
    await this.#bind(first, port)
    for (const host of rest) {
      try {
        await this.#bind(host, this.#port)
      } catch (err) {
        this.#log.debug({ err, host }, 'could not bind an additional address')
      }
    }
  }

  /**
   * Plays a dead broker (samsa/testing): the port closes, so that clients' connection attempts
   * are refused, and open connections are reset; resume() listens on the same port again.
   */
  pause(): Promise<void> {
    return this.#availability.run(async () => {
      const servers = this.#servers.splice(0)
      for (const c of this.#connections) c.reset('broker made unavailable')
      this.#options.admission.dropWaiting()
      this.#tls?.dropConnections()
      await stopAccepting(servers)
    })
  }

  /** Listens again on the port pause() closed. */
  resume(): Promise<void> {
    return this.#availability.run(async () => {
      if (this.#servers.length === 0) await this.#listen(this.#port)
    })
  }

  async #bind(host: string, port: number): Promise<void> {
    const server = createServer({ noDelay: true })
    server.on('connection', (socket: Socket) => this.#options.admission.admit(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port, ipv6Only: false }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    if (typeof address === 'object' && address !== null) this.#port = address.port
    this.#servers.push(server)
  }

  /**
   * A socket the broker's and the listener's limits let through, checked for its address as Kafka
   * checks it: over the address's connection_creation_rate (KIP-612), it is held unserved and
   * closed after its throttle time; beyond max.connections.per.ip (or its override), closed at once.
   */
  #serve(socket: Socket): AdmissionOutcome {
    const ip = normalizeAddress(socket.remoteAddress)
    const throttleMs = this.#options.connectionThrottle?.(ip) ?? 0
    if (throttleMs > 0) {
      this.#log.debug({ remote: socket.remoteAddress, throttleMs }, 'connection throttled: connection_creation_rate')
      socket.pause()
      socket.on('error', () => {})
      setTimeout(() => socket.destroy(), throttleMs).unref()
      return 'throttled'
    }
    const admission = this.#options.admission.broker
    const fromIp = admission.connectionsFrom(ip)
    const max = this.#options.maxConnectionsPerIpOverrides?.get(ip) ?? this.#options.maxConnectionsPerIp
    if (fromIp >= (max ?? Number.POSITIVE_INFINITY)) {
      this.#log.warn({ remote: socket.remoteAddress, max }, 'connection refused: max.connections.per.ip reached')
      socket.destroy()
      return 'refused'
    }
    admission.countAddress(ip, socket)
    if (this.#tls) this.#tls.accept(socket)
    else this.#open(socket, ANONYMOUS)
    return 'open'
  }

  /** Serves a client: its TCP socket, or its TLS socket once the handshake let it in. */
  #open(socket: Socket, principal: string): void {
    const conn = new Connection(socket, this.#dispatch, this.#options, this.#log)
    conn.principal = principal
    this.#connections.add(conn)
    socket.on('close', () => this.#connections.delete(conn))
  }

  /** The bound port (useful when listening on port 0). */
  get port(): number {
    return this.#port
  }

  /** The addresses the sockets are bound to, as `host:port` (IPv6 in brackets; '::' and '0.0.0.0' are every interface). */
  get boundAddresses(): string[] {
    return this.#servers.flatMap((server) => {
      const a = server.address()
      if (typeof a !== 'object' || a === null) return []
      return [a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`]
    })
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** Bytes of responses written to the sockets but not yet sent, per connection (tests, metrics). */
  unsentResponseBytes(): number[] {
    return [...this.#connections].map((c) => c.socket.writableLength)
  }

  /** Stops accepting, lets every connection finish the requests it has read, then closes them. */
  async close(graceMs = 5000): Promise<void> {
    const closed = stopAccepting(this.#servers)
    this.#options.admission.dropWaiting()
    const idle = Promise.all([...this.#connections].map((c) => c.idle()))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([idle, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))])
    clearTimeout(timer)
    for (const c of this.#connections) c.socket.destroy()
    this.#tls?.close()
    await closed
    this.#log.debug('listener closed')
  }
}

/** An IPv4 client reaching a dual-stack socket shows up as ::ffff:a.b.c.d: count it as a.b.c.d. */
function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return ''
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

function isAddressFamilyError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL'
}

/** Closes the listening sockets; resolves once they no longer accept (open connections live on). */
function stopAccepting(servers: readonly Server[]): Promise<unknown> {
  return Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
}

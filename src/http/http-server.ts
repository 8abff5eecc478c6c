/**
 * The broker's HTTP port (http.listeners, --http-port): one fastify server that the HTTP
 * surfaces (health checks, /metrics; later the schema registry and the REST proxy) add their
 * routes to before it listens.
 */
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Service } from '../broker/services.ts'
import type { Log } from '../util/logger.ts'

/** Adds routes to the server (called once, before it listens). */
export type HttpRoutes = (app: FastifyInstance) => void

export interface HttpServerOptions {
  /** Empty: every interface (IPv6 and IPv4); 'localhost': 127.0.0.1 and ::1. */
  host: string
  /** 0 picks a free port. */
  port: number
  routes: readonly HttpRoutes[]
  log: Log
}

/** The HTTP server as a broker service; `port` and `addresses` are known once it started. */
export class HttpServer implements Service {
  readonly name = 'http'
  readonly #options: HttpServerOptions
  readonly #app: FastifyInstance

  constructor(options: HttpServerOptions) {
    this.#options = options
    // The broker logs what matters itself (fastify's per-request lines would flood the log).
    this.#app = Fastify({ logger: false, forceCloseConnections: true })
    for (const add of options.routes) add(this.#app)
  }

  async start(): Promise<void> {
    const { host, port } = this.#options
    try {
      await this.#app.listen({ host: host === '' ? '::' : host, port, ipv6Only: false })
    } catch (err) {
      // Every interface on a machine without IPv6, as the Kafka listener falls back.
      const code = (err as NodeJS.ErrnoException).code
      if (host !== '' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err
      await this.#app.listen({ host: '0.0.0.0', port })
    }
    const where = this.addresses
    const every = host === '' || host === '::' || host === '0.0.0.0'
    this.#options.log.info(
      { bound: where },
      `samsa HTTP port listening on ${every ? `*:${this.port} (every interface)` : where.join(' and ')}`,
    )
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.#bound()[0]?.port ?? 0
  }

  /** `host:port` of each bound socket (IPv6 in brackets). */
  get addresses(): string[] {
    return this.#bound().map((a) => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`))
  }

  /** fastify types addresses() loosely; a TCP server's are AddressInfo. */
  #bound(): AddressInfo[] {
    return this.#app.addresses() as AddressInfo[]
  }

  async close(): Promise<void> {
    await this.#app.close()
  }
}

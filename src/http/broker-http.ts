/**
 * The broker's HTTP port with what it serves today: health checks and /metrics. Loaded only by
 * brokers that have an HTTP port, so that the others never load fastify or prom-client.
 */
import type { BrokerCore } from '../broker/broker-core.ts'
import type { Log } from '../util/logger.ts'
import { healthRoutes, type ReadinessChecks } from './health.ts'
import { HttpServer } from './http-server.ts'
import { BrokerMetrics } from './metrics/broker-metrics.ts'

export interface BrokerHttpOptions {
  host: string
  port: number
  log: Log
  /** The conditions of /health/ready, asked at each request. */
  readiness: () => ReadinessChecks
  /** The broker's state, once its coordinators are up. */
  core: () => BrokerCore | undefined
}

/** The HTTP server (a broker service) and the metrics whose counters the request path feeds. */
export function brokerHttp(options: BrokerHttpOptions): { server: HttpServer; metrics: BrokerMetrics } {
  const metrics = new BrokerMetrics(options.core)
  const server = new HttpServer({
    host: options.host,
    port: options.port,
    log: options.log,
    routes: [healthRoutes(options.readiness), metrics.routes()],
  })
  return { server, metrics }
}

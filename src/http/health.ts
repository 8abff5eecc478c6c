/**
 * Health checks for orchestrators and load balancers: GET /health/live (the process answers)
 * and GET /health/ready (it can serve clients: storage open and working, Kafka listener
 * accepting). Both answer JSON saying why; not ready is HTTP 503.
 */
import type { HttpRoutes } from './http-server.ts'

/** One condition of readiness, with what explains it (an error, since when, addresses...). */
export interface HealthCheck {
  ok: boolean
  [detail: string]: unknown
}

/** What /health/ready reports: ready when every check is ok. */
export type ReadinessChecks = Record<string, HealthCheck>

/** The health routes; `checks` is asked at each request. */
export function healthRoutes(checks: () => ReadinessChecks): HttpRoutes {
  const startedAt = Date.now()
  return (app) => {
    app.get('/health/live', async () => ({ status: 'live', uptimeSeconds: (Date.now() - startedAt) / 1000 }))
    app.get('/health/ready', async (_request, reply) => {
      const current = checks()
      const ready = Object.values(current).every((c) => c.ok)
      reply.code(ready ? 200 : 503)
      return { status: ready ? 'ready' : 'not ready', checks: current }
    })
  }
}

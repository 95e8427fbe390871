import { collectDefaultMetrics, contentType, Registry } from '@hundredfold/metrics'
import type { Cluster } from '@hundredfold/pg'
import type { FastifyInstance } from 'fastify'

/**
 * `/metrics`: per-route latency (HDR, exposed as a summary in seconds), requests by status, database
 * pool gauges read at scrape time, and the process's own figures (CPU, memory, event-loop delay).
 * Routes are labelled by their template (`/api/v1/users/:user_id`), never by the raw URL.
 */
export function registerMetrics(app: FastifyInstance, db: Cluster): Registry {
  const registry = new Registry()
  const defaults = collectDefaultMetrics(registry)
  const duration = registry.histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route.',
    labelNames: ['method', 'route'],
  })
  const requests = registry.counter({
    name: 'http_requests_total',
    help: 'Requests answered, by route and status.',
    labelNames: ['method', 'route', 'status'],
  })
  registry.gauge({
    name: 'db_pool_sessions',
    help: 'Database sessions by host and state.',
    labelNames: ['host', 'state'],
    collect: (gauge) => {
      for (const { host, idle, inUse, waiting } of db.stats().hosts) {
        gauge.labels({ host, state: 'idle' }).set(idle)
        gauge.labels({ host, state: 'in_use' }).set(inUse)
        gauge.labels({ host, state: 'waiting' }).set(waiting)
      }
    },
  })

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    duration.labels({ method: request.method, route }).recordMs(reply.elapsedTime)
    requests.labels({ method: request.method, route, status: reply.statusCode }).inc()
    done()
  })
  app.addHook('onClose', (_app, done) => {
    defaults.stop()
    done()
  })
  app.get('/metrics', (_request, reply) => {
    reply.type(contentType).send(registry.metrics())
  })
  return registry
}

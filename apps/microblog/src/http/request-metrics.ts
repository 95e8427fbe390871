import { type BucketHistogramChild, latencyBuckets, type Registry } from '@hundredfold/metrics'
import type { FastifyInstance } from 'fastify'
import { type RequestTiming, STAGES, type Stage } from '../request-timing.js'

/** Stage bounds, seconds: `latencyBuckets` with two below it, where L1 hits and serialization fall. */
const stageBuckets = [0.0001, 0.00025, ...latencyBuckets]
const statementBuckets = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]

/** One route's series, made on first use: a route's stages are known only once requests show them. */
type RouteSeries = { [S in Stage]?: BucketHistogramChild } & { statements?: BucketHistogramChild }

/**
 * The per-request series, from one `onResponse` hook: `http_request_duration_seconds{method,route}`
 * (bucketed, with the HDR quantiles as `…_summary`) and `http_requests_total{method,route,status}`;
 * with `stages`, the `Server-Timing` stages as well: `http_stage_duration_seconds{route,stage}` (each
 * stage a request used, what its header says) and `db_statements_per_request{route}` (requests that
 * sent any). Plain bucketed histograms, not HDR ones: a dozen routes times six stages of HDR
 * histograms would hold megabytes and cost a microsecond a request; these are a few numbers each.
 */
export function registerRequestMetrics(
  app: FastifyInstance,
  registry: Registry,
  options: { stages: boolean },
): void {
  const requests = registry.counter({
    name: 'http_requests_total',
    help: 'Requests answered, by route and status.',
    labelNames: ['method', 'route', 'status'],
  })
  const duration = registry.histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route.',
    labelNames: ['method', 'route'],
    buckets: true,
  })
  const stages = options.stages ? stageRecorder(registry) : undefined

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    duration.labels({ method: request.method, route }).recordMs(reply.elapsedTime)
    requests.labels({ method: request.method, route, status: reply.statusCode }).inc()
    const timing = request.ctx?.timing
    if (stages && timing) stages(route, timing)
    done()
  })
}

/** The stage families, and what records one request's stages into them. */
function stageRecorder(registry: Registry): (route: string, timing: RequestTiming) => void {
  const durations = registry.bucketHistogram({
    name: 'http_stage_duration_seconds',
    help: "Time in each stage of a request (Server-Timing's entries), by route: cache, timeline, db, queue, serialize, total.",
    labelNames: ['route', 'stage'],
    buckets: stageBuckets,
  })
  const statements = registry.bucketHistogram({
    name: 'db_statements_per_request',
    help: 'Database statements a request sent (BEGIN and COMMIT included), by route; requests that sent none are not counted.',
    labelNames: ['route'],
    buckets: statementBuckets,
  })
  const routes = new Map<string, RouteSeries>()
  return (route, timing) => {
    let series = routes.get(route)
    if (!series) {
      series = {}
      routes.set(route, series)
    }
    for (const stage of STAGES) {
      const ms = timing.stageMs(stage)
      if (ms < 0) continue
      series[stage] ??= durations.labels({ route, stage })
      series[stage].observe(ms / 1000)
    }
    if (timing.statements > 0) {
      series.statements ??= statements.labels({ route })
      series.statements.observe(timing.statements)
    }
  }
}

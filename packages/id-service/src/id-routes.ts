import { decode, IdError, type Snowflake, type WorkerLease } from '@hundredfold/id'
import { contentType as METRICS_CONTENT_TYPE, type Registry } from '@hundredfold/metrics'
import type { IdServiceLogger } from './options.js'
import { problem, problemFor } from './problem.js'
import type { RequestHandler, ServiceResponse } from './service-response.js'

/** What the routes need: the generator, its lease, where metrics go, the largest batch, who hears of bugs. */
export interface IdRoutesOptions {
  generator: Snowflake
  lease: WorkerLease | undefined
  registry: Registry
  maxCount: number
  logger?: IdServiceLogger | undefined
}

const JSON_TYPE = 'application/json; charset=utf-8'
const COUNT = /^[1-9][0-9]{0,8}$/
const ALLOW = Object.freeze({ Allow: 'GET, HEAD' })
const HEALTHY: ServiceResponse = Object.freeze({
  status: 200,
  contentType: JSON_TYPE,
  body: '{"status":"ok"}',
})

/**
 * The ID service's routes as one function from (method, request-target) to a response, independent of the
 * HTTP server that frames it:
 *
 * - `GET /ids?count=n` (1 ≤ n ≤ maxCount, default 1) → `{ "ids": ["…", …] }`, decimal strings, increasing;
 * - `GET /ids/<id>` → `{ id, timestamp, date, workerId, sequence }`;
 * - `GET /healthz`, `GET /readyz` (503 `E_NOT_READY` once the lease is not valid), `GET /metrics`.
 *
 * `HEAD` is answered like `GET`; other methods on these paths are 405, other paths 404.
 *
 * @example
 * const handle = idRoutes({ generator, lease: undefined, registry, maxCount: 10_000 })
 * handle('GET', '/ids?count=2').body // '{"ids":["187…","187…"]}'
 */
export function idRoutes(options: IdRoutesOptions): RequestHandler {
  const { generator, lease, registry, maxCount, logger } = options
  const metrics = serviceMetrics(registry, generator, lease)
  /** An `IdError` is an answer (a refusal, a bad id); anything else is a bug, answered 500 and logged. */
  const failed = (error: unknown, instance: string): ServiceResponse => {
    if (!(error instanceof IdError)) logger?.error({ err: error, instance }, 'unexpected error')
    return problemFor(error, instance)
  }

  const issue = (count: number, instance: string): ServiceResponse => {
    let body: string
    try {
      // Built by hand: the ids are digits only, and JSON.stringify of 10k strings costs more than the ids.
      body =
        count === 1
          ? `{"ids":["${generator.nextString()}"]}`
          : `{"ids":["${generator.nextStringBatch(count).join('","')}"]}`
    } catch (error) {
      metrics.errors.labels({ code: error instanceof IdError ? error.code : 'E_INTERNAL' }).inc()
      return failed(error, instance)
    }
    metrics.issued.inc(count)
    return { status: 200, contentType: JSON_TYPE, body }
  }

  const ids = (query: URLSearchParams): ServiceResponse => {
    const raw = queryValue(query, 'count')
    if (raw === undefined) return issue(1, '/ids')
    const count = typeof raw === 'string' && COUNT.test(raw) ? Number(raw) : 0
    if (count < 1 || count > maxCount) {
      metrics.errors.labels({ code: 'E_INVALID_COUNT' }).inc()
      return problem('E_INVALID_COUNT', '/ids', `count must be an integer in 1..${maxCount}`, {
        value: typeof raw === 'string' ? raw.slice(0, 64) : raw.map((value) => value.slice(0, 64)),
      })
    }
    return issue(count, '/ids')
  }

  const decoded = (path: string, segment: string): ServiceResponse => {
    try {
      const { id, timestamp, date, workerId, sequence } = decode(percentDecode(segment), {
        epoch: generator.epoch,
      })
      const body = JSON.stringify({ id, timestamp, date: date.toISOString(), workerId, sequence })
      return { status: 200, contentType: JSON_TYPE, body }
    } catch (error) {
      return failed(error, path)
    }
  }

  const ready = (): ServiceResponse => {
    const info = {
      workerId: generator.workerId,
      ...(lease ? { fencingToken: lease.fencingToken, holder: lease.holder } : { lease: 'fixed' }),
    }
    if (lease && !lease.valid) {
      const reason = lease.lost.reason
      return problem(
        'E_NOT_READY',
        '/readyz',
        reason instanceof Error ? reason.message : 'lease not valid',
        info,
      )
    }
    return { status: 200, contentType: JSON_TYPE, body: JSON.stringify({ status: 'ready', ...info }) }
  }

  return (method, target) => {
    // The hot path first: one id, no query, no allocation beyond the body.
    const get = method === 'GET' || method === 'HEAD'
    if (target === '/ids' && get) return issue(1, '/ids')
    const { path, query } = splitTarget(target)
    let route: (() => ServiceResponse) | undefined
    if (path === '/ids') route = () => ids(query)
    else if (path.startsWith('/ids/') && path.length > 5 && path.indexOf('/', 5) === -1) {
      route = () => decoded(path, path.slice(5))
    } else if (path === '/healthz') route = () => HEALTHY
    else if (path === '/readyz') route = ready
    else if (path === '/metrics') {
      route = () => ({ status: 200, contentType: METRICS_CONTENT_TYPE, body: registry.metrics() })
    }
    if (route === undefined) return problem('E_NOT_FOUND', path, `no route ${method} ${path}`)
    if (!get) return problem('E_METHOD_NOT_ALLOWED', path, `${method} ${path} is not served`, {}, ALLOW)
    try {
      return route()
    } catch (error) {
      return failed(error, path)
    }
  }
}

/**
 * Path and query of an origin-form (`/ids?count=2`) or absolute-form (`http://host/ids`) request-target, by
 * the WHATWG URL parser; a target it refuses has no path the service serves.
 */
function splitTarget(target: string): { path: string; query: URLSearchParams } {
  try {
    const url = new URL(target, 'http://id-service.invalid')
    return { path: url.pathname, query: url.searchParams }
  } catch {
    return { path: target, query: new URLSearchParams() }
  }
}

/** The value(s) of `name` in the query, or undefined when absent. */
function queryValue(query: URLSearchParams, name: string): string | string[] | undefined {
  const values = query.getAll(name)
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values
}

/** `decodeURIComponent`, keeping malformed escapes as they are (they then fail validation). */
function percentDecode(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function serviceMetrics(registry: Registry, generator: Snowflake, lease: WorkerLease | undefined) {
  const issued = registry.counter({ name: 'id_issued_total', help: 'Ids issued over HTTP.' })
  const errors = registry.counter({
    name: 'id_errors_total',
    help: 'Requests for ids refused, by error code.',
    labelNames: ['code'],
  })
  // The generator counts its slow paths itself; scrapes add what grew since the last one.
  let seen = generator.stats
  registry.counter({
    name: 'id_clock_backwards_total',
    help: 'Backward clock steps: waited out (within maxBackwardsMs) or refused with E_CLOCK_BACKWARDS.',
    labelNames: ['action'],
    collect: (counter) => {
      const now = generator.stats
      counter.labels({ action: 'wait' }).inc(now.clockBackwardsWaited - seen.clockBackwardsWaited)
      counter.labels({ action: 'refuse' }).inc(now.clockBackwardsRefused - seen.clockBackwardsRefused)
      exhausted.inc(now.sequenceExhausted - seen.sequenceExhausted)
      seen = now
    },
  })
  const exhausted = registry.counter({
    name: 'id_sequence_exhausted_total',
    help: 'Milliseconds whose 4096 sequence numbers ran out (the generator waited for the next).',
  })
  registry.gauge({
    name: 'id_worker_id',
    help: 'The worker id this process issues under.',
    collect: (gauge) => gauge.set(generator.workerId),
  })
  registry.gauge({
    name: 'id_lease_valid',
    help: '1 while the worker-id lease is held and renewed (always 1 for a fixed worker id).',
    collect: (gauge) => gauge.set(lease === undefined || lease.valid ? 1 : 0),
  })
  return { issued, errors }
}

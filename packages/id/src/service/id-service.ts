import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { collectDefaultMetrics, contentType, Registry } from '@hundredfold/metrics'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { decode } from '../decode.js'
import { IdError } from '../errors.js'
import type { WorkerLease } from '../lease/worker-lease.js'
import type { Snowflake } from '../snowflake.js'
import { checkInteger } from '../validate.js'
import { problemFor, sendProblem } from './problem.js'

/** Options of {@link createIdService}. */
export interface IdServiceOptions {
  /** The generator to serve: `lease.generator()`, or a fixed worker id's `new Snowflake(...)`. Required. */
  generator: Snowflake
  /** The lease behind the generator: readiness follows it, and `/readyz` shows it. */
  lease?: WorkerLease
  /**
   * Where the service's metrics go (`GET /metrics` renders it).
   * @default a new Registry with the default process metrics, prefixed `id_service_`
   */
  registry?: Registry
  /**
   * Largest `count` of `GET /ids`.
   * @default 10_000
   */
  maxCount?: number
  /**
   * Fastify's logger option.
   * @default false
   */
  logger?: FastifyServerOptions['logger']
}

const COUNT = /^[1-9][0-9]{0,8}$/

/**
 * The ID service ("发号器") as a fastify app, not yet listening:
 *
 * - `GET /ids?count=n` (1 ≤ n ≤ maxCount, default 1) → `{ "ids": ["…", …] }`, decimal strings, increasing;
 * - `GET /ids/<id>` → `{ id, timestamp, date, workerId, sequence }`;
 * - `GET /healthz` (alive), `GET /readyz` (lease held and valid), `GET /metrics` (Prometheus text).
 *
 * Errors are `application/problem+json` with a stable `code`; refusals (clock, lease) are 503 with `Retry-After`.
 *
 * @example
 * const lease = await acquireWorkerLease({ store: pgLeaseStore({ cluster }) })
 * const app = createIdService({ generator: lease.generator(), lease })
 * await app.listen({ port: 8790 })
 */
export function createIdService(options: IdServiceOptions): FastifyInstance {
  if (!options || typeof options.generator?.nextStringBatch !== 'function') {
    throw new IdError('E_INVALID_OPTION', 'options.generator must be a Snowflake', {
      option: 'options.generator',
      value: options?.generator,
    })
  }
  const { generator, lease } = options
  const maxCount = checkInteger(options.maxCount ?? 10_000, 'options.maxCount', 1, 1_000_000)
  const registry = options.registry ?? defaultRegistry()
  const metrics = serviceMetrics(registry, generator, lease)

  // `GET /ids` without a query (one id: the hot path) is answered before fastify's routing and hooks,
  // which cost more than the id; everything else, errors included, goes through fastify.
  const fastPath = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (request.url !== '/ids' || request.method !== 'GET') return false
    let id: string
    try {
      id = generator.nextString()
    } catch {
      return false // the fastify route answers with the problem document
    }
    metrics.issued.inc()
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(`{"ids":["${id}"]}`)
    return true
  }
  const app = Fastify({
    logger: options.logger ?? false,
    return503OnClosing: true,
    serverFactory: (handler) =>
      createServer((request, response) => {
        if (!fastPath(request, response)) handler(request, response)
      }),
  })
  app.setErrorHandler((error, _request, reply) => problemFor(reply, error))
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 'E_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  )

  app.get<{ Querystring: { count?: string | string[] } }>('/ids', (request, reply) => {
    const raw = request.query.count
    let count = 1
    if (raw !== undefined) {
      count = typeof raw === 'string' && COUNT.test(raw) ? Number(raw) : 0
      if (count < 1 || count > maxCount) {
        metrics.errors.labels({ code: 'E_INVALID_COUNT' }).inc()
        return sendProblem(reply, 'E_INVALID_COUNT', `count must be an integer in 1..${maxCount}`, {
          value: typeof raw === 'string' ? raw.slice(0, 64) : raw,
        })
      }
    }
    let body: string
    try {
      // Built by hand: the ids are digits only, and JSON.stringify of 10k strings costs more than the ids.
      body =
        count === 1
          ? `{"ids":["${generator.nextString()}"]}`
          : `{"ids":["${generator.nextStringBatch(count).join('","')}"]}`
    } catch (error) {
      metrics.errors.labels({ code: error instanceof IdError ? error.code : 'E_INTERNAL' }).inc()
      return problemFor(reply, error)
    }
    metrics.issued.inc(count)
    return reply.type('application/json; charset=utf-8').send(body)
  })

  app.get<{ Params: { id: string } }>('/ids/:id', (request, reply) => {
    try {
      const { id, timestamp, date, workerId, sequence } = decode(request.params.id, {
        epoch: generator.epoch,
      })
      return reply.send({ id, timestamp, date: date.toISOString(), workerId, sequence })
    } catch (error) {
      return problemFor(reply, error)
    }
  })

  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }))
  app.get('/readyz', (_request, reply) => {
    const info = {
      workerId: generator.workerId,
      ...(lease ? { fencingToken: lease.fencingToken, holder: lease.holder } : { lease: 'fixed' }),
    }
    if (lease && !lease.valid) {
      const reason = lease.lost.reason
      return sendProblem(
        reply,
        'E_NOT_READY',
        reason instanceof Error ? reason.message : 'lease not valid',
        info,
      )
    }
    return reply.send({ status: 'ready', ...info })
  })
  app.get('/metrics', (_request, reply) => reply.type(contentType).send(registry.metrics()))
  return app
}

function defaultRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics(registry, { prefix: 'id_service_' })
  return registry
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

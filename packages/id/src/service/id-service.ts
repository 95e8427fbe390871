import type { Server } from 'node:net'
import { collectDefaultMetrics, Registry } from '@hundredfold/metrics'
import { IdError } from '../errors.js'
import type { WorkerLease } from '../lease/worker-lease.js'
import type { Snowflake } from '../snowflake.js'
import { checkInteger } from '../validate.js'
import { Http1Server, type Http1ServerOptions } from './http1-server.js'
import { idRoutes } from './id-routes.js'
import type { RequestHandler } from './service-response.js'

/** The subset of a pino logger the service uses. */
export interface IdServiceLogger {
  error(object: object, message?: string): void
}

/** Options of {@link createIdService}. */
export interface IdServiceOptions
  extends Pick<
    Http1ServerOptions,
    'maxHeaderSize' | 'headersTimeoutMs' | 'keepAliveTimeoutMs' | 'closeTimeoutMs'
  > {
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
  /** Told about unexpected errors (answered 500 `E_INTERNAL`). @default silent */
  logger?: IdServiceLogger
}

/** The ID service, not yet listening. */
export interface IdService extends AsyncDisposable {
  /** The routes as (method, request-target) → response, to mount under another HTTP server. */
  readonly handle: RequestHandler
  /** The listening socket server. */
  readonly server: Server
  /**
   * Starts listening (port 0 picks a free port); resolves with the base URL.
   * @default { host: '127.0.0.1', port: 0 }
   */
  listen(options?: { host?: string; port?: number }): Promise<string>
  /** Stops accepting, closes idle connections, finishes requests in flight with `Connection: close`. */
  close(): Promise<void>
}

/**
 * The ID service ("发号器") on a hand-written HTTP/1.1 server ({@link Http1Server}):
 *
 * - `GET /ids?count=n` (1 ≤ n ≤ maxCount, default 1) → `{ "ids": ["…", …] }`, decimal strings, increasing;
 * - `GET /ids/<id>` → `{ id, timestamp, date, workerId, sequence }`;
 * - `GET /healthz` (alive), `GET /readyz` (lease held and valid), `GET /metrics` (Prometheus text).
 *
 * Errors are `application/problem+json` with a stable `code`; refusals (clock, lease) are 503 with `Retry-After`.
 *
 * @example
 * const lease = await acquireWorkerLease({ store: pgLeaseStore({ cluster }) })
 * const service = createIdService({ generator: lease.generator(), lease })
 * const baseUrl = await service.listen({ host: '0.0.0.0', port: 8790 })
 */
export function createIdService(options: IdServiceOptions): IdService {
  if (!options || typeof options.generator?.nextStringBatch !== 'function') {
    throw new IdError('E_INVALID_OPTION', 'options.generator must be a Snowflake', {
      option: 'options.generator',
      value: options?.generator,
    })
  }
  const { generator, lease, logger } = options
  const maxCount = checkInteger(options.maxCount ?? 10_000, 'options.maxCount', 1, 1_000_000)
  const handle = idRoutes({ generator, lease, registry: options.registry ?? defaultRegistry(), maxCount })
  const http = new Http1Server({
    handler: handle,
    ...pick(options),
    onHandlerError: (error) => logger?.error({ err: error }, 'unhandled error'),
  })
  const close = (): Promise<void> => http.close()
  return {
    handle,
    server: http.server,
    async listen({ host = '127.0.0.1', port = 0 } = {}) {
      const address = await http.listen(port, host)
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return `http://${shown}:${address.port}`
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

function pick(options: IdServiceOptions): Partial<Http1ServerOptions> {
  const picked: Partial<Http1ServerOptions> = {}
  if (options.maxHeaderSize !== undefined) picked.maxHeaderSize = options.maxHeaderSize
  if (options.headersTimeoutMs !== undefined) picked.headersTimeoutMs = options.headersTimeoutMs
  if (options.keepAliveTimeoutMs !== undefined) picked.keepAliveTimeoutMs = options.keepAliveTimeoutMs
  if (options.closeTimeoutMs !== undefined) picked.closeTimeoutMs = options.closeTimeoutMs
  return picked
}

function defaultRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics(registry, { prefix: 'id_service_' })
  return registry
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { collectDefaultMetrics, Registry } from '@hundredfold/metrics'
import { refuseClientError } from './client-error.js'
import { idRoutes } from './id-routes.js'
import { type IdServiceOptions, resolveIdServiceOptions } from './options.js'
import type { RequestHandler } from './service-response.js'

/** The ID service, not yet listening. */
export interface IdService extends AsyncDisposable {
  /** The routes as (method, request-target) → response, to mount under another HTTP server. */
  readonly handle: RequestHandler
  /** The `node:http` server. */
  readonly server: Server
  /**
   * Starts listening (port 0 picks a free port); resolves with the base URL.
   * @default { host: '127.0.0.1', port: 0 }
   */
  listen(options?: { host?: string; port?: number }): Promise<string>
  /**
   * Stops accepting, closes idle connections at once, answers requests still arriving with
   * `Connection: close`, and destroys what is left after `closeTimeoutMs`. Idempotent.
   */
  close(): Promise<void>
}

/**
 * The ID service ("发号器") on `node:http`:
 *
 * - `GET /ids?count=n` (1 ≤ n ≤ maxCount, default 1) → `{ "ids": ["…", …] }`, decimal strings, increasing;
 * - `GET /ids/<id>` → `{ id, timestamp, date, workerId, sequence }`;
 * - `GET /healthz` (alive), `GET /readyz` (lease held and valid), `GET /metrics` (Prometheus text).
 *
 * Errors are `application/problem+json` with a stable `code`, what node:http's parser refuses included;
 * refusals (clock, lease) are 503 with `Retry-After`.
 *
 * @example
 * const lease = await acquireWorkerLease({ store: pgLeaseStore({ cluster }) })
 * const service = createIdService({ generator: lease.generator(), lease })
 * const baseUrl = await service.listen({ host: '0.0.0.0', port: 8790 })
 */
export function createIdService(options: IdServiceOptions): IdService {
  const resolved = resolveIdServiceOptions(options)
  const { generator, lease, logger, maxCount } = resolved
  const registry = resolved.registry ?? defaultRegistry()
  const handle = idRoutes({ generator, lease, registry, maxCount, logger })
  /** Each connection's latest response: still unwritten means answers are queued behind it. */
  const latest = new WeakMap<Duplex, ServerResponse>()
  let closing = false

  const answer = (request: IncomingMessage, response: ServerResponse): void => {
    latest.set(request.socket, response)
    // The routes answer every request, errors included (an unexpected one as 500, told to the logger).
    const result = handle(request.method ?? 'GET', request.url ?? '/')
    const headers: Record<string, string | number> = {
      'content-type': result.contentType,
      'content-length': Buffer.byteLength(result.body),
      ...result.headers,
    }
    if (closing) headers['connection'] = 'close'
    // node:http leaves the body out for HEAD.
    response.writeHead(result.status, headers).end(result.body)
  }

  const server = createServer(
    {
      maxHeaderSize: resolved.maxHeaderSize,
      headersTimeout: resolved.headersTimeoutMs,
      requestTimeout: resolved.requestTimeoutMs,
      keepAliveTimeout: resolved.keepAliveTimeoutMs,
      // node:http checks both timeouts every 30 s by default, so a 10 s timeout could take 40 s to fire.
      connectionsCheckingInterval: Math.min(1_000, resolved.headersTimeoutMs),
    },
    answer,
  )
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
    refuseClientError(error, socket, latest.get(socket)),
  )

  let closed: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing = true
    closed ??= new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      const force = setTimeout(() => server.closeAllConnections(), resolved.closeTimeoutMs)
      // Since Node 19, close() also closes the connections that are idle now.
      server.close(() => {
        clearTimeout(force)
        resolve()
      })
    })
    return closed
  }

  return {
    handle,
    server,
    async listen({ host = '127.0.0.1', port = 0 } = {}) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const address = server.address() as AddressInfo
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return `http://${shown}:${address.port}`
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

function defaultRegistry(): Registry {
  const registry = new Registry()
  collectDefaultMetrics(registry, { prefix: 'id_service_' })
  return registry
}

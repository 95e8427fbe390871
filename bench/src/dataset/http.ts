import { Pool } from 'undici'
import { BenchError } from '../errors.js'

/** A small client for the setup requests of a bench (loading, logging in), not for measurement. */
export interface SetupClient extends AsyncDisposable {
  /** Sends a request and returns the status and body; throws `E_BENCH_LOAD` on an unexpected status. */
  send(
    request: { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string },
    accept?: readonly number[],
  ): Promise<{ status: number; body: string }>
}

/**
 * Opens a keep-alive pool of `connections` to `baseUrl` for setup requests. An abort of `signal` destroys the
 * pool, failing whatever is in flight (one listener, not one per request).
 */
export function openSetupClient(baseUrl: string, connections: number, signal: AbortSignal): SetupClient {
  signal.throwIfAborted()
  const pool = new Pool(baseUrl, { connections, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 })
  const onAbort = (): void => {
    pool.destroy(null).catch(() => {})
  }
  signal.addEventListener('abort', onAbort, { once: true })
  return {
    async send(request, accept = []) {
      const response = await pool.request({
        method: request.method,
        path: request.path,
        headers: request.headers ?? null,
        body: request.body ?? null,
      })
      const body = await response.body.text()
      const status = response.statusCode
      if ((status < 200 || status >= 300) && !accept.includes(status)) {
        throw new BenchError(
          'E_BENCH_LOAD',
          `${request.method} ${request.path} answered ${status}: ${body.slice(0, 300)}`,
          {
            context: { status, path: request.path },
          },
        )
      }
      return { status, body }
    },
    async [Symbol.asyncDispose]() {
      signal.removeEventListener('abort', onAbort)
      if (!pool.destroyed) await pool.close()
    },
  }
}

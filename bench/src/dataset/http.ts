import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import { BenchError } from '../errors.js'

/** The codes of a 503 given before the server did any work: safe to resend, whatever the method. */
const SHED = /"code":"(E_CONCURRENCY_LIMITED|E_BULKHEAD_FULL|E_QUEUE_TIMEOUT)"/
const MAX_ATTEMPTS = 20

/** A small client for the setup requests of a bench (loading, logging in), not for measurement. */
export interface SetupClient extends AsyncDisposable {
  /**
   * Sends a request and returns the status and body; resends one the server shed before any work (503
   * `E_CONCURRENCY_LIMITED`, `E_BULKHEAD_FULL`, `E_QUEUE_TIMEOUT`) after its `Retry-After`, up to 20 times;
   * throws `E_BENCH_LOAD` on an unexpected status.
   */
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
      let status: number
      let body: string
      for (let attempt = 1; ; attempt++) {
        const response = await pool.request({
          method: request.method,
          path: request.path,
          headers: request.headers ?? null,
          body: request.body ?? null,
        })
        body = await response.body.text()
        status = response.statusCode
        // Shed before any work (the server's guard): as a well-behaved client, wait Retry-After and resend.
        if (status !== 503 || attempt === MAX_ATTEMPTS || !SHED.test(body)) break
        const seconds = Number(response.headers['retry-after'] ?? 1)
        await sleep(Math.min(5, Number.isFinite(seconds) ? seconds : 1) * 1000, undefined, { signal })
      }
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

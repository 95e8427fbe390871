import { Pool } from 'undici'
import { BenchError } from '../errors.js'

/** A small client for the setup requests of a bench (loading, logging in), not for measurement. */
export interface SetupClient extends AsyncDisposable {
  /** Sends a request and returns the parsed status and body; throws `E_BENCH_LOAD` on an unexpected status. */
  send(
    request: { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string },
    signal: AbortSignal,
    accept?: readonly number[],
  ): Promise<{ status: number; body: string }>
}

/** Opens a keep-alive pool of `connections` to `baseUrl` for setup requests. */
export function openSetupClient(baseUrl: string, connections: number): SetupClient {
  const pool = new Pool(baseUrl, { connections, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 })
  return {
    async send(request, signal, accept = []) {
      const response = await pool.request({
        method: request.method,
        path: request.path,
        headers: request.headers ?? null,
        body: request.body ?? null,
        signal,
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
      await pool.close()
    },
  }
}

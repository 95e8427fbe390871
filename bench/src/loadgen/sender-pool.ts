import { Pool } from 'undici'

/**
 * The keep-alive pool both of the kit's senders (open and closed loop) send through: `connections`
 * sockets, no pipelining, and `timeoutMs` for the headers and for each gap in the body.
 *
 * @example
 * const pool = openSenderPool({ baseUrl: 'http://127.0.0.1:8080', connections: 256, timeoutMs: 10_000 })
 */
export function openSenderPool(options: { baseUrl: string; connections: number; timeoutMs: number }): Pool {
  return new Pool(options.baseUrl, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  })
}

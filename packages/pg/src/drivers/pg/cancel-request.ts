import type pg from 'pg'
import { Connection } from './pg-client.js'

/** The fields of a connected `pg.Client` a cancel request needs (set by node-postgres, not in its types). */
interface BackendKey {
  processID: number | null
  secretKey: number | null
  host: string
  port: number
}

/** The parts of `pg.Connection` used here, all of them node-postgres's own (its `Client#cancel` uses them). */
interface CancelConnection {
  connect(port: number | string, host?: string): void
  cancel(processID: number, secretKey: number): void
  on(event: 'connect' | 'end' | 'error', listener: () => void): unknown
  readonly stream: { destroy(): void }
}

/**
 * Asks the server to cancel the statement running on `client`, with PostgreSQL's CancelRequest
 * (what psql sends on Ctrl-C): a new socket to the same host carrying the session's backend key.
 * Chosen over `SELECT pg_cancel_backend(pid)` on a new session because it needs no free connection
 * slot (`max_connections` is often what ran out when statements pile up), no authentication and no
 * privilege, and it also works through PgBouncer. Resolves `true` once the server has read the request
 * and closed the socket, `false` if it could not be delivered within `timeoutMs`. Never rejects.
 */
export function sendCancelRequest(client: pg.Client, timeoutMs: number): Promise<boolean> {
  const { processID, secretKey, host, port } = client as unknown as BackendKey
  if (processID === null || secretKey === null) return Promise.resolve(false)
  // No TLS: the server reads a CancelRequest before any negotiation, on any listening socket.
  const con = new Connection() as unknown as CancelConnection
  return new Promise<boolean>((resolve) => {
    let settled = false
    const finish = (delivered: boolean) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      con.stream.destroy()
      resolve(delivered)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    con.on('error', () => finish(false))
    con.on('end', () => finish(true))
    con.on('connect', () => con.cancel(processID, secretKey))
    try {
      if (host?.startsWith('/')) con.connect(`${host}/.s.PGSQL.${port}`)
      else con.connect(port, host)
    } catch {
      finish(false)
    }
  })
}

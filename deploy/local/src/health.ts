import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { request } from 'undici'
import { StackError } from './errors.js'
import { hasExited, tail } from './processes.js'
import type { ProcessRecord } from './state.js'

/** One look at a process: healthy or not, and why not. */
export type Probe = (signal: AbortSignal) => Promise<{ ok: boolean; detail?: string }>

/** `GET url` answers 200 (a microblog's or the ID service's `/readyz`, NATS's `/healthz`). */
export function httpProbe(url: string): Probe {
  return async (signal) => {
    try {
      const res = await request(url, { signal, headers: { connection: 'close' } })
      await res.body.dump()
      return res.statusCode === 200
        ? { ok: true }
        : { ok: false, detail: `${url} answered ${res.statusCode}` }
    } catch (err) {
      return { ok: false, detail: `${url}: ${(err as Error).message}` }
    }
  }
}

/** Redis answers `PING` with `+PONG`. */
export function redisProbe(port: number): Probe {
  return (signal) =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1')
      let text = ''
      const done = (ok: boolean, detail?: string) => {
        socket.destroy()
        signal.removeEventListener('abort', onAbort)
        resolve(detail === undefined ? { ok } : { ok, detail })
      }
      const onAbort = () => done(false, 'no answer to PING')
      signal.addEventListener('abort', onAbort, { once: true })
      socket.once('connect', () => socket.write('PING\r\n'))
      socket.on('data', (chunk) => {
        text += chunk
        if (text.includes('\r\n')) done(text.startsWith('+PONG'), text.trim())
      })
      socket.once('error', (err) => done(false, err.message))
    })
}

/** PostgreSQL accepts a session and answers; `recovery` says whether it must be a standby or a primary. */
export function postgresProbe(url: string, recovery: boolean): Probe {
  return async (signal) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    client.on('error', () => {})
    const onAbort = () => client.end().catch(() => {})
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      await client.connect()
      const { rows } = await client.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')
      const standby = rows[0]?.standby === true
      if (standby !== recovery) return { ok: false, detail: standby ? 'is a standby' : 'is not a standby' }
      return { ok: true }
    } catch (err) {
      return { ok: false, detail: (err as Error).message }
    } finally {
      signal.removeEventListener('abort', onAbort)
      await client.end().catch(() => {})
    }
  }
}

/**
 * Probes until healthy, within `timeoutMs`. Fails early when the process exits, and on timeout, with
 * `E_NOT_HEALTHY` naming the process, the last probe's answer and the tail of its log.
 */
export async function waitHealthy(record: ProcessRecord, probe: Probe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'not probed'
  for (let attempt = 0; ; attempt++) {
    const result = await probe(AbortSignal.timeout(Math.min(2000, Math.max(100, deadline - Date.now()))))
    if (result.ok) return
    last = result.detail ?? 'not healthy'
    const exited = hasExited(record)
    if (exited || Date.now() >= deadline) {
      const why = exited ? `exited (pid ${record.pid})` : `did not become healthy within ${timeoutMs} ms`
      throw new StackError(
        'E_NOT_HEALTHY',
        `${record.name} on port ${record.port} ${why}: ${last}\n--- ${record.log} (last lines)\n${tail(record.log)}`,
        { component: record.name, log: record.log },
      )
    }
    await sleep(Math.min(500, 50 * 2 ** attempt))
  }
}

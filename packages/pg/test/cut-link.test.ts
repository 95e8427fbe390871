import { describe, expect, it } from 'vitest'
import { abortError } from '../src/errors.js'
import type { Driver, DriverConnection } from '../src/index.js'
import { createCluster, PgError } from '../src/index.js'

/**
 * A server behind a link that can be cut: while cut, a statement on an open session never answers (no
 * RST, no FIN — packets vanish) and a new session cannot be opened. Only an abort ends the wait.
 */
function linkedServer(name: string, recovery: boolean) {
  const link = { cut: false, served: 0 }
  const hang = (signal: AbortSignal | undefined) =>
    new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(abortError(signal, { host: name }))
      signal?.addEventListener('abort', () => reject(abortError(signal, { host: name })), { once: true })
    })
  const driver: Driver = {
    name,
    maxConnections: Number.POSITIVE_INFINITY,
    async connect() {
      if (link.cut) throw new PgError('E_CONNECT', `cannot connect to ${name}: EINVAL`)
      const conn: DriverConnection & { broken: boolean } = {
        broken: false,
        onBroken() {},
        async query<Row>(sql: string, _params: readonly unknown[], options: { signal?: AbortSignal } = {}) {
          if (link.cut) {
            conn.broken = true
            return hang(options.signal)
          }
          if (sql.includes('pg_is_in_recovery')) {
            const row = { recovery, lsn: '0/3000000', replay_age_ms: recovery ? 0 : null }
            return { rows: [row as Row], rowCount: 1 }
          }
          link.served++
          return { rows: [{ server: name } as Row], rowCount: 1 }
        },
        async exec() {},
        async close() {
          conn.broken = true
        },
      }
      return conn
    },
    async close() {},
  }
  return { driver, link }
}

describe('a replica behind a cut link', () => {
  it('gives its reads in flight up when the probe marks it down, and they answer from another host', async () => {
    const primary = linkedServer('primary', false)
    const replica = linkedServer('replica', true)
    const cluster = createCluster({
      hosts: [primary.driver, replica.driver],
      routing: { probeIntervalMs: 50, maxLagMs: 10_000 },
    })
    try {
      await cluster.ready()
      const read = () =>
        cluster.read<{ server: string }>('SELECT 1', [], { signal: AbortSignal.timeout(10_000) })
      expect((await read()).rows[0]?.server).toBe('replica')
      replica.link.cut = true
      const started = performance.now()
      // The caller's deadline is 10 s; the probe (500 ms timeout, then a refused connect) knows in ~1 s.
      const hung = await read()
      const waitedMs = performance.now() - started
      expect(hung.rows[0]?.server).toBe('primary')
      expect(waitedMs).toBeLessThan(3_000)
      expect(cluster.stats().hosts.find((h) => h.host === 'replica')?.inRotation).toBe(false)
      // Out of rotation: new reads go to the primary at once.
      const next = performance.now()
      expect((await read()).rows[0]?.server).toBe('primary')
      expect(performance.now() - next).toBeLessThan(200)
      replica.link.cut = false
      const servedBefore = replica.link.served
      const until = Date.now() + 3_000
      while (Date.now() < until && !cluster.stats().hosts.find((h) => h.host === 'replica')?.inRotation) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect((await read()).rows[0]?.server).toBe('replica')
      expect(replica.link.served).toBe(servedBefore + 1)
    } finally {
      await cluster.end()
    }
  })

  it('sends a read whose session cannot be opened on the cut replica to another host', async () => {
    const primary = linkedServer('primary', false)
    const replica = linkedServer('replica', true)
    const cluster = createCluster({
      hosts: [primary.driver, replica.driver],
      routing: { probeIntervalMs: 50 },
    })
    try {
      await cluster.ready()
      replica.link.cut = true // before any read: the replica's pool has no session yet
      const { rows } = await cluster.read<{ server: string }>('SELECT 1', [], {
        signal: AbortSignal.timeout(5_000),
      })
      expect(rows[0]?.server).toBe('primary')
      expect(cluster.stats().hosts.find((h) => h.host === 'replica')?.healthy).toBe(false)
    } finally {
      await cluster.end()
    }
  })

  it('keeps a read the caller aborts as the caller’s abort, not retried elsewhere', async () => {
    const primary = linkedServer('primary', false)
    const replica = linkedServer('replica', true)
    const cluster = createCluster({
      hosts: [primary.driver, replica.driver],
      routing: { probeIntervalMs: 50 },
    })
    try {
      await cluster.ready()
      await cluster.read('SELECT 1') // a session on the replica, idle in its pool
      primary.link.served = 0
      replica.link.cut = true
      const error = await cluster
        .read('SELECT 1', [], { signal: AbortSignal.timeout(100) })
        .catch((err: unknown) => err)
      expect((error as PgError).code).toBe('E_ABORTED')
      expect(primary.link.served).toBe(0)
    } finally {
      await cluster.end()
    }
  })
})

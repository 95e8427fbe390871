import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Registry } from '@hundredfold/metrics'
import type { Cluster } from '@hundredfold/pg'
import { catchUp } from './metric-helpers.js'

/**
 * The database's series: per host its role and health, replica lag and whether reads go to it, pool
 * sessions, statements by route and acquire wait; and reads whose consistency token was ahead of the
 * primary. One `db.stats()` per scrape fills every per-host series (the registry runs all collects
 * before it renders any). Returns the stop.
 */
export function registerDbMetrics(registry: Registry, db: Cluster): () => void {
  const sessions = registry.gauge({
    name: 'db_pool_sessions',
    help: 'Database sessions by host and state.',
    labelNames: ['host', 'state'],
  })
  const up = registry.gauge({
    name: 'db_host_up',
    help: 'Whether the last probe of a database host succeeded (and, for a replica, its lag is known), by role.',
    labelNames: ['host', 'role'],
  })
  const lag = registry.gauge({
    name: 'db_replica_lag_seconds',
    help: 'Replay lag of each replica as last probed (NaN when unknown).',
    labelNames: ['host'],
  })
  const rotation = registry.gauge({
    name: 'db_replica_in_rotation',
    help: 'Whether reads may go to each replica now: healthy, its lag known and within HF_DB_MAX_LAG_MS.',
    labelNames: ['host'],
  })
  const queries = registry.counter({
    name: 'db_queries_total',
    help: 'Statements sent, by host and route (read: replica-eligible; write: primary).',
    labelNames: ['host', 'route'],
  })
  registry.counter({
    name: 'pg_consistency_tokens_ahead_total',
    help: 'Reads whose consistency token was ahead of the primary (forged, or from another cluster), served as if they had none.',
    collect: (counter) => {
      const stats = db.stats()
      catchUp(counter, stats.tokensAhead)
      for (const {
        host,
        role,
        healthy,
        lagMs,
        inRotation,
        idle,
        inUse,
        waiting,
        reads,
        writes,
      } of stats.hosts) {
        sessions.labels({ host, state: 'idle' }).set(idle)
        sessions.labels({ host, state: 'in_use' }).set(inUse)
        sessions.labels({ host, state: 'waiting' }).set(waiting)
        for (const r of ['primary', 'replica', 'unknown'])
          up.labels({ host, role: r }).set(r === role && healthy ? 1 : 0)
        if (role === 'replica') lag.labels({ host }).set(lagMs === null ? Number.NaN : lagMs / 1000)
        rotation.labels({ host }).set(inRotation ? 1 : 0)
        catchUp(queries.labels({ host, route: 'read' }), reads)
        catchUp(queries.labels({ host, route: 'write' }), writes)
      }
    },
  })
  const acquireWait = registry.histogram({
    name: 'db_pool_acquire_wait_seconds',
    help: 'Time a statement waited for a database session, by host.',
    labelNames: ['host'],
  })
  const onAcquire = (message: unknown) => {
    const { cluster, host, waitMs } = message as { cluster: unknown; host: string; waitMs: number }
    if (cluster === db) acquireWait.labels({ host }).recordMs(waitMs)
  }
  subscribe('hundredfold:pg:acquire', onAcquire)
  return () => unsubscribe('hundredfold:pg:acquire', onAcquire)
}

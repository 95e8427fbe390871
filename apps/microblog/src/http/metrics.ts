import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Cache } from '@hundredfold/cache'
import { collectDefaultMetrics, contentType, Registry } from '@hundredfold/metrics'
import type { Cluster } from '@hundredfold/pg'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../services/index.js'
import { fanoutChannel } from '../workers/consumers.js'

/**
 * `/metrics`: per-route latency in seconds (a bucketed histogram that sums across processes, and the HDR
 * quantiles as `http_request_duration_seconds_summary`), requests by status; per database
 * host its role, replica lag, pool sessions, acquire wait and statements by route; and the process's own
 * figures (CPU, memory, event-loop delay).
 * With the cache on: keys served by tier, loads, stale sets refused, hit ratio and the L2 breaker's state.
 * Routes are labelled by their template (`/api/v1/users/:user_id`), never by the raw URL.
 */
export function registerMetrics(app: FastifyInstance, db: Cluster, services: Services): Registry {
  const registry = new Registry()
  if (services.cache) registerCacheMetrics(registry, services.cache)
  const stopQueueMetrics = services.writes.queued ? registerQueueMetrics(registry, services) : () => {}
  const defaults = collectDefaultMetrics(registry)
  const duration = registry.histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route.',
    labelNames: ['method', 'route'],
    buckets: true,
  })
  const requests = registry.counter({
    name: 'http_requests_total',
    help: 'Requests answered, by route and status.',
    labelNames: ['method', 'route', 'status'],
  })
  registry.gauge({
    name: 'db_pool_sessions',
    help: 'Database sessions by host and state.',
    labelNames: ['host', 'state'],
    collect: (gauge) => {
      for (const { host, idle, inUse, waiting } of db.stats().hosts) {
        gauge.labels({ host, state: 'idle' }).set(idle)
        gauge.labels({ host, state: 'in_use' }).set(inUse)
        gauge.labels({ host, state: 'waiting' }).set(waiting)
      }
    },
  })

  registry.gauge({
    name: 'db_host_up',
    help: 'Whether the last probe of a database host succeeded (and, for a replica, its lag is known), by role.',
    labelNames: ['host', 'role'],
    collect: (gauge) => {
      for (const { host, role, healthy } of db.stats().hosts) {
        for (const r of ['primary', 'replica', 'unknown']) gauge.labels({ host, role: r }).set(0)
        gauge.labels({ host, role }).set(healthy ? 1 : 0)
      }
    },
  })
  registry.gauge({
    name: 'db_replica_lag_seconds',
    help: 'Replay lag of each replica as last probed (NaN when unknown).',
    labelNames: ['host'],
    collect: (gauge) => {
      for (const { host, role, lagMs } of db.stats().hosts) {
        if (role === 'replica') gauge.labels({ host }).set(lagMs === null ? Number.NaN : lagMs / 1000)
      }
    },
  })
  registry.counter({
    name: 'db_queries_total',
    help: 'Statements sent, by host and route (read: replica-eligible; write: primary).',
    labelNames: ['host', 'route'],
    collect: (counter) => {
      for (const { host, reads, writes } of db.stats().hosts) {
        catchUp(counter.labels({ host, route: 'read' }), reads)
        catchUp(counter.labels({ host, route: 'write' }), writes)
      }
    },
  })
  registry.counter({
    name: 'pg_consistency_tokens_ahead_total',
    help: 'Reads whose consistency token was ahead of the primary (forged, or from another cluster), served as if they had none.',
    collect: (counter) => catchUp(counter, db.stats().tokensAhead),
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

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    duration.labels({ method: request.method, route }).recordMs(reply.elapsedTime)
    requests.labels({ method: request.method, route, status: reply.statusCode }).inc()
    done()
  })
  app.addHook('onClose', (_app, done) => {
    defaults.stop()
    stopQueueMetrics()
    unsubscribe('hundredfold:pg:acquire', onAcquire)
    done()
  })
  app.get('/metrics', (_request, reply) => {
    reply.type(contentType).send(registry.metrics())
  })
  return registry
}

/**
 * The write path's figures: the timeline consumer's backlog (what back-pressure acts on), composes
 * refused, messages handled by this process's consumers, fan-out lag (compose to visible in home
 * timelines), and home-timeline reads by source. Returns an unsubscribe.
 */
function registerQueueMetrics(registry: Registry, services: Services): () => void {
  const { writes, timelines, consumed } = services
  registry.gauge({
    name: 'queue_backlog',
    help: "Posts published and not yet stored and fanned out (the timeline consumer's pending + unacknowledged).",
    collect: (gauge) => gauge.set(writes.backlog),
  })
  registry.counter({
    name: 'compose_rejected_total',
    help: 'Composes answered 503 E_BACKLOG because the backlog passed HF_QUEUE_MAX_BACKLOG.',
    collect: (counter) => catchUp(counter, writes.rejected),
  })
  registry.counter({
    name: 'queue_messages_total',
    help: 'Messages handled by this process, by consumer and outcome (failed: redelivered or dead-lettered).',
    labelNames: ['consumer', 'outcome'],
    collect: (counter) => {
      for (const [consumer, counts] of Object.entries(consumed)) {
        catchUp(counter.labels({ consumer, outcome: 'acked' }), counts.acked)
        catchUp(counter.labels({ consumer, outcome: 'failed' }), counts.failed)
      }
    },
  })
  totalsCounter(registry, {
    name: 'home_timeline_reads_total',
    help: 'Home-timeline pages by source (store: fan-out store; rebuild: cold, rebuilt; query: past the cap).',
    label: 'source',
    totals: () => timelines.homeReads,
  })
  const lag = registry.histogram({
    name: 'fanout_lag_seconds',
    help: "From compose to the post being in its followers' home timelines (this process's consumers).",
  })
  const onFanout = (message: unknown) => lag.recordMs((message as { lagMs: number }).lagMs)
  fanoutChannel.subscribe(onFanout)
  return () => fanoutChannel.unsubscribe(onFanout)
}

/** The cache's counters as Prometheus series, read from `cache.stats()` at each scrape. */
function registerCacheMetrics(registry: Registry, cache: Cache): void {
  totalsCounter(registry, {
    name: 'cache_keys_total',
    help: 'Keys asked of the cache, by where they were served from (miss: the loader).',
    label: 'result',
    totals: () => {
      const s = cache.stats()
      return { l1_hit: s.l1Hits, l2_hit: s.l2Hits, stale_hit: s.staleHits, miss: s.misses }
    },
  })
  registry.gauge({
    name: 'cache_hit_ratio',
    help: 'Share of keys served without the loader, since start.',
    collect: (gauge) => {
      const s = cache.stats()
      const hits = s.l1Hits + s.l2Hits + s.staleHits
      gauge.set(hits + s.misses === 0 ? 0 : hits / (hits + s.misses))
    },
  })
  totalsCounter(registry, {
    name: 'cache_loads_total',
    help: 'Loader calls, by kind (lease: under a lease; fallback: L2 cut off; error: the loader threw).',
    label: 'kind',
    totals: () => {
      const s = cache.stats()
      return { all: s.loads, fallback: s.fallbackLoads, lease_timeout: s.leaseTimeouts, error: s.loadErrors }
    },
  })
  registry.counter({
    name: 'cache_stale_sets_refused_total',
    help: 'Fills refused because a delete voided their lease: stale values kept out of the cache.',
    collect: (counter) => catchUp(counter, cache.stats().staleSetsRefused),
  })
  registry.gauge({
    name: 'cache_l2_breaker_state',
    help: 'The L2 breaker: 1 for the current state (closed: L2 in use; open: cut off; half_open: probing).',
    labelNames: ['state'],
    collect: (gauge) => {
      const current = cache.stats().breaker
      for (const state of ['closed', 'open', 'half_open'])
        gauge.labels({ state }).set(state === current ? 1 : 0)
    },
  })
  registry.gauge({
    name: 'cache_l2_pending_deletes',
    help: 'Deletes L2 has not seen yet (it was cut off); replayed before it serves reads again.',
    collect: (gauge) => gauge.set(cache.stats().pendingDeletes),
  })
}

/**
 * A counter with one label whose series follow running totals kept elsewhere: at each scrape,
 * `totals()` gives each label value's total so far.
 */
function totalsCounter<L extends string>(
  registry: Registry,
  options: { name: string; help: string; label: L; totals: () => Readonly<Record<string, number>> },
): void {
  const { name, help, label, totals } = options
  registry.counter({
    name,
    help,
    labelNames: [label],
    collect: (counter) => {
      for (const [value, total] of Object.entries(totals())) {
        catchUp(counter.labels({ [label]: value } as Record<L, string>), total)
      }
    },
  })
}

/** Brings a counter up to a running total kept elsewhere (cluster or cache stats) at scrape time. */
function catchUp(counter: { value: number; inc(amount: number): void }, total: number): void {
  if (total > counter.value) counter.inc(total - counter.value)
}

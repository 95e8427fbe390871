import type { Cache, CacheStats } from '@hundredfold/cache'
import { collectDefaultMetrics, contentType, Registry } from '@hundredfold/metrics'
import type { Cluster } from '@hundredfold/pg'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../services/index.js'
import { fanoutChannel } from '../workers/consumers.js'
import { registerDbMetrics } from './db-metrics.js'
import { catchUp, totalsCounter } from './metric-helpers.js'
import { registerRequestMetrics } from './request-metrics.js'

/**
 * `/metrics`: per-route latency in seconds (a bucketed histogram that sums across processes, and the HDR
 * quantiles as `http_request_duration_seconds_summary`), requests by status; per database
 * host its role, replica lag, pool sessions, acquire wait and statements by route; and the process's own
 * figures (CPU, memory, event-loop delay).
 * With the cache on: keys served by tier, loads, stale sets refused, hit ratio and the L2 breaker's state.
 * With `stages` (`HF_SERVER_TIMING` on): each request's `Server-Timing` stages as histograms.
 * Routes are labelled by their template (`/api/v1/users/:user_id`), never by the raw URL.
 */
export function registerMetrics(
  app: FastifyInstance,
  db: Cluster,
  services: Services,
  options: { stages: boolean },
): Registry {
  const registry = new Registry()
  if (services.cache) registerCacheMetrics(registry, services.cache)
  const stopQueueMetrics = services.writes.queued ? registerQueueMetrics(registry, services) : () => {}
  const defaults = collectDefaultMetrics(registry)
  const stopDbMetrics = registerDbMetrics(registry, db)
  registerRequestMetrics(app, registry, options)
  app.addHook('onClose', (_app, done) => {
    defaults.stop()
    stopQueueMetrics()
    stopDbMetrics()
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

/** The numeric fields of `cache.stats()`. */
type CacheCount = { [K in keyof CacheStats]: CacheStats[K] extends number ? K : never }[keyof CacheStats]

/** Cache counters with one label: each label value's total is a field of `cache.stats()`. */
const CACHE_TOTALS: { name: string; help: string; label: string; fields: Record<string, CacheCount> }[] = [
  {
    name: 'cache_keys_total',
    help: 'Keys asked of the cache, by where they were served from (miss: the loader).',
    label: 'result',
    fields: { l1_hit: 'l1Hits', l2_hit: 'l2Hits', stale_hit: 'staleHits', miss: 'misses' },
  },
  {
    name: 'cache_loads_total',
    help: 'Loader calls, by kind (lease: under a lease; fallback: L2 cut off; error: the loader threw).',
    label: 'kind',
    fields: { all: 'loads', fallback: 'fallbackLoads', lease_timeout: 'leaseTimeouts', error: 'loadErrors' },
  },
]

function pick(stats: CacheStats, fields: Record<string, CacheCount>): Record<string, number> {
  return Object.fromEntries(Object.entries(fields).map(([value, field]) => [value, stats[field]]))
}

/** The cache's counters as Prometheus series, read from `cache.stats()` at each scrape. */
function registerCacheMetrics(registry: Registry, cache: Cache): void {
  for (const { fields, ...counter } of CACHE_TOTALS) {
    totalsCounter(registry, { ...counter, totals: () => pick(cache.stats(), fields) })
  }
  registry.gauge({
    name: 'cache_hit_ratio',
    help: 'Share of keys served without the loader, since start.',
    collect: (gauge) => {
      const s = cache.stats()
      const hits = s.l1Hits + s.l2Hits + s.staleHits
      gauge.set(hits + s.misses === 0 ? 0 : hits / (hits + s.misses))
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

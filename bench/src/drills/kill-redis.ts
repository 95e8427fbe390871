import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { killProcess } from '@hundredfold/stack'
import { grew, meanRate, peakRate, sampleCounters } from './counter-sampler.js'
import { failed } from './drill-load.js'
import { stackDrill } from './stack-drill.js'

/** How long Redis stays dead. */
const DEAD_FOR_MS = 10_000
/** How long the drill reads the apps' counters before the kill: the baseline. */
const BASELINE_MS = 3_000
/** And after Redis is back: the home timelines rebuilt. */
const AFTER_MS = 4_000

/**
 * `npm run drill -- kill-redis`: `kill -9` of the stack's Redis under the mix; 10 s later the stack
 * starts it again (empty: it keeps nothing on disk). Caches fall back to each app's own memory and to
 * the database, home timelines to their query, under the apps' concurrency guard; the write queue is
 * JetStream's. Reported: `db_qps_peak` (statements per second summed over the apps, the avalanche
 * the guard must prevent) beside `db_qps_baseline`, and the home timelines rebuilt once Redis is back.
 * Floor: `failed_request_rate` ≤ 0.001.
 */
export const killRedis = stackDrill({
  name: 'kill-redis',
  description:
    'kill -9 of the stack’s Redis under the mix at half its MST for 10 s, then started again (empty)',
  async action(stack, signal, log) {
    const urls = stack.state.apps.map((app) => `${app.url}/metrics`)
    const sampling = new AbortController()
    const rebuilds = 'home_timeline_reads_total{source="rebuild"}'
    const shedLoop = 'http_shed_total{reason="event-loop-delay"}'
    const shedLimit = 'http_shed_total{reason="concurrency-limit"}'
    const names = ['db_queries_total', rebuilds, shedLoop, shedLimit]
    const samples = sampleCounters(urls, names, 250, AbortSignal.any([signal, sampling.signal]))
    try {
      await sleep(BASELINE_MS, undefined, { signal })
      const killedAt = performance.now()
      const pid = await killProcess(stack.state.dir, 'redis')
      log(`killed Redis (pid ${pid})`)
      await sleep(DEAD_FOR_MS, undefined, { signal })
      log('starting Redis again (empty)')
      await stack.repair()
      const backAt = performance.now()
      await sleep(AFTER_MS, undefined, { signal })
      sampling.abort()
      const all = await samples
      return {
        db_qps_baseline: meanRate(all, 'db_queries_total', killedAt - BASELINE_MS, killedAt),
        db_qps_peak: peakRate(all, 'db_queries_total', killedAt, backAt + AFTER_MS),
        db_qps_without_redis: meanRate(all, 'db_queries_total', killedAt, backAt),
        redis_down_s: Math.round((backAt - killedAt) / 10) / 100,
        // Redis comes back empty: each home timeline read first is rebuilt from the database.
        home_rebuilds_per_s_after: meanRate(all, rebuilds, backAt, backAt + AFTER_MS),
        home_rebuilds_per_s_before: meanRate(all, rebuilds, killedAt - BASELINE_MS, killedAt),
        // The apps' own 503s before any work: where most failures of this drill come from, if any.
        shed_loop_delay: grew(all, shedLoop),
        shed_concurrency_limit: grew(all, shedLimit),
      }
    } finally {
      sampling.abort()
      await samples.catch(() => [])
    }
  },
  floors: { failed_request_rate: { max: 0.001 } },
  metrics: (load) => ({
    failed_request_rate:
      load.events.length === 0
        ? 0
        : Math.round((load.events.filter(failed).length / load.events.length) * 1e5) / 1e5,
  }),
})

import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Gauge } from '../gauge.js'
import type { MetricGroup } from './metric-group.js'

const STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const
const HELP: Record<(typeof STATS)[number], string> = {
  min: 'The minimum recorded event loop delay.',
  max: 'The maximum recorded event loop delay.',
  mean: 'The mean of the recorded event loop delays.',
  stddev: 'The standard deviation of the recorded event loop delays.',
  p50: 'The 50th percentile of the recorded event loop delays.',
  p90: 'The 90th percentile of the recorded event loop delays.',
  p99: 'The 99th percentile of the recorded event loop delays.',
}

/**
 * `nodejs_eventloop_lag_*` under prom-client's names, with its semantics:
 * - `nodejs_eventloop_lag_seconds`: how long a callback queued (`setImmediate`) at the previous scrape
 *   waited to run. A scrape is synchronous, so it reports the probe the previous scrape started (prom-client's
 *   value is the previous probe's too); 0 until a probe has run.
 * - `_min`, `_max`, `_mean`, `_stddev`, `_p50`, `_p90`, `_p99`: `perf_hooks.monitorEventLoopDelay` over the
 *   interval since the previous scrape (it is reset at each). An interval with no sample keeps the last values.
 *   Like prom-client's, each sample includes the sampling interval: an idle loop reads about the resolution.
 * - `nodejs_eventloop_lag_resolution_seconds` (not in prom-client): that sampling interval, so a reader can
 *   subtract it and get the delay callbacks actually suffered.
 */
export function eventLoopMetrics(prefix: string, resolutionMs: number): MetricGroup {
  const delay = monitorEventLoopDelay({ resolution: resolutionMs })
  let running = false
  let lagSeconds = 0
  let probe: NodeJS.Immediate | undefined

  const stats = STATS.map(
    (stat) => new Gauge({ name: `${prefix}nodejs_eventloop_lag_${stat}_seconds`, help: HELP[stat] }),
  )
  const lag = new Gauge({
    name: `${prefix}nodejs_eventloop_lag_seconds`,
    help: 'Lag of event loop in seconds.',
    collect: (gauge) => {
      gauge.set(lagSeconds)
      if (running && probe === undefined) {
        const queued = process.hrtime.bigint()
        probe = setImmediate(() => {
          lagSeconds = Number(process.hrtime.bigint() - queued) / 1e9
          probe = undefined
        })
        probe.unref()
      }
      if (delay.count === 0) return
      const values = [
        delay.min,
        delay.max,
        delay.mean,
        delay.stddev,
        delay.percentile(50),
        delay.percentile(90),
        delay.percentile(99),
      ]
      for (let i = 0; i < stats.length; i++) stats[i]!.set(values[i]! / 1e9)
      delay.reset()
    },
  })

  const resolution = new Gauge({
    name: `${prefix}nodejs_eventloop_lag_resolution_seconds`,
    help: 'The sampling interval of the event loop delay histogram, included in each of its samples.',
  })
  resolution.set(resolutionMs / 1000)

  return {
    metrics: [lag, ...stats, resolution],
    start: () => {
      running = true
      delay.enable()
      return () => {
        running = false
        delay.disable()
        if (probe !== undefined) clearImmediate(probe)
        probe = undefined
      }
    },
  }
}

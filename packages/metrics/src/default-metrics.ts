import { resolveBuckets } from './buckets.js'
import { eventLoopMetrics } from './default-metrics/event-loop-metrics.js'
import { gcMetrics } from './default-metrics/gc-metrics.js'
import { processMetrics } from './default-metrics/process-metrics.js'
import { runtimeMetrics } from './default-metrics/runtime-metrics.js'
import { MetricsError } from './errors.js'
import { isMetricName } from './exposition.js'
import type { Registry } from './registry.js'

/** Options of {@link collectDefaultMetrics}. Every default is in `defaultMetricsDefaults`. */
export interface DefaultMetricsOptions {
  /**
   * Prefix for every metric name, e.g. `microblog_`.
   * @default ''
   */
  prefix?: string
  /**
   * Sampling interval of the event-loop delay monitor, in ms (prom-client's `eventLoopMonitoringPrecision`).
   * @default 10
   */
  eventLoopResolutionMs?: number
  /**
   * Bucket upper bounds of `nodejs_gc_duration_seconds`, in seconds: finite, > 0, increasing.
   * @default [0.001, 0.01, 0.1, 1, 2, 5] (prom-client's)
   */
  gcDurationBuckets?: readonly number[]
}

/** The defaults of {@link DefaultMetricsOptions}. */
export const defaultMetricsDefaults = Object.freeze({
  prefix: '',
  eventLoopResolutionMs: 10,
  gcDurationBuckets: Object.freeze([0.001, 0.01, 0.1, 1, 2, 5]) as readonly number[],
})

/** What {@link collectDefaultMetrics} returns. */
export interface DefaultMetrics {
  /**
   * Stops the event-loop delay monitor, its probe and the GC observer; the metrics stay registered and keep
   * their last values. Idempotent.
   */
  stop(): void
}

/**
 * Registers the process metrics every Prometheus client for Node exports, under prom-client's names, so
 * its dashboards and alerts work unchanged: `process_cpu_{user,system}_seconds_total`,
 * `process_cpu_seconds_total`, `process_start_time_seconds`, `process_resident_memory_bytes`, and on Linux
 * `process_virtual_memory_bytes`, `process_heap_bytes`, `process_open_fds`, `process_max_fds`;
 * `nodejs_eventloop_lag_seconds` and `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`;
 * `nodejs_active_{handles,requests,resources}_total`; `nodejs_heap_size_{total,used}_bytes`,
 * `nodejs_external_memory_bytes`, `nodejs_heap_space_size_{total,used,available}_bytes{space}`;
 * `nodejs_version_info{version,major,minor,patch}`; and the histogram `nodejs_gc_duration_seconds{kind}`.
 * Gauges are read at scrape time; between scrapes the cost is the delay monitor's timer and one observer
 * callback per GC. All are registered or none (on `E_DUPLICATE_METRIC` nothing is left behind or started).
 *
 * @throws {MetricsError} `E_INVALID_OPTION` for a bad option; `E_DUPLICATE_METRIC` if a name is taken, as
 *   when called twice on one registry with the same prefix.
 * @example
 * const registry = new Registry()
 * const defaults = collectDefaultMetrics(registry, { prefix: 'microblog_' })
 * process.on('SIGTERM', () => defaults.stop())
 */
export function collectDefaultMetrics(
  registry: Registry,
  options: DefaultMetricsOptions = {},
): DefaultMetrics {
  const { prefix, eventLoopResolutionMs, gcDurationBuckets } = resolveDefaultMetricsOptions(options)
  const groups = [
    processMetrics(prefix),
    eventLoopMetrics(prefix, eventLoopResolutionMs),
    runtimeMetrics(prefix),
    gcMetrics(prefix, gcDurationBuckets),
  ]
  registry.addAll(groups.flatMap((group) => group.metrics))
  const stops = groups.flatMap((group) => (group.start === undefined ? [] : [group.start()]))
  let stopped = false
  return {
    stop: () => {
      if (stopped) return
      stopped = true
      for (const stop of stops) stop()
    },
  }
}

function resolveDefaultMetricsOptions(options: DefaultMetricsOptions): Required<DefaultMetricsOptions> {
  if (options === null || typeof options !== 'object') {
    throw new MetricsError('E_INVALID_OPTION', 'options must be an object', {
      option: 'options',
      value: options,
    })
  }
  const {
    prefix = defaultMetricsDefaults.prefix,
    eventLoopResolutionMs = defaultMetricsDefaults.eventLoopResolutionMs,
    gcDurationBuckets = defaultMetricsDefaults.gcDurationBuckets,
  } = options
  if (typeof prefix !== 'string' || (prefix !== '' && !isMetricName(prefix))) {
    throw new MetricsError(
      'E_INVALID_OPTION',
      "options.prefix must be '' or match [a-zA-Z_:][a-zA-Z0-9_:]*",
      { option: 'options.prefix', value: prefix },
    )
  }
  if (!Number.isInteger(eventLoopResolutionMs) || eventLoopResolutionMs < 1) {
    throw new MetricsError('E_INVALID_OPTION', 'options.eventLoopResolutionMs must be an integer ≥ 1', {
      option: 'options.eventLoopResolutionMs',
      value: eventLoopResolutionMs,
    })
  }
  return {
    prefix,
    eventLoopResolutionMs,
    gcDurationBuckets: resolveBuckets(gcDurationBuckets, 'options.gcDurationBuckets'),
  }
}

import { monitorEventLoopDelay } from 'node:perf_hooks'
import { MetricsError } from './errors.js'
import type { Registry } from './registry.js'

/** Options of {@link collectDefaultMetrics}. */
export interface DefaultMetricsOptions {
  /**
   * Prefix for every metric name, e.g. `microblog_`.
   * @default ''
   */
  prefix?: string
  /**
   * Sampling interval of the event-loop delay monitor, in ms.
   * @default 10
   */
  eventLoopResolutionMs?: number
}

/** What {@link collectDefaultMetrics} returns. */
export interface DefaultMetrics {
  /** Stops the event-loop delay monitor; the metrics stay registered and keep their last values. */
  stop(): void
}

/**
 * Registers process metrics with the names Prometheus clients use: CPU seconds, resident memory, V8 heap,
 * start time, and the event-loop delay (p50, p90, p99, max, mean over the last scrape interval, from
 * `perf_hooks.monitorEventLoopDelay`). Everything is read at scrape time; between scrapes the cost is the
 * delay monitor's timer.
 *
 * @throws {MetricsError} `E_DUPLICATE_METRIC` if called twice on one registry with the same prefix.
 * @example
 * const registry = new Registry()
 * const defaults = collectDefaultMetrics(registry, { prefix: 'microblog_' })
 * process.on('SIGTERM', () => defaults.stop())
 */
export function collectDefaultMetrics(
  registry: Registry,
  options: DefaultMetricsOptions = {},
): DefaultMetrics {
  const { prefix = '', eventLoopResolutionMs = 10 } = options
  if (typeof prefix !== 'string') {
    throw new MetricsError('E_INVALID_OPTION', 'options.prefix must be a string', {
      option: 'options.prefix',
      value: prefix,
    })
  }
  if (!Number.isInteger(eventLoopResolutionMs) || eventLoopResolutionMs < 1) {
    throw new MetricsError('E_INVALID_OPTION', 'options.eventLoopResolutionMs must be an integer ≥ 1', {
      option: 'options.eventLoopResolutionMs',
      value: eventLoopResolutionMs,
    })
  }

  // Counters follow process.cpuUsage() by adding what it grew by since the previous scrape.
  let cpu = { user: 0, system: 0 }
  const user = registry.counter({
    name: `${prefix}process_cpu_user_seconds_total`,
    help: 'User CPU time in seconds.',
  })
  const system = registry.counter({
    name: `${prefix}process_cpu_system_seconds_total`,
    help: 'System CPU time in seconds.',
  })
  registry.counter({
    name: `${prefix}process_cpu_seconds_total`,
    help: 'Total user and system CPU time in seconds.',
    collect: (total) => {
      const now = process.cpuUsage()
      const userDelta = Math.max(now.user - cpu.user, 0) / 1e6
      const systemDelta = Math.max(now.system - cpu.system, 0) / 1e6
      cpu = now
      user.inc(userDelta)
      system.inc(systemDelta)
      total.inc(userDelta + systemDelta)
    },
  })
  registry
    .gauge({
      name: `${prefix}process_start_time_seconds`,
      help: 'Start time of the process since the unix epoch in seconds.',
    })
    .set(Math.round(Date.now() / 1000 - process.uptime()))
  registry.gauge({
    name: `${prefix}process_resident_memory_bytes`,
    help: 'Resident memory size in bytes.',
    collect: (g) => g.set(process.memoryUsage.rss()),
  })

  const heapTotal = registry.gauge({
    name: `${prefix}nodejs_heap_size_total_bytes`,
    help: 'V8 heap size in bytes.',
  })
  const heapUsed = registry.gauge({
    name: `${prefix}nodejs_heap_size_used_bytes`,
    help: 'V8 heap used in bytes.',
  })
  registry.gauge({
    name: `${prefix}nodejs_external_memory_bytes`,
    help: 'Memory of C++ objects bound to JavaScript objects, in bytes.',
    collect: (external) => {
      const memory = process.memoryUsage()
      heapTotal.set(memory.heapTotal)
      heapUsed.set(memory.heapUsed)
      external.set(memory.external)
    },
  })

  const delay = monitorEventLoopDelay({ resolution: eventLoopResolutionMs })
  delay.enable()
  const lag = (name: string, help: string) =>
    registry.gauge({ name: `${prefix}nodejs_eventloop_lag_${name}_seconds`, help: `${help} in seconds.` })
  const p50 = lag('p50', 'The 50th percentile of the event-loop delay')
  const p90 = lag('p90', 'The 90th percentile of the event-loop delay')
  const p99 = lag('p99', 'The 99th percentile of the event-loop delay')
  const max = lag('max', 'The largest event-loop delay')
  registry.gauge({
    name: `${prefix}nodejs_eventloop_lag_mean_seconds`,
    help: 'The mean event-loop delay since the previous scrape in seconds.',
    collect: (mean) => {
      // Nothing sampled since the last scrape (scrapes closer than the resolution): keep the last values.
      if (delay.count === 0) return
      p50.set(delay.percentile(50) / 1e9)
      p90.set(delay.percentile(90) / 1e9)
      p99.set(delay.percentile(99) / 1e9)
      max.set(delay.max / 1e9)
      mean.set(delay.mean / 1e9)
      delay.reset()
    },
  })

  return { stop: () => delay.disable() }
}

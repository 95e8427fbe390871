import { constants, PerformanceObserver } from 'node:perf_hooks'
import { BucketHistogram } from '../bucket-histogram.js'
import type { MetricGroup } from './metric-group.js'

const KINDS = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
])

/**
 * `nodejs_gc_duration_seconds{kind}` under prom-client's name: a bucketed histogram of GC pauses, fed by a
 * `PerformanceObserver` on `gc` entries. Every kind's series exists from the start, so `rate()` sees the
 * first pause.
 */
export function gcMetrics(prefix: string, buckets: readonly number[]): MetricGroup {
  const duration = new BucketHistogram({
    name: `${prefix}nodejs_gc_duration_seconds`,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    buckets,
  })
  for (const kind of KINDS.values()) duration.labels({ kind })
  return {
    metrics: [duration],
    start: () => {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          // Node ≥ 16 puts the kind in `detail` (the top-level `kind` is deprecated, DEP0152).
          const { detail } = entry as { detail?: { kind?: number } | null }
          const kind = KINDS.get(detail?.kind ?? -1) ?? 'unknown'
          const seconds = entry.duration / 1000
          // observe() throws on a non-finite value, and a throw here would be an uncaught exception.
          if (Number.isFinite(seconds)) duration.labels({ kind }).observe(seconds)
        }
      })
      observer.observe({ entryTypes: ['gc'] })
      return () => observer.disconnect()
    },
  }
}

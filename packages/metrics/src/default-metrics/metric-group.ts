import { Counter } from '../counter.js'
import { Gauge, type GaugeOptions } from '../gauge.js'
import type { Metric } from '../registry.js'

/**
 * The default metrics of one source: its families, and what to start once all of them are registered
 * (returning how to stop it), so a failed registration starts nothing. @internal
 */
export interface MetricGroup {
  readonly metrics: readonly Metric[]
  readonly start?: () => () => void
}

/**
 * Counters and gauges named `<prefix><name>`, one line each: `gauge('process_max_fds', 'Maximum …')`.
 * `collect` runs at each scrape, as in the metric options. @internal
 */
export function prefixed(prefix: string) {
  return {
    counter: (name: string, help: string, collect?: (counter: Counter<never>) => void) =>
      new Counter<never>({ name: prefix + name, help, ...(collect === undefined ? {} : { collect }) }),
    gauge: <L extends string = never>(
      name: string,
      help: string,
      options: Omit<GaugeOptions<L>, 'name' | 'help'> = {},
    ) => new Gauge<L>({ name: prefix + name, help, ...options }),
  }
}

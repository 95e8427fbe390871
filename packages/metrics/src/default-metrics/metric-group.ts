import type { Metric } from '../registry.js'

/**
 * The default metrics of one source: its families, and what to start once all of them are registered
 * (returning how to stop it), so a failed registration starts nothing. @internal
 */
export interface MetricGroup {
  readonly metrics: readonly Metric[]
  readonly start?: () => () => void
}

import type { MetricValue, StepRecord } from '../../results.js'

/** What the write-path steps add to `bench/results/queue.json`. */
export interface WritePathOutcome {
  metrics: Record<string, MetricValue>
  steps: StepRecord[]
  notes: string[]
  extra: Record<string, unknown>
}

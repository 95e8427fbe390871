import type { LatencyHistogram, Registry } from '@hundredfold/metrics'
import { countRejection, histogramOn } from '../observe/index.js'
import { liveGauge } from './live-gauge.js'

/** What a bulkhead's gauges read at scrape time. @internal */
export interface BulkheadState {
  readonly inFlight: number
  readonly queued: number
  readonly maxQueued: number
}

/**
 * What a bulkhead (or worker pool) reports on a registry, labelled `policy` (its `name`):
 *
 * | metric | type | |
 * |---|---|---|
 * | `hundredfold_guard_bulkhead_in_flight` | gauge | calls holding a slot |
 * | `hundredfold_guard_bulkhead_queued` | gauge | calls waiting for one: the backlog |
 * | `hundredfold_guard_bulkhead_max_queued` | gauge | the queue's bound, to draw the backlog against |
 * | `hundredfold_guard_queue_wait_seconds` | summary (HDR) | how long admitted calls waited (0 if not at all) |
 * | `hundredfold_guard_pool_utilization` | gauge | worker pools: the pool's utilization as it reports it |
 * | `hundredfold_guard_rejections_total{reason}` | counter | `E_BULKHEAD_FULL`, `E_QUEUE_TIMEOUT` |
 *
 * The gauges are read at scrape time. @internal
 */
export class BulkheadMetrics {
  readonly #registry: Registry
  readonly #policy: string
  readonly wait: LatencyHistogram

  constructor(registry: Registry, policy: string, state: BulkheadState) {
    this.#registry = registry
    this.#policy = policy
    liveGauge(
      registry,
      'hundredfold_guard_bulkhead_in_flight',
      'Calls holding a bulkhead slot.',
      policy,
      () => state.inFlight,
    )
    liveGauge(
      registry,
      'hundredfold_guard_bulkhead_queued',
      'Calls waiting for a bulkhead slot.',
      policy,
      () => state.queued,
    )
    liveGauge(
      registry,
      'hundredfold_guard_bulkhead_max_queued',
      'The bound of the bulkhead queue.',
      policy,
      () => state.maxQueued,
    )
    this.wait = histogramOn(registry, {
      name: 'hundredfold_guard_queue_wait_seconds',
      help: 'How long calls admitted by a bulkhead waited for their slot.',
      labelNames: ['policy'],
    }).labels({ policy })
  }

  rejected(code: 'E_BULKHEAD_FULL' | 'E_QUEUE_TIMEOUT'): void {
    countRejection(this.#registry, this.#policy, code)
  }
}

/** Reports a worker pool's own utilization on `hundredfold_guard_pool_utilization`, read at scrape time. @internal */
export function reportPoolUtilization(
  registry: Registry,
  policy: string,
  read: () => number | undefined,
): void {
  liveGauge(
    registry,
    'hundredfold_guard_pool_utilization',
    'Utilization of a worker pool, as the pool reports it (0..1).',
    policy,
    () => read() ?? Number.NaN,
  )
}

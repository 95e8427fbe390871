import {
  type Counter,
  type CounterOptions,
  type Gauge,
  type GaugeOptions,
  Histogram,
  type HistogramOptions,
  type Registry,
} from '@hundredfold/metrics'

/**
 * The metrics every guard policy shares on one registry, created on first use. Several policies (and
 * several instances of one) write to the same families, told apart by the `policy` label (their `name`).
 *
 * - `hundredfold_guard_rejections_total{policy, reason}`: calls refused or failed by a policy, `reason`
 *   being the {@link GuardError} code (`E_RATE_LIMITED`, `E_CIRCUIT_OPEN`, `E_TIMEOUT`, …).
 * - `hundredfold_guard_breaker_state{policy}`: 0 closed, 1 half-open, 2 open, 3 isolated.
 * - `hundredfold_guard_timeout_seconds{policy}`: the current bound of an adaptive timeout.
 * - `hundredfold_guard_store_errors_total{policy, mode}`: limiter-store failures, by the failure mode that answered.
 */
export interface GuardMetrics {
  readonly rejections: Counter<'policy' | 'reason'>
  readonly breakerState: Gauge<'policy'>
  readonly timeoutSeconds: Gauge<'policy'>
  readonly storeErrors: Counter<'policy' | 'mode'>
}

const shared = new WeakMap<Registry, GuardMetrics>()

/**
 * The shared guard metrics on `registry`, or `undefined` without one (so callers write `metrics?.…`).
 *
 * @example
 * const metrics = guardMetrics(options.registry)
 * metrics?.rejections.labels({ policy: 'db', reason: 'E_BULKHEAD_FULL' }).inc()
 */
export function guardMetrics(registry: Registry | undefined): GuardMetrics | undefined {
  if (!registry) return undefined
  let metrics = shared.get(registry)
  if (!metrics) {
    metrics = Object.freeze({
      rejections: counterOn(registry, {
        name: 'hundredfold_guard_rejections_total',
        help: 'Calls refused or failed by a guard policy, by policy name and error code.',
        labelNames: ['policy', 'reason'],
      }),
      breakerState: gaugeOn(registry, {
        name: 'hundredfold_guard_breaker_state',
        help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 isolated.',
        labelNames: ['policy'],
      }),
      timeoutSeconds: gaugeOn(registry, {
        name: 'hundredfold_guard_timeout_seconds',
        help: 'The current bound of an adaptive timeout, in seconds.',
        labelNames: ['policy'],
      }),
      storeErrors: counterOn(registry, {
        name: 'hundredfold_guard_store_errors_total',
        help: 'Rate-limit store failures, by policy and the failure mode that answered.',
        labelNames: ['policy', 'mode'],
      }),
    })
    shared.set(registry, metrics)
  }
  return metrics
}

/**
 * Counts one refusal on `hundredfold_guard_rejections_total`; a no-op without a registry.
 *
 * @example
 * countRejection(options.registry, 'db-pool', 'E_QUEUE_TIMEOUT')
 */
export function countRejection(registry: Registry | undefined, policy: string, reason: string): void {
  guardMetrics(registry)?.rejections.labels({ policy, reason }).inc()
}

/**
 * The counter named `options.name` on `registry`: the one already registered (same type and labels), or a new
 * one. Lets several instances of a policy share a family instead of failing with `E_DUPLICATE_METRIC`.
 *
 * @throws {MetricsError} `E_DUPLICATE_METRIC` if the name is taken by another type or other labels.
 * @example
 * const shed = counterOn(registry, { name: 'hundredfold_guard_shed_total', help: 'Shed calls.', labelNames: ['policy'] })
 */
export function counterOn<L extends string = never>(
  registry: Registry,
  options: CounterOptions<L>,
): Counter<L> {
  const existing = registry.get(options.name)
  if (existing?.type === 'counter' && sameLabels(existing.labelNames, options.labelNames)) {
    return existing as unknown as Counter<L>
  }
  return registry.counter(options)
}

/**
 * The gauge named `options.name` on `registry`, reused or created as {@link counterOn} does.
 *
 * @example
 * const limit = gaugeOn(registry, { name: 'hundredfold_guard_concurrency_limit', help: 'Limit.', labelNames: ['policy'] })
 */
export function gaugeOn<L extends string = never>(registry: Registry, options: GaugeOptions<L>): Gauge<L> {
  const existing = registry.get(options.name)
  if (existing?.type === 'gauge' && sameLabels(existing.labelNames, options.labelNames)) {
    return existing as unknown as Gauge<L>
  }
  return registry.gauge(options)
}

/**
 * The HDR latency histogram named `options.name` on `registry`, reused or created as {@link counterOn} does.
 *
 * @example
 * const wait = histogramOn(registry, { name: 'hundredfold_guard_queue_wait_seconds', help: 'Wait.', labelNames: ['policy'] })
 */
export function histogramOn<L extends string = never>(
  registry: Registry,
  options: HistogramOptions<L>,
): Histogram<L> {
  const existing = registry.get(options.name)
  if (existing instanceof Histogram && sameLabels(existing.labelNames, options.labelNames)) {
    return existing as unknown as Histogram<L>
  }
  return registry.histogram(options)
}

function sameLabels(a: readonly string[], b: readonly string[] | undefined): boolean {
  const other = b ?? []
  return a.length === other.length && a.every((name, i) => name === other[i])
}

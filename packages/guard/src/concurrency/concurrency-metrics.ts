import type { CounterChild, Registry } from '@hundredfold/metrics'
import { liveGauge } from '../bulkhead/live-gauge.js'
import { counterOn, countRejection } from '../observe/index.js'

/** What a limiter's gauges read at scrape time. @internal */
export interface ConcurrencyState {
  readonly limit: number
  readonly inFlight: number
  readonly queued: number
}

/**
 * What a concurrency limiter reports on a registry, labelled `policy` (its `name`):
 *
 * | metric | type | |
 * |---|---|---|
 * | `hundredfold_guard_concurrency_limit` | gauge | the limit now |
 * | `hundredfold_guard_concurrency_in_flight` | gauge | calls holding a slot |
 * | `hundredfold_guard_concurrency_queued` | gauge | calls waiting for one (with `maxQueued`) |
 * | `hundredfold_guard_concurrency_calls_total{outcome}` | counter | finished calls: `success`, `dropped`, `ignored` |
 * | `hundredfold_guard_rejections_total{reason="E_CONCURRENCY_LIMITED"}` | counter | calls shed |
 *
 * The gauges are read at scrape time. @internal
 */
export class ConcurrencyMetrics {
  readonly #registry: Registry
  readonly #policy: string
  readonly #outcomes: Record<'success' | 'drop' | 'ignore', CounterChild>

  constructor(registry: Registry, policy: string, state: ConcurrencyState) {
    this.#registry = registry
    this.#policy = policy
    liveGauge(
      registry,
      'hundredfold_guard_concurrency_limit',
      'The concurrency limit now.',
      policy,
      () => state.limit,
    )
    liveGauge(
      registry,
      'hundredfold_guard_concurrency_in_flight',
      'Calls holding a concurrency slot.',
      policy,
      () => state.inFlight,
    )
    liveGauge(
      registry,
      'hundredfold_guard_concurrency_queued',
      'Calls waiting for a concurrency slot.',
      policy,
      () => state.queued,
    )
    const calls = counterOn(registry, {
      name: 'hundredfold_guard_concurrency_calls_total',
      help: 'Calls finished under a concurrency limit, by outcome (success, dropped, ignored).',
      labelNames: ['policy', 'outcome'],
    })
    this.#outcomes = {
      success: calls.labels({ policy, outcome: 'success' }),
      drop: calls.labels({ policy, outcome: 'dropped' }),
      ignore: calls.labels({ policy, outcome: 'ignored' }),
    }
  }

  finished(outcome: 'success' | 'drop' | 'ignore'): void {
    this.#outcomes[outcome].inc()
  }

  shed(): void {
    countRejection(this.#registry, this.#policy, 'E_CONCURRENCY_LIMITED')
  }
}

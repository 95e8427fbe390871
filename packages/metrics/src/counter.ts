import { MetricsError } from './errors.js'
import type { MetricOptions } from './metric-family.js'
import { ValueChild, ValueFamily } from './value-family.js'

/** Options of {@link Counter}: the common metric options. */
export interface CounterOptions<L extends string> extends MetricOptions<L, Counter<L>> {}

/**
 * One counter series: a value that only goes up (until the process restarts).
 *
 * @example
 * const ok = requests.labels({ route: '/posts', status: 200 })
 * ok.inc()
 */
export class CounterChild extends ValueChild {
  /**
   * Adds `amount`.
   *
   * @throws {MetricsError} `E_INVALID_VALUE` if `amount` is negative, NaN or infinite.
   * @example
   * bytesSent.inc(body.length)
   */
  inc(amount = 1): void {
    if (!(amount >= 0 && amount < Number.POSITIVE_INFINITY)) {
      throw new MetricsError(
        'E_INVALID_VALUE',
        `counter ${this.metric} can only increase by a finite amount ≥ 0`,
        {
          metric: this.metric,
          value: amount,
        },
      )
    }
    this.current += amount
  }
}

/**
 * A counter family: one {@link CounterChild} per label set, rendered as Prometheus `counter`.
 * Created by {@link Registry.counter}.
 *
 * @example
 * const errors = registry.counter({ name: 'app_errors_total', help: 'Unhandled errors.' })
 * errors.inc()
 */
export class Counter<L extends string = never> extends ValueFamily<L, CounterChild> {
  readonly type = 'counter'

  constructor(options: CounterOptions<L>) {
    super(options)
  }

  /**
   * Adds `amount` to a counter without labels.
   *
   * @throws {MetricsError} `E_INVALID_LABELS` if the counter has labels; `E_INVALID_VALUE` for a bad amount.
   * @example
   * errors.inc()
   */
  inc(amount = 1): void {
    this.root.inc(amount)
  }

  protected createChild(): CounterChild {
    return new CounterChild(this.name)
  }
}

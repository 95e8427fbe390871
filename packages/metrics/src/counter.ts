import { MetricsError } from './errors.js'
import { braces, formatValue } from './exposition.js'
import { MetricFamily, type MetricOptions } from './metric-family.js'

/** Options of {@link Counter}: the common metric options. */
export interface CounterOptions<L extends string> extends MetricOptions<L, Counter<L>> {}

/**
 * One counter series: a value that only goes up (until the process restarts).
 *
 * @example
 * const ok = requests.labels({ route: '/posts', status: 200 })
 * ok.inc()
 */
export class CounterChild {
  readonly #metric: string
  #value = 0

  /** @internal */
  constructor(metric: string) {
    this.#metric = metric
  }

  /** The current value. */
  get value(): number {
    return this.#value
  }

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
        `counter ${this.#metric} can only increase by a finite amount ≥ 0`,
        {
          metric: this.#metric,
          value: amount,
        },
      )
    }
    this.#value += amount
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
export class Counter<L extends string = never> extends MetricFamily<L, CounterChild> {
  readonly type = 'counter'

  constructor(options: CounterOptions<L>) {
    super(options)
  }

  /** The value of a counter without labels. */
  get value(): number {
    return this.root.value
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

  protected renderSeries(pairs: string, child: CounterChild, out: string[]): void {
    out.push(`${this.name}${braces(pairs)} ${formatValue(child.value)}`)
  }
}

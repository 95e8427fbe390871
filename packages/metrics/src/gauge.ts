import { MetricsError } from './errors.js'
import { braces, formatValue } from './exposition.js'
import { MetricFamily, type MetricOptions } from './metric-family.js'

/**
 * Options of {@link Gauge}: the common metric options. Its `collect` callback is the way to export a live
 * value (a queue length, a pool's idle count) read at scrape time rather than kept up to date.
 */
export interface GaugeOptions<L extends string> extends MetricOptions<L, Gauge<L>> {}

/**
 * One gauge series: a value that goes up and down.
 *
 * @example
 * const inFlight = gauge.labels({ route: '/posts' })
 * inFlight.inc()
 * try { await handle() } finally { inFlight.dec() }
 */
export class GaugeChild {
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
   * Sets the value.
   *
   * @throws {MetricsError} `E_INVALID_VALUE` if `value` is not a number.
   * @example
   * queueDepth.set(queue.length)
   */
  set(value: number): void {
    this.#value = this.#check(value)
  }

  /**
   * Adds `amount` (default 1).
   *
   * @example
   * connections.inc()
   */
  inc(amount = 1): void {
    this.#value += this.#check(amount)
  }

  /**
   * Subtracts `amount` (default 1).
   *
   * @example
   * connections.dec()
   */
  dec(amount = 1): void {
    this.#value -= this.#check(amount)
  }

  #check(value: number): number {
    if (typeof value !== 'number') {
      throw new MetricsError('E_INVALID_VALUE', `gauge ${this.#metric} takes numbers`, {
        metric: this.#metric,
        value,
      })
    }
    return value
  }
}

/**
 * A gauge family: one {@link GaugeChild} per label set, rendered as Prometheus `gauge`.
 * Created by {@link Registry.gauge}.
 *
 * @example
 * registry.gauge({
 *   name: 'pool_idle_connections',
 *   help: 'Idle connections per pool.',
 *   labelNames: ['pool'],
 *   collect: (g) => { for (const [name, pool] of pools) g.labels({ pool: name }).set(pool.idleCount) },
 * })
 */
export class Gauge<L extends string = never> extends MetricFamily<L, GaugeChild> {
  readonly type = 'gauge'

  constructor(options: GaugeOptions<L>) {
    super(options)
  }

  /** The value of a gauge without labels. */
  get value(): number {
    return this.root.value
  }

  /** Sets a gauge without labels. @example heapUsed.set(process.memoryUsage().heapUsed) */
  set(value: number): void {
    this.root.set(value)
  }

  /** Adds `amount` to a gauge without labels. @example inFlight.inc() */
  inc(amount = 1): void {
    this.root.inc(amount)
  }

  /** Subtracts `amount` from a gauge without labels. @example inFlight.dec() */
  dec(amount = 1): void {
    this.root.dec(amount)
  }

  protected createChild(): GaugeChild {
    return new GaugeChild(this.name)
  }

  protected renderSeries(pairs: string, child: GaugeChild, out: string[]): void {
    out.push(`${this.name}${braces(pairs)} ${formatValue(child.value)}`)
  }
}

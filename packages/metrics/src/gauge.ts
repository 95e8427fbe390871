import { MetricsError } from './errors.js'
import type { MetricOptions } from './metric-family.js'
import { ValueChild, ValueFamily } from './value-family.js'

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
export class GaugeChild extends ValueChild {
  /**
   * Sets the value.
   *
   * @throws {MetricsError} `E_INVALID_VALUE` if `value` is not a number.
   * @example
   * queueDepth.set(queue.length)
   */
  set(value: number): void {
    this.current = this.#check(value)
  }

  /**
   * Adds `amount` (default 1).
   *
   * @example
   * connections.inc()
   */
  inc(amount = 1): void {
    this.current += this.#check(amount)
  }

  /**
   * Subtracts `amount` (default 1).
   *
   * @example
   * connections.dec()
   */
  dec(amount = 1): void {
    this.current -= this.#check(amount)
  }

  #check(value: number): number {
    if (typeof value !== 'number') {
      throw new MetricsError('E_INVALID_VALUE', `gauge ${this.metric} takes numbers`, {
        metric: this.metric,
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
export class Gauge<L extends string = never> extends ValueFamily<L, GaugeChild> {
  readonly type = 'gauge'

  constructor(options: GaugeOptions<L>) {
    super(options)
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
}

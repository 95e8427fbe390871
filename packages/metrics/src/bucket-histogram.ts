import { BucketCounts, latencyBuckets, resolveBuckets } from './buckets.js'
import { MetricsError } from './errors.js'
import { braces, formatValue } from './exposition.js'
import { MetricFamily, type MetricOptions } from './metric-family.js'

/** Options of {@link BucketHistogram}: the common metric options plus the bucket bounds. */
export interface BucketHistogramOptions<L extends string> extends MetricOptions<L, BucketHistogram<L>> {
  /**
   * Upper bounds of the buckets, in the unit observed (seconds for latency): finite, > 0, increasing.
   * `+Inf` is always added. `linearBuckets` and `exponentialBuckets` make such lists.
   * @default latencyBuckets (0.0005 … 10)
   */
  buckets?: readonly number[]
}

/** The defaults of {@link BucketHistogramOptions}. */
export const bucketHistogramDefaults = Object.freeze({ buckets: latencyBuckets })

/**
 * One bucketed histogram series: how many observations fell at or below each bound, their sum and count.
 *
 * @example
 * const sizes = bodySize.labels({ route: '/posts' })
 * sizes.observe(body.length)
 */
export class BucketHistogramChild {
  readonly #metric: string
  readonly #counts: BucketCounts
  #sum = 0
  #count = 0

  /** @internal */
  constructor(metric: string, bounds: readonly number[]) {
    this.#metric = metric
    this.#counts = new BucketCounts(bounds)
  }

  /** How many values were observed. */
  get count(): number {
    return this.#count
  }

  /** The sum of observed values. */
  get sum(): number {
    return this.#sum
  }

  /**
   * Counts one value into the first bucket whose upper bound is ≥ it (`le` is inclusive).
   *
   * @throws {MetricsError} `E_INVALID_VALUE` if `value` is not a finite number.
   * @example
   * gcDuration.labels({ kind: 'minor' }).observe(0.0012)
   */
  observe(value: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new MetricsError('E_INVALID_VALUE', `histogram ${this.#metric} observes finite numbers`, {
        metric: this.#metric,
        value,
      })
    }
    this.#counts.observe(value)
    this.#sum += value
    this.#count++
  }

  /**
   * The cumulative count of every bucket, in the order of the family's `buckets`, then `+Inf` (= `count`):
   * what `_bucket` renders.
   *
   * @example
   * const [underHalfMs] = latency.cumulativeCounts()
   */
  cumulativeCounts(): number[] {
    return this.#counts.cumulative()
  }

  /** @internal */
  render(name: string, pairs: string, out: string[]): void {
    this.#counts.render(name, pairs, out)
    out.push(`${name}_sum${braces(pairs)} ${formatValue(this.#sum)}`)
    out.push(`${name}_count${braces(pairs)} ${this.#count}`)
  }
}

/**
 * A bucketed histogram family, rendered as a Prometheus `histogram`: cumulative `_bucket{le="…"}` counts up
 * to `+Inf`, `_sum` and `_count` per label set. Unlike quantiles, buckets of the same bounds add up across
 * processes, so `histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))` answers for a whole fleet,
 * within the bucket the percentile falls in. Created by {@link Registry.bucketHistogram}; for HDR quantiles
 * beside the buckets, use {@link Registry.histogram} with `buckets`.
 *
 * @example
 * const gc = registry.bucketHistogram({
 *   name: 'gc_pause_seconds',
 *   help: 'GC pauses.',
 *   labelNames: ['kind'],
 *   buckets: [0.001, 0.01, 0.1, 1],
 * })
 * gc.labels({ kind: 'major' }).observe(0.004)
 */
export class BucketHistogram<L extends string = never> extends MetricFamily<L, BucketHistogramChild> {
  readonly type = 'histogram'
  /** The bucket upper bounds, without `+Inf`. */
  readonly buckets: readonly number[]

  /** @throws {MetricsError} as {@link Registry.bucketHistogram}. */
  constructor(options: BucketHistogramOptions<L>) {
    super(options, ['le'])
    const { buckets = bucketHistogramDefaults.buckets } = options
    this.buckets = resolveBuckets(buckets, 'options.buckets', this.name)
  }

  /** @internal */
  override get sampleNames(): readonly string[] {
    return [this.name, `${this.name}_bucket`, `${this.name}_sum`, `${this.name}_count`]
  }

  /** The count of a histogram without labels. */
  get count(): number {
    return this.root.count
  }

  /** The sum of a histogram without labels. */
  get sum(): number {
    return this.root.sum
  }

  /** Observes a value into a histogram without labels. @example rpcSeconds.observe(0.012) */
  observe(value: number): void {
    this.root.observe(value)
  }

  /** The cumulative bucket counts of a histogram without labels, then `+Inf`. */
  cumulativeCounts(): number[] {
    return this.root.cumulativeCounts()
  }

  protected createChild(): BucketHistogramChild {
    return new BucketHistogramChild(this.name, this.buckets)
  }

  protected renderSeries(pairs: string, child: BucketHistogramChild, out: string[]): void {
    child.render(this.name, pairs, out)
  }
}

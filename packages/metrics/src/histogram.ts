import { BucketCounts, latencyBuckets, resolveBuckets } from './buckets.js'
import { MetricsError } from './errors.js'
import { braces, formatValue } from './exposition.js'
import {
  LatencyHistogram,
  type LatencyHistogramOptions,
  type LatencySnapshot,
  resolveLatencyOptions,
} from './latency-histogram.js'
import { MetricFamily, type MetricOptions } from './metric-family.js'

/**
 * Options of {@link Histogram}: the common metric options, the range and precision of every child
 * (`latencyHistogramDefaults`), and whether to render Prometheus buckets too.
 */
export interface HistogramOptions<L extends string>
  extends MetricOptions<L, Histogram<L>>,
    LatencyHistogramOptions {
  /**
   * Also count every value into these bucket upper bounds, in seconds (`true`: `latencyBuckets`), and render
   * them as a Prometheus `histogram`, which sums across processes. The histogram then takes `name`, and the
   * HDR quantiles move to the summary `<name>_summary`. Bounds must be finite, > 0 and increasing; `+Inf`
   * is always added.
   * @default false (the summary alone, under `name`)
   */
  buckets?: boolean | readonly number[]
}

const QUANTILES = ['0.5', '0.9', '0.99', '0.999'] as const
const QUANTILE_PERCENTILES = [50, 90, 99, 99.9] as const

/** A {@link LatencyHistogram} that also counts every value into Prometheus buckets. */
class BucketedLatencyHistogram extends LatencyHistogram {
  readonly buckets: BucketCounts
  readonly #highestUs: number

  constructor(options: Required<LatencyHistogramOptions>, bounds: readonly number[]) {
    super(options)
    this.buckets = new BucketCounts(bounds)
    this.#highestUs = options.highestUs
  }

  override record(valueUs: number): void {
    super.record(valueUs)
    // The value the HDR side counted and summed: negative and NaN as 0, +Inf as highestUs.
    const us = valueUs >= 0 ? (valueUs === Number.POSITIVE_INFINITY ? this.#highestUs : valueUs) : 0
    this.buckets.observe(us / 1e6)
  }

  override reset(): void {
    super.reset()
    this.buckets.reset()
  }
}

/**
 * A latency metric family: one {@link LatencyHistogram} per label set, recorded in microseconds and
 * rendered in seconds as a Prometheus `summary` (quantiles 0.5, 0.9, 0.99, 0.999, `_sum`, `_count`).
 * With `buckets`, each child also counts into fixed buckets, rendered as a `histogram` under `name`
 * (`_bucket{le}`, `_sum`, `_count`), and the summary is renamed `<name>_summary`: the buckets aggregate
 * across processes, the quantiles keep HDR precision per process. Created by {@link Registry.histogram}.
 *
 * @example
 * const duration = registry.histogram({
 *   name: 'http_request_duration_seconds',
 *   help: 'Latency.',
 *   labelNames: ['route'],
 *   buckets: true,
 * })
 * const start = process.hrtime.bigint()
 * await handle(req)
 * duration.labels({ route: '/posts/:id' }).recordSince(start)
 */
export class Histogram<L extends string = never> extends MetricFamily<L, LatencyHistogram> {
  /** `histogram` with buckets (the name it renders first), else `summary`. */
  readonly type: 'summary' | 'histogram'
  /** The bucket upper bounds in seconds, or `undefined` when rendered as a summary alone. */
  readonly buckets: readonly number[] | undefined
  /** The name of the summary: `name`, or `<name>_summary` beside buckets. */
  readonly summaryName: string
  readonly #options: Required<LatencyHistogramOptions>

  /** @throws {MetricsError} as {@link Registry.histogram}. */
  constructor(options: HistogramOptions<L>) {
    super(options, ['quantile', 'le'])
    this.#options = resolveLatencyOptions(options)
    this.buckets = resolveHistogramBuckets(options.buckets, this.name)
    this.type = this.buckets === undefined ? 'summary' : 'histogram'
    this.summaryName = this.buckets === undefined ? this.name : `${this.name}_summary`
  }

  /** @internal */
  override get sampleNames(): readonly string[] {
    const { name, summaryName } = this
    const summary = [summaryName, `${summaryName}_sum`, `${summaryName}_count`]
    if (this.buckets === undefined) return summary
    return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`, ...summary]
  }

  /** Records µs into a histogram without labels. @example duration.record(830) */
  record(valueUs: number): void {
    this.root.record(valueUs)
  }

  /** Records ms into a histogram without labels. @example duration.recordMs(0.83) */
  recordMs(valueMs: number): void {
    this.root.recordMs(valueMs)
  }

  /** Records the time since `startNs` into a histogram without labels. @example duration.recordSince(start) */
  recordSince(startNs: bigint): number {
    return this.root.recordSince(startNs)
  }

  /** The snapshot of a histogram without labels, in ms. @example duration.snapshot().p99 */
  snapshot(): LatencySnapshot {
    return this.root.snapshot()
  }

  /** Renders `name` (the histogram or the summary), then, beside buckets, the summary. @internal */
  override render(out: string[]): void {
    super.render(out)
    if (this.buckets === undefined) return
    this.renderFamily(out, this.summaryName, 'summary', (pairs, child) =>
      this.#renderSummary(pairs, child, out),
    )
  }

  protected createChild(): LatencyHistogram {
    return this.buckets === undefined
      ? new LatencyHistogram(this.#options)
      : new BucketedLatencyHistogram(this.#options, this.buckets)
  }

  protected renderSeries(pairs: string, child: LatencyHistogram, out: string[]): void {
    if (!(child instanceof BucketedLatencyHistogram)) {
      this.#renderSummary(pairs, child, out)
      return
    }
    child.buckets.render(this.name, pairs, out)
    out.push(`${this.name}_sum${braces(pairs)} ${formatValue(child.sumUs / 1e6)}`)
    out.push(`${this.name}_count${braces(pairs)} ${child.count}`)
  }

  #renderSummary(pairs: string, child: LatencyHistogram, out: string[]): void {
    const name = this.summaryName
    const values = child.percentilesUs(QUANTILE_PERCENTILES)
    const prefix = pairs === '' ? '' : `${pairs},`
    for (let i = 0; i < QUANTILES.length; i++) {
      out.push(`${name}{${prefix}quantile="${QUANTILES[i]}"} ${formatValue(values[i]! / 1e6)}`)
    }
    out.push(`${name}_sum${braces(pairs)} ${formatValue(child.sumUs / 1e6)}`)
    out.push(`${name}_count${braces(pairs)} ${child.count}`)
  }
}

function resolveHistogramBuckets(buckets: unknown, metric: string): readonly number[] | undefined {
  if (buckets === undefined || buckets === false) return undefined
  if (buckets === true) return latencyBuckets
  if (!Array.isArray(buckets)) {
    throw new MetricsError(
      'E_INVALID_OPTION',
      'options.buckets must be true, false or an array of bucket upper bounds',
      { metric, option: 'options.buckets', value: buckets },
    )
  }
  return resolveBuckets(buckets, 'options.buckets', metric)
}

import { Float64Histogram } from 'hdr-histogram-js'
import { MetricsError } from './errors.js'

/** Range and precision of a {@link LatencyHistogram}; all in microseconds. Defaults in `latencyHistogramDefaults`. */
export interface LatencyHistogramOptions {
  /**
   * The smallest value told apart from 0, in µs.
   * @default 1
   */
  lowestUs?: number
  /**
   * The largest value tracked, in µs; larger values are counted as this one (their sum and max stay exact).
   * @default 3_600_000_000 (1 hour)
   */
  highestUs?: number
  /**
   * Significant decimal digits kept, 1..5: 3 means every value is within 0.1%.
   * @default 3
   */
  significantDigits?: number
}

/** A summary of a {@link LatencyHistogram}, every time in milliseconds; NaN when nothing was recorded. */
export interface LatencySnapshot {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  mean: number
}

/** The defaults of {@link LatencyHistogramOptions}: 1 µs to 1 h within 0.1%. */
export const latencyHistogramDefaults = Object.freeze({
  lowestUs: 1,
  highestUs: 3_600_000_000,
  significantDigits: 3,
})

const SNAPSHOT_PERCENTILES = [50, 90, 99, 99.9] as const
const ulp = (x: number): number => 2 ** (Math.floor(Math.log2(x)) - 52)

/** Applies `latencyHistogramDefaults` and checks every option, naming the bad one. @internal */
export function resolveLatencyOptions(
  options: LatencyHistogramOptions = {},
): Required<LatencyHistogramOptions> {
  const { lowestUs = latencyHistogramDefaults.lowestUs, highestUs = latencyHistogramDefaults.highestUs } =
    options
  const { significantDigits = latencyHistogramDefaults.significantDigits } = options
  const invalid = (option: string, rule: string, value: unknown) =>
    new MetricsError('E_INVALID_OPTION', `options.${option} must be ${rule}`, {
      option: `options.${option}`,
      value,
    })
  if (!Number.isSafeInteger(lowestUs) || lowestUs < 1) throw invalid('lowestUs', 'an integer ≥ 1', lowestUs)
  if (!Number.isSafeInteger(highestUs) || highestUs < 2 * lowestUs) {
    throw invalid('highestUs', 'an integer ≥ 2 × options.lowestUs', highestUs)
  }
  if (!Number.isInteger(significantDigits) || significantDigits < 1 || significantDigits > 5) {
    throw invalid('significantDigits', 'an integer in 1..5', significantDigits)
  }
  return { lowestUs, highestUs, significantDigits }
}

/**
 * A latency histogram over HdrHistogram (the pure-JS `Float64Histogram`, so counts never wrap): records
 * microseconds, answers any percentile within the configured precision in constant memory
 * (~190 KB with the defaults), and keeps count, exact sum and exact max beside it.
 *
 * @example
 * const latency = new LatencyHistogram()
 * const start = process.hrtime.bigint()
 * await handle(req)
 * latency.recordSince(start)
 * latency.snapshot() // { count: 1, p50: 1.234, p90: 1.234, p99: 1.234, p999: 1.234, max: 1.234, mean: 1.234 }
 */
export class LatencyHistogram {
  readonly #hdr: Float64Histogram
  readonly #highestUs: number
  #count = 0
  #sumUs = 0
  #maxUs = 0

  /** @throws {MetricsError} `E_INVALID_OPTION` for an option out of range. */
  constructor(options?: LatencyHistogramOptions) {
    const { lowestUs, highestUs, significantDigits } = resolveLatencyOptions(options)
    this.#hdr = new Float64Histogram(lowestUs, highestUs, significantDigits)
    this.#highestUs = highestUs
  }

  /** How many values were recorded. */
  get count(): number {
    return this.#count
  }

  /** The exact sum of recorded values, in µs. */
  get sumUs(): number {
    return this.#sumUs
  }

  /** The exact mean, in µs; NaN when empty. */
  get meanUs(): number {
    return this.#count === 0 ? Number.NaN : this.#sumUs / this.#count
  }

  /** The exact largest value, in µs; NaN when empty. */
  get maxUs(): number {
    return this.#count === 0 ? Number.NaN : this.#maxUs
  }

  /**
   * Records one value in microseconds. Negative and NaN values (a stepped clock, a bug) count as 0;
   * values above `highestUs` count as `highestUs` in the percentiles. Never throws.
   *
   * @example
   * latency.record(1250) // 1.25 ms
   */
  record(valueUs: number): void {
    let value = valueUs
    if (!(value >= 0)) value = 0
    else if (value === Number.POSITIVE_INFINITY) value = this.#highestUs
    this.#count++
    this.#sumUs += value
    if (value > this.#maxUs) this.#maxUs = value
    const rounded = Math.round(value)
    this.#hdr.recordValue(Math.min(rounded, this.#highestUs))
  }

  /**
   * Records one value in milliseconds.
   *
   * @example
   * latency.recordMs(performance.now() - started)
   */
  recordMs(valueMs: number): void {
    this.record(valueMs * 1000)
  }

  /**
   * Records the time since `startNs`, a `process.hrtime.bigint()` reading, and returns it in µs.
   *
   * @example
   * const start = process.hrtime.bigint()
   * await query()
   * const tookUs = latency.recordSince(start)
   */
  recordSince(startNs: bigint): number {
    const us = Number(process.hrtime.bigint() - startNs) / 1000
    this.record(us)
    return us
  }

  /**
   * The value at `percentile` (0..100), in µs: the smallest recorded value that `percentile`% of values are
   * at or below, within the histogram's precision, and never above the exact max. NaN when empty.
   *
   * @example
   * latency.percentileUs(99.9)
   */
  percentileUs(percentile: number): number {
    return this.percentilesUs([percentile])[0]!
  }

  /**
   * Several percentiles (0..100) in one pass over the counts, in µs, in the order asked.
   *
   * @example
   * const [p50, p99] = latency.percentilesUs([50, 99])
   */
  percentilesUs(percentiles: readonly number[]): number[] {
    const results = new Array<number>(percentiles.length).fill(Number.NaN)
    if (this.#count === 0) return results
    const hdr = this.#hdr
    const total = hdr.totalCount
    const order = percentiles.map((_, i) => i).sort((a, b) => percentiles[a]! - percentiles[b]!)
    let index = 0
    let cumulative = 0
    for (const k of order) {
      const percentile = Math.min(Math.max(percentiles[k]!, 0), 100)
      // Same rounding as HdrHistogram's getValueAtPercentile: round the count up, minus one ulp of fp error.
      const exact = (percentile / 100) * total
      const target = Math.max(Math.ceil(exact - ulp(exact)), 1)
      while (cumulative < target && index < hdr.countsArrayLength) cumulative += hdr.getCountAtIndex(index++)
      const value = hdr.valueFromIndex(index - 1)
      const reported = percentile === 0 ? hdr.lowestEquivalentValue(value) : hdr.highestEquivalentValue(value)
      results[k] = Math.min(reported, this.#maxUs)
    }
    return results
  }

  /**
   * Count, p50, p90, p99, p99.9, max and mean, in milliseconds.
   *
   * @example
   * console.table(latency.snapshot())
   */
  snapshot(): LatencySnapshot {
    const [p50, p90, p99, p999] = this.percentilesUs(SNAPSHOT_PERCENTILES)
    return {
      count: this.#count,
      p50: p50! / 1000,
      p90: p90! / 1000,
      p99: p99! / 1000,
      p999: p999! / 1000,
      max: this.maxUs / 1000,
      mean: this.meanUs / 1000,
    }
  }

  /**
   * Forgets every recorded value.
   *
   * @example
   * latency.reset() // start of a new measurement window
   */
  reset(): void {
    this.#hdr.reset()
    this.#count = 0
    this.#sumUs = 0
    this.#maxUs = 0
  }
}

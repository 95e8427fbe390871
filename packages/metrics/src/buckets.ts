import { MetricsError } from './errors.js'
import { formatValue } from './exposition.js'

/**
 * The default upper bounds of a bucketed histogram, in seconds: 0.5 ms to 10 s, three per decade
 * (1, 2.5, 5). They start lower than prom-client's (5 ms) because our requests are sub-millisecond.
 *
 * @example
 * registry.bucketHistogram({ name: 'rpc_duration_seconds', help: 'RPC latency.', buckets: latencyBuckets })
 */
export const latencyBuckets: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
])

/**
 * `count` upper bounds `start`, `start + width`, … , rounded to 15 significant digits so `le` reads as written.
 *
 * @throws {MetricsError} `E_INVALID_OPTION` unless `start` and `width` are finite and > 0 and `count` is an
 *   integer ≥ 1.
 * @example
 * linearBuckets(0.1, 0.1, 5) // [0.1, 0.2, 0.3, 0.4, 0.5]
 */
export function linearBuckets(start: number, width: number, count: number): number[] {
  positive('start', start)
  positive('width', width)
  positiveCount(count)
  return Array.from({ length: count }, (_, i) => round(start + i * width))
}

/**
 * `count` upper bounds `start`, `start × factor`, `start × factor²`, … , rounded to 15 significant digits.
 *
 * @throws {MetricsError} `E_INVALID_OPTION` unless `start` is finite and > 0, `factor` is finite and > 1
 *   and `count` is an integer ≥ 1.
 * @example
 * exponentialBuckets(0.001, 2, 4) // [0.001, 0.002, 0.004, 0.008]
 */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  positive('start', start)
  if (!(Number.isFinite(factor) && factor > 1)) {
    throw new MetricsError('E_INVALID_OPTION', 'factor must be a finite number > 1', {
      option: 'factor',
      value: factor,
    })
  }
  positiveCount(count)
  return Array.from({ length: count }, (_, i) => round(start * factor ** i))
}

/**
 * Checks bucket upper bounds: a non-empty array of finite numbers > 0 in increasing order (`+Inf` is always
 * added, so it may not be given). Returns a frozen copy. @internal
 */
export function resolveBuckets(buckets: unknown, option: string, metric?: string): readonly number[] {
  const invalid = (message: string) =>
    new MetricsError('E_INVALID_OPTION', message, {
      ...(metric === undefined ? {} : { metric }),
      option,
      value: buckets,
    })
  if (!Array.isArray(buckets)) throw invalid(`${option} must be an array of bucket upper bounds`)
  if (buckets.length === 0) throw invalid(`${option} must hold at least one upper bound`)
  for (let i = 0; i < buckets.length; i++) {
    const bound: unknown = buckets[i]
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= 0) {
      throw invalid(`${option}[${i}] must be a finite number > 0 (+Inf is always added)`)
    }
    if (i > 0 && bound <= buckets[i - 1]) {
      throw invalid(
        `${option} must be in increasing order: ${option}[${i}] (${bound}) is not above ${option}[${i - 1}] (${buckets[i - 1]})`,
      )
    }
  }
  return Object.freeze([...(buckets as number[])])
}

/**
 * Observation counts per bucket (each bound, then `+Inf`), kept per bucket and made cumulative when read,
 * so an observation costs one binary search and one increment. @internal
 */
export class BucketCounts {
  readonly #bounds: readonly number[]
  // Float64, like the HDR counts: a count never wraps.
  readonly #counts: Float64Array
  // `le="…"` pre-rendered once per family, not per scrape.
  readonly #le: readonly string[]

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds
    this.#counts = new Float64Array(bounds.length + 1)
    this.#le = [...bounds.map((bound) => `le="${formatValue(bound)}"`), 'le="+Inf"']
  }

  /** Counts `value` in the first bucket whose bound is ≥ it (`+Inf` when above every bound). */
  observe(value: number): void {
    const bounds = this.#bounds
    let lo = 0
    let hi = bounds.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (bounds[mid]! < value) lo = mid + 1
      else hi = mid
    }
    this.#counts[lo]!++
  }

  /** Cumulative counts: one per bound, then `+Inf` (the total). */
  cumulative(): number[] {
    const out = new Array<number>(this.#counts.length)
    let running = 0
    for (let i = 0; i < this.#counts.length; i++) {
      running += this.#counts[i]!
      out[i] = running
    }
    return out
  }

  reset(): void {
    this.#counts.fill(0)
  }

  /** Appends the `<name>_bucket{…,le="…"}` lines; `pairs` is `a="x",b="y"` or `''`. */
  render(name: string, pairs: string, out: string[]): void {
    const prefix = pairs === '' ? '' : `${pairs},`
    let running = 0
    for (let i = 0; i < this.#counts.length; i++) {
      running += this.#counts[i]!
      out.push(`${name}_bucket{${prefix}${this.#le[i]}} ${running}`)
    }
  }
}

// 0.1 + 2 × 0.1 is 0.30000000000000004; 15 digits is what a double holds exactly.
const round = (value: number): number => Number(value.toPrecision(15))

function positive(option: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new MetricsError('E_INVALID_OPTION', `${option} must be a finite number > 0`, { option, value })
  }
}

function positiveCount(count: number): void {
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new MetricsError('E_INVALID_OPTION', 'count must be an integer ≥ 1', {
      option: 'count',
      value: count,
    })
  }
}

import {
  checkFraction,
  checkFunction,
  checkLimitBounds,
  checkNonNegative,
  checkPositive,
  checkPositiveInteger,
  invalid,
  withDefaults,
} from './check.js'
import type { LimitAlgorithm } from './limit-algorithm.js'

/** Options of {@link gradient2}. Every default is in `gradient2Defaults`. */
export interface Gradient2Options {
  /** The limit before the first sample. @default 20 */
  initialLimit?: number
  /** The floor: a trickle of calls keeps flowing, so the RTT estimate can recover. @default 4 */
  minLimit?: number
  /** The ceiling. @default 200 */
  maxLimit?: number
  /**
   * How far the limit may grow past what the RTT ratio allows, in calls: the headroom that lets the
   * limit probe upwards. A number, or a function of the current limit (e.g. `Math.sqrt`). @default 4
   */
  queueSize?: number | ((limit: number) => number)
  /** Weight of each new estimate in the limit (1: no smoothing). In (0, 1]. @default 0.2 */
  smoothing?: number
  /**
   * How much slower than the long-term RTT the short-term RTT may be before the limit falls: at 1.5,
   * latency may rise by half without any shedding. ≥ 1. @default 1.5
   */
  rttTolerance?: number
  /** Samples the long-term RTT averages over (an EWMA of that window; the first 10 are a plain mean). @default 600 */
  longWindow?: number
  /** Samples the short-term RTT averages over (1: the sample itself). @default 1 */
  shortWindow?: number
}

/** The defaults of {@link Gradient2Options}. */
export const gradient2Defaults = Object.freeze({
  initialLimit: 20,
  minLimit: 4,
  maxLimit: 200,
  queueSize: 4 as number | ((limit: number) => number),
  smoothing: 0.2,
  rttTolerance: 1.5,
  longWindow: 600,
  shortWindow: 1,
})

/**
 * The Gradient2 algorithm of Netflix concurrency-limits, for servers: it compares a long-term RTT
 * average (what the service does unloaded, give or take) with a short-term one (what it does now).
 * While the short one stays within `rttTolerance` of the long one, the target is the limit plus
 * `queueSize`; beyond, the limit scaled down by the ratio (to half at the least), plus `queueSize`. Each
 * sample moves the limit `smoothing` of the way to the target, within `[minLimit, maxLimit]`.
 *
 * Samples taken while fewer than half the limit were in flight leave the limit alone: the RTT of an
 * idle server says nothing about how much it can take. When the long-term average drifts far above the
 * short one (after an overload, say), it is pulled down by 5% per sample so the limit can climb again.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const limiter = concurrencyLimiter({ limit: gradient2({ minLimit: 8, maxLimit: 512 }) })
 */
export function gradient2(options: Gradient2Options = {}): LimitAlgorithm {
  const o = resolveGradient2Options(options)
  const long = new ExpAverage(o.longWindow)
  const short = new ExpAverage(o.shortWindow)
  let estimate = o.initialLimit

  return {
    name: 'gradient2',
    get limit() {
      return Math.floor(estimate)
    },
    onSample(rttMs, inFlight) {
      if (!(rttMs > 0)) return Math.floor(estimate)
      const queueSize = typeof o.queueSize === 'function' ? o.queueSize(estimate) : o.queueSize
      const shortRtt = short.add(rttMs)
      const longRtt = long.add(rttMs)
      // A long average twice the short one is a past overload (or a slow start) still in the average:
      // decay it faster than the window would, or the limit would stay pinned at its ceiling's gradient.
      if (longRtt / shortRtt > 2) long.scale(0.95)
      if (inFlight < estimate / 2) return Math.floor(estimate)

      const gradient = Math.max(0.5, Math.min(1, (o.rttTolerance * longRtt) / shortRtt))
      const target = estimate * gradient + queueSize
      const smoothed = estimate * (1 - o.smoothing) + target * o.smoothing
      estimate = Math.max(o.minLimit, Math.min(o.maxLimit, smoothed))
      return Math.floor(estimate)
    },
  }
}

function resolveGradient2Options(options: Gradient2Options): Required<Gradient2Options> {
  const o = withDefaults(gradient2Defaults, options)
  checkLimitBounds(o)
  checkPositiveInteger('options.longWindow', o.longWindow)
  checkPositiveInteger('options.shortWindow', o.shortWindow)
  if (typeof o.queueSize === 'function') checkFunction('options.queueSize', o.queueSize)
  else checkNonNegative('options.queueSize', o.queueSize)
  checkFraction('options.smoothing', o.smoothing)
  checkPositive('options.rttTolerance', o.rttTolerance)
  if (o.rttTolerance < 1) throw invalid('options.rttTolerance', 'must be ≥ 1', o.rttTolerance)
  return Object.freeze(o)
}

/** An exponential moving average over about `window` samples; a plain mean over the first few. @internal */
export class ExpAverage {
  readonly #factor: number
  readonly #warmup: number
  #count = 0
  #value = 0

  constructor(window: number, warmup = 10) {
    this.#factor = 2 / (window + 1)
    this.#warmup = Math.min(warmup, window)
  }

  get value(): number {
    return this.#value
  }

  add(sample: number): number {
    if (this.#count < this.#warmup) {
      this.#count++
      this.#value += (sample - this.#value) / this.#count
    } else {
      this.#value = this.#value * (1 - this.#factor) + sample * this.#factor
    }
    return this.#value
  }

  scale(factor: number): void {
    this.#value *= factor
  }
}

import { checkFraction, checkFunction, checkLimitBounds, checkPositive, withDefaults } from './check.js'
import type { LimitAlgorithm } from './limit-algorithm.js'

/** Options of {@link vegas}. Every default is in `vegasDefaults`. */
export interface VegasOptions {
  /** The limit before the first sample. @default 20 */
  initialLimit?: number
  /** The floor. @default 1 */
  minLimit?: number
  /** The ceiling. @default 1_000 */
  maxLimit?: number
  /** Weight of each new estimate in the limit (1: no smoothing). In (0, 1]. @default 1 */
  smoothing?: number
  /**
   * Every `probeMultiplier × limit` samples (jittered down by up to half), `rttNoLoad` is reset to the
   * current RTT, so a service that became slower for good is not shed for ever against an old minimum.
   * @default 30
   */
  probeMultiplier?: number
  /** Source of the probe jitter, in [0, 1). @default Math.random */
  random?: () => number
}

/** The defaults of {@link VegasOptions}. */
export const vegasDefaults = Object.freeze({
  initialLimit: 20,
  minLimit: 1,
  maxLimit: 1_000,
  smoothing: 1,
  probeMultiplier: 30,
  random: Math.random as () => number,
})

/** A {@link vegas} limit: also tells the RTT it takes for "no load". */
export interface VegasLimit extends LimitAlgorithm {
  /** The lowest RTT seen since the last probe, in ms (0 before the first sample). */
  readonly rttNoLoad: number
}

/**
 * The Vegas algorithm (TCP Vegas, as Netflix concurrency-limits applies it): `rttNoLoad` is the lowest RTT
 * seen, and `limit × (1 − rttNoLoad / rtt)` estimates how many calls are queued rather than served. With
 * `lg = log10(limit)` (at least 1, so small limits still move): a queue ≤ `lg` grows the limit by `6·lg`,
 * below `3·lg` by `lg`; above `6·lg` it shrinks by `lg`; in between it holds. A dropped call shrinks it
 * by `lg`, and samples taken with fewer than half the limit in flight leave it alone.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const limiter = concurrencyLimiter({ limit: vegas({ initialLimit: 10, maxLimit: 200 }) })
 */
export function vegas(options: VegasOptions = {}): VegasLimit {
  const o = resolveVegasOptions(options)
  let estimate = o.initialLimit
  let rttNoLoad = 0
  let untilProbe = nextProbe(o, estimate)

  const update = (rttMs: number, inFlight: number, dropped: boolean): number => {
    const lg = Math.max(1, Math.log10(estimate))
    let target: number
    if (dropped) {
      target = estimate - lg
    } else {
      if (inFlight * 2 < estimate) return estimate
      const queued = Math.ceil(estimate * (1 - rttNoLoad / rttMs))
      if (queued <= lg) target = estimate + 6 * lg
      else if (queued < 3 * lg) target = estimate + lg
      else if (queued > 6 * lg) target = estimate - lg
      else return estimate
    }
    target = Math.max(o.minLimit, Math.min(o.maxLimit, target))
    return estimate * (1 - o.smoothing) + target * o.smoothing
  }

  return {
    name: 'vegas',
    get limit() {
      return Math.floor(estimate)
    },
    get rttNoLoad() {
      return rttNoLoad
    },
    onSample(rttMs, inFlight, dropped) {
      if (!(rttMs > 0)) return Math.floor(estimate)
      if (--untilProbe <= 0) {
        untilProbe = nextProbe(o, estimate)
        rttNoLoad = rttMs
        return Math.floor(estimate)
      }
      if (rttNoLoad === 0 || rttMs < rttNoLoad) {
        rttNoLoad = rttMs
        return Math.floor(estimate)
      }
      estimate = update(rttMs, inFlight, dropped)
      return Math.floor(estimate)
    },
  }
}

function nextProbe(o: Required<VegasOptions>, limit: number): number {
  return Math.ceil(o.probeMultiplier * limit * (1 - o.random() / 2))
}

function resolveVegasOptions(options: VegasOptions): Required<VegasOptions> {
  const o = withDefaults(vegasDefaults, options)
  checkLimitBounds(o)
  checkFraction('options.smoothing', o.smoothing)
  checkPositive('options.probeMultiplier', o.probeMultiplier)
  checkFunction('options.random', o.random)
  return Object.freeze(o)
}

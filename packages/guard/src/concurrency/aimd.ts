import { checkLimitBounds, checkPositive, invalid, withDefaults } from './check.js'
import type { LimitAlgorithm } from './limit-algorithm.js'

/** Options of {@link aimd}. Every default is in `aimdDefaults`. */
export interface AimdOptions {
  /** The limit before the first sample. @default 20 */
  initialLimit?: number
  /** The floor. @default 1 */
  minLimit?: number
  /** The ceiling. @default 200 */
  maxLimit?: number
  /** What the limit is multiplied by on a drop, in (0, 1). @default 0.9 */
  backoffRatio?: number
  /** A call slower than this counts as a drop even if it succeeded, in ms. @default 5_000 */
  timeoutMs?: number
}

/** The defaults of {@link AimdOptions}. */
export const aimdDefaults = Object.freeze({
  initialLimit: 20,
  minLimit: 1,
  maxLimit: 200,
  backoffRatio: 0.9,
  timeoutMs: 5_000,
})

/**
 * Additive increase, multiplicative decrease, for clients of a dependency (TCP's congestion control):
 * every successful call taken with at least half the limit in flight raises the limit by 1; a dropped
 * call (timed out, refused, or slower than `timeoutMs`) multiplies it by `backoffRatio`. It reacts to
 * failure only, not to latency below `timeoutMs`: simple and hard to fool, where the dependency's own
 * refusals are the signal.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const toSearch = concurrencyLimiter({ name: 'search-client', limit: aimd({ timeoutMs: 500 }) })
 */
export function aimd(options: AimdOptions = {}): LimitAlgorithm {
  const o = resolveAimdOptions(options)
  let limit = o.initialLimit
  return {
    name: 'aimd',
    get limit() {
      return limit
    },
    onSample(rttMs, inFlight, dropped) {
      if (dropped || rttMs > o.timeoutMs) {
        limit = Math.max(o.minLimit, Math.floor(limit * o.backoffRatio))
      } else if (inFlight * 2 >= limit) {
        limit = Math.min(o.maxLimit, limit + 1)
      }
      return limit
    },
  }
}

function resolveAimdOptions(options: AimdOptions): Required<AimdOptions> {
  const o = withDefaults(aimdDefaults, options)
  checkLimitBounds(o)
  if (!(o.backoffRatio > 0 && o.backoffRatio < 1)) {
    throw invalid('options.backoffRatio', 'must be in (0, 1)', o.backoffRatio)
  }
  checkPositive('options.timeoutMs', o.timeoutMs)
  return Object.freeze(o)
}

import { checkPositiveInteger } from './check.js'
import type { LimitAlgorithm } from './limit-algorithm.js'

/**
 * A limit that never moves: a plain semaphore behind the same interface as the adaptive ones.
 *
 * @example
 * const limiter = concurrencyLimiter({ limit: fixed(64) })
 */
export function fixed(limit: number): LimitAlgorithm {
  checkPositiveInteger('fixed(limit)', limit)
  return Object.freeze({ name: 'fixed', limit, onSample: () => limit })
}

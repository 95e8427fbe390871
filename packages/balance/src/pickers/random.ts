import { invalidOption } from '../errors.js'
import { type Picker, weightedChoice } from './picker.js'

/** Options of {@link random}. */
export interface RandomOptions {
  /** Random numbers in [0, 1). @default Math.random */
  random?: () => number
}

/**
 * Uniform random choice (endpoints ramping up after (re)admission are drawn by their slow-start share).
 * Discovery weights are ignored; use `staticWeight()` for them.
 *
 * @example
 * const balancer = new Balancer({ endpoints, picker: random() })
 */
export function random(options: RandomOptions = {}): Picker {
  const rand = options.random ?? Math.random
  if (typeof rand !== 'function') throw invalidOption('options.random', 'must be a function', rand)
  return {
    name: 'random',
    pick(candidates, now) {
      return weightedChoice(
        candidates,
        candidates.map((e) => e.slowStartFactor(now)),
        rand,
      )
    },
    describe(endpoint, now) {
      return { weight: endpoint.slowStartFactor(now) }
    },
  }
}

import { invalidOption } from '../errors.js'
import { effectiveWeight, type Picker } from './picker.js'

/** Options of {@link leastOutstanding}. */
export interface LeastOutstandingOptions {
  /** Random numbers in [0, 1), to break ties. @default Math.random */
  random?: () => number
}

/**
 * Least outstanding: the endpoint with the fewest tries in flight per unit of weight (× slow-start share),
 * ties broken at random. Reacts to a slow endpoint only as its queue grows; no latency memory.
 *
 * @example
 * const balancer = new Balancer({ endpoints, picker: leastOutstanding() })
 */
export function leastOutstanding(options: LeastOutstandingOptions = {}): Picker {
  const random = options.random ?? Math.random
  if (typeof random !== 'function') throw invalidOption('options.random', 'must be a function', random)
  return {
    name: 'least-outstanding',
    pick(candidates, now) {
      let best: (typeof candidates)[number] | undefined
      let bestLoad = Number.POSITIVE_INFINITY
      let ties = 0
      for (const endpoint of candidates) {
        const load = (endpoint.outstanding + 1) / effectiveWeight(endpoint, now)
        if (load < bestLoad) {
          best = endpoint
          bestLoad = load
          ties = 1
        } else if (load === bestLoad && random() * ++ties < 1) {
          // Reservoir sampling: each of the tied endpoints is kept with probability 1/ties.
          best = endpoint
        }
      }
      return best
    },
    describe(endpoint, now) {
      return { weight: effectiveWeight(endpoint, now) / (endpoint.outstanding + 1) }
    },
  }
}

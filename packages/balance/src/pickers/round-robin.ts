import type { Picker, PickerEndpoint } from './picker.js'

/**
 * Round robin: each endpoint in turn. Endpoints ramping up after (re)admission get their slow-start share
 * of turns (smooth weighted round robin, nginx's, over the slow-start factor), so the rotation is exact
 * when none is ramping. Discovery weights are ignored; use `staticWeight()` for them.
 *
 * @example
 * const balancer = new Balancer({ endpoints, picker: roundRobin() })
 */
export function roundRobin(): Picker {
  return smoothWeighted('round-robin', (endpoint, now) => endpoint.slowStartFactor(now))
}

/** Smooth weighted round robin (nginx): deterministic, evenly interleaved proportions. @internal */
export function smoothWeighted(
  name: string,
  weightOf: (endpoint: PickerEndpoint, now: number) => number,
): Picker {
  const current = new WeakMap<PickerEndpoint, number>()
  return {
    name,
    pick(candidates, now) {
      let total = 0
      let best: (typeof candidates)[number] | undefined
      let bestValue = Number.NEGATIVE_INFINITY
      for (const endpoint of candidates) {
        const weight = weightOf(endpoint, now)
        const value = (current.get(endpoint) ?? 0) + weight
        current.set(endpoint, value)
        total += weight
        if (value > bestValue) {
          bestValue = value
          best = endpoint
        }
      }
      if (best !== undefined) current.set(best, bestValue - total)
      return best
    },
    remove(endpoint) {
      current.delete(endpoint)
    },
    describe(endpoint, now) {
      return { weight: weightOf(endpoint, now) }
    },
  }
}
